using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;

namespace ConsentHub.Data;

/// <summary>
/// Writes the entities a context tracks as added with PostgreSQL's binary COPY, a stream per table, instead of an
/// INSERT per row; for units of work that add thousands of rows at once. Columns, names and value conversions come
/// from the EF Core model, so a property added to an entity is copied without changes here.
/// </summary>
public static class CopyInsert
{
    /// <summary>
    /// Copies every added entity inside the context's current transaction, then stops tracking them, so that a
    /// following <c>SaveChanges</c> writes only what was modified. On SQLite it does nothing: <c>SaveChanges</c>
    /// inserts them as usual.
    /// </summary>
    public static async Task WriteAddedAsync(ConsentDb db, CancellationToken ct)
    {
        if (db.Provider != DatabaseProvider.Postgres) return;
        var added = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added)
            .GroupBy(e => e.Metadata).ToDictionary(g => g.Key, g => g.ToList());
        if (added.Count == 0) return;

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var type in PrincipalsFirst(added.Keys))
        {
            var entries = added[type];
            await CopyAsync(connection, type, entries, ct);
            foreach (var entry in entries) entry.State = EntityState.Detached;
        }
    }

    static async Task CopyAsync(NpgsqlConnection connection, IEntityType type, List<EntityEntry> entries, CancellationToken ct)
    {
        var table = StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
        // A key the database generates (identity) is left to it, as an INSERT leaves it: its value here is temporary.
        var columns = type.GetProperties()
            .Where(p => p.GetColumnName(table) is not null)
            .Where(p => !entries.Any(e => e.Property(p).IsTemporary))
            .Select(p => (Property: p, Column: p.GetColumnName(table)!, Mapping: p.GetRelationalTypeMapping()))
            .ToList();

        var target = Quote(table.Name) + " (" + string.Join(", ", columns.Select(c => Quote(c.Column))) + ")";
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {target} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var entry in entries)
        {
            await writer.StartRowAsync(ct);
            foreach (var (property, _, mapping) in columns)
            {
                var value = entry.Property(property).CurrentValue;
                var converter = mapping.Converter;
                if (value is not null && converter is not null) value = converter.ConvertToProvider(value);
                if (value is null) await writer.WriteNullAsync(ct);
                else await writer.WriteAsync(value, mapping.StoreTypeNameBase, ct);
            }
        }
        await writer.CompleteAsync(ct);
    }

    /// <summary>The types ordered so that a row's foreign keys point at rows already copied.</summary>
    static List<IEntityType> PrincipalsFirst(IEnumerable<IEntityType> types)
    {
        var pending = types.ToList();
        var ordered = new List<IEntityType>();
        while (pending.Count > 0)
        {
            var next = pending.FirstOrDefault(t => t.GetForeignKeys()
                .All(k => k.PrincipalEntityType == t || !pending.Contains(k.PrincipalEntityType))) ?? pending[0];
            ordered.Add(next);
            pending.Remove(next);
        }
        return ordered;
    }

    static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
