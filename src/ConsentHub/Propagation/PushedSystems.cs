using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Propagation;

/// <summary>
/// Which source systems of a context have a destination, so are pushed their messages (the others find them in their
/// pull feed): read by every change that propagates, kept in memory like the organisations' set-up
/// (<see cref="ChangeNotices"/>). A destination registered, changed or removed on any instance drops what was kept; on
/// SQLite, or while the notices are not heard, every call reads the database.
/// </summary>
public sealed class PushedSystems(ChangeNotices notices)
{
    readonly NoticedCache<(string Nmsc, string Context), IReadOnlySet<long>> kept =
        new(notices, [NoticeTopics.Destinations, NoticeTopics.SourceSystems]);

    /// <summary>The ids of the context's source systems that have a destination.</summary>
    public Task<IReadOnlySet<long>> OfContextAsync(ConsentDb db, string nmsc, string context, CancellationToken ct) =>
        kept.GetOrReadAsync((nmsc, context), c => ReadAsync(db, nmsc, context, c), ct);

    /// <summary>As <see cref="OfContextAsync"/>, read from the database whatever is kept (and kept afterwards).</summary>
    public Task<IReadOnlySet<long>> FreshOfContextAsync(ConsentDb db, string nmsc, string context, CancellationToken ct) =>
        kept.ReadAsync((nmsc, context), c => ReadAsync(db, nmsc, context, c), ct);

    static async Task<IReadOnlySet<long>> ReadAsync(ConsentDb db, string nmsc, string context, CancellationToken ct) =>
        (await (
                from s in db.SourceSystems.AsNoTracking()
                where s.Nmsc == nmsc && s.Context == context
                join d in db.Destinations.AsNoTracking() on s.Id equals d.SourceSystemId
                select s.Id)
            .ToListAsync(ct)).ToHashSet();
}
