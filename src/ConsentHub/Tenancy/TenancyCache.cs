using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tenancy;

/// <summary>The settings of an organisation that every change is applied by.</summary>
public sealed record OrganisationSettings(bool BuiltInMatching, string MergePolicy);

/// <summary>
/// What every change reads of its organisation's set-up, kept in memory (<see cref="ChangeNotices"/>): the category
/// catalogue, the settings a change is applied by, and the source systems of each context. A save of any of those rows,
/// on any instance, drops what was kept of its table; on SQLite, or while the notices are not heard, every call reads
/// the database. Values handed out are never the kept ones when they could be changed (source systems are copies).
/// </summary>
public sealed class TenancyCache(ChangeNotices notices)
{
    readonly NoticedCache<string, CategoryCatalogue> catalogues = new(notices, [NoticeTopics.OrganisationCategories]);
    readonly NoticedCache<string, OrganisationSettings?> settings = new(notices, [NoticeTopics.Organisations]);
    readonly NoticedCache<(string Nmsc, string Context), IReadOnlyDictionary<string, SourceSystem>> systems =
        new(notices, [NoticeTopics.SourceSystems]);

    /// <summary>The organisation's category catalogue (the default one for an organisation without rows).</summary>
    public Task<CategoryCatalogue> CatalogueAsync(ConsentDb db, string nmsc, CancellationToken ct) =>
        catalogues.GetOrReadAsync(nmsc, c => CategoryCatalogue.ReadAsync(db, nmsc, c), ct);

    /// <summary>The organisation's settings; null for an organisation that does not exist.</summary>
    public Task<OrganisationSettings?> SettingsAsync(ConsentDb db, string nmsc, CancellationToken ct) =>
        settings.GetOrReadAsync(nmsc, c => db.Organisations.AsNoTracking().Where(o => o.Nmsc == nmsc)
            .Select(o => new OrganisationSettings(o.BuiltInMatching, o.MergePolicy)).SingleOrDefaultAsync(c), ct);

    /// <summary>
    /// The organisation's catalogue read again from the database, for a change the kept one refused: a category added a
    /// moment ago on another instance is not refused while its notice is on its way.
    /// </summary>
    public Task<CategoryCatalogue> FreshCatalogueAsync(ConsentDb db, string nmsc, CancellationToken ct) =>
        catalogues.ReadAsync(nmsc, c => CategoryCatalogue.ReadAsync(db, nmsc, c), ct);

    /// <summary>A copy of the registered source system (active or not) of that name in the organisation and context, or null.</summary>
    public async Task<SourceSystem?> SourceSystemAsync(ConsentDb db, string nmsc, string context, string name, CancellationToken ct) =>
        (await SourceSystemsAsync(db, nmsc, context, [name], ct)).TryGetValue(name, out var system) ? system.Copy() : null;

    /// <summary>The ids of the registered source systems (active or not) of the organisation and context among <paramref name="names"/>, by name.</summary>
    public async Task<Dictionary<string, long>> SourceSystemIdsAsync(
        ConsentDb db, string nmsc, string context, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var all = await SourceSystemsAsync(db, nmsc, context, names, ct);
        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (all.TryGetValue(name, out var system)) found[name] = system.Id;
        }
        return found;
    }

    /// <summary>
    /// The context's source systems by name. Kept ones are used only when they hold every name asked for: a system
    /// registered a moment ago on another instance is read, not missed while its notice is on its way.
    /// </summary>
    async Task<IReadOnlyDictionary<string, SourceSystem>> SourceSystemsAsync(
        ConsentDb db, string nmsc, string context, IReadOnlyCollection<string> needed, CancellationToken ct)
    {
        if (systems.TryGet((nmsc, context), out var kept) && needed.All(kept.ContainsKey)) return kept;
        return await systems.ReadAsync((nmsc, context), async c => (IReadOnlyDictionary<string, SourceSystem>)
            await db.SourceSystems.AsNoTracking().Where(s => s.Nmsc == nmsc && s.Context == context)
                .ToDictionaryAsync(s => s.Name, StringComparer.Ordinal, c), ct);
    }
}
