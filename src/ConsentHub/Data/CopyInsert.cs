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
    /// Copies every added entity, and every row of the context's open <see cref="InsertBuffer"/>, inside the context's
    /// current transaction, then stops tracking the added entities, so that a following <c>SaveChanges</c> writes only
    /// what was modified. On SQLite nothing is copied: the buffered rows are handed to the context, and
    /// <c>SaveChanges</c> inserts them with the added entities as usual.
    /// </summary>
    public static async Task WriteAddedAsync(ConsentDb db, CancellationToken ct)
    {
        var buffered = db.OpenInsertBuffer?.Take() ?? [];
        if (db.Provider != DatabaseProvider.Postgres)
        {
            foreach (var rows in buffered.Values) db.AddRange(rows);
            return;
        }
        var added = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added)
            .GroupBy(e => e.Metadata).ToDictionary(g => g.Key, g => g.ToList());
        var plain = buffered.ToDictionary(
            b => db.Model.FindEntityType(b.Key) ?? throw new InvalidOperationException($"{b.Key.Name} is not an entity of the model."), b => b.Value);
        if (added.Count == 0 && plain.Count == 0) return;

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var type in PrincipalsFirst(added.Keys.Union(plain.Keys)))
        {
            if (added.TryGetValue(type, out var entries))
            {
                // A key the database generates (identity) is left to it, as an INSERT leaves it: its value here is temporary.
                await CopyAsync(connection, type, entries, p => entries.Any(e => e.Property(p).IsTemporary), p => e => e.Property(p).CurrentValue, ct);
                foreach (var entry in entries) entry.State = EntityState.Detached;
            }
            if (plain.TryGetValue(type, out var rows)) await CopyAsync(connection, type, rows, p => Generated(p, rows), Reader, ct);
        }
    }

    /// <summary>Reads a property of a buffered row through the model's getter, resolved once per column.</summary>
    static Func<object, object?> Reader(IProperty property)
    {
        if (property.IsShadowProperty())
            throw new InvalidOperationException($"{property.DeclaringType.DisplayName()}.{property.Name} is a shadow property: stage such rows with Add, not Insert.");
        var getter = property.GetGetter();
        return row => getter.GetClrValueUsingContainingEntity(row);
    }

    /// <summary>
    /// A property the database generates on insert (identity) is left to it when no buffered row set it, as with an
    /// added entity whose value is temporary; rows that set it for some and not others cannot share one COPY.
    /// </summary>
    static bool Generated(IProperty property, List<object> rows)
    {
        if (property.ValueGenerated != ValueGenerated.OnAdd) return false;
        var unset = rows.Count(r => property.GetGetter().HasSentinelValueUsingContainingEntity(r));
        if (unset != 0 && unset != rows.Count)
            throw new InvalidOperationException($"{property.DeclaringType.DisplayName()}.{property.Name} is set on some buffered rows and not on others.");
        return unset == rows.Count;
    }

    static async Task CopyAsync<TRow>(
        NpgsqlConnection connection, IEntityType type, List<TRow> rows, Func<IProperty, bool> leftToDatabase, Func<IProperty, Func<TRow, object?>> reader,
        CancellationToken ct)
    {
        var table = StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
        var columns = type.GetProperties()
            .Where(p => p.GetColumnName(table) is not null)
            .Where(p => !leftToDatabase(p))
            .Select(p => (Read: reader(p), Column: p.GetColumnName(table)!, Mapping: p.GetRelationalTypeMapping()))
            .ToList();

        var target = Quote(table.Name) + " (" + string.Join(", ", columns.Select(c => Quote(c.Column))) + ")";
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {target} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await writer.StartRowAsync(ct);
            foreach (var (read, _, mapping) in columns)
            {
                var value = read(row);
                var converter = mapping.Converter;
                if (value is not null && converter is not null) value = converter.ConvertToProvider(value);
                if (value is null) await writer.WriteNullAsync(ct);
                else await writer.WriteAsync(value, mapping.StoreTypeNameBase, ct);
            }
        }
        await writer.CompleteAsync(ct);
    }

    /// <summary>The types ordered so that a row's foreign keys point at rows already copied.</summary>
    internal static List<IEntityType> PrincipalsFirst(IEnumerable<IEntityType> types)
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

    /// <summary>A PostgreSQL identifier, double-quoted (<see cref="TrackedWrites"/> names its tables and columns so too).</summary>
    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
