using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace ConsentHub.Data;

/// <summary>
/// Saves the rows a context tracks as added or modified with one Npgsql batch, on PostgreSQL, for the units of work
/// that write a change's rows. EF Core's <c>SaveChanges</c> builds, sorts and renders a command for every row of every
/// save; in a group of changes (<c>Consents/GroupCommit</c>) that was a fifth of the hub's CPU per change. Here each
/// table's INSERT and UPDATE statements are rendered once per column set and kept, and a save only binds values. Tables,
/// columns and value conversions come from the EF Core model, as in <see cref="CopyInsert"/>.
/// </summary>
/// <remarks>
/// What this does not cover goes to <c>SaveChanges</c> whole: SQLite; a unit of work with an open insert buffer or with
/// deleted rows (whose order against inserts EF Core works out); rows of the tables whose writes send change notices
/// (<see cref="ChangeNoticeInterceptor"/>); entity types with concurrency tokens, inheritance or owned types. As with
/// <c>SaveChanges</c>, a failed statement fails the batch with a <see cref="DbUpdateException"/> around PostgreSQL's
/// error, an UPDATE that finds no row fails it with a <see cref="DbUpdateConcurrencyException"/>, and values the database
/// generates (identity keys) are read back into the entities, which are then tracked as unchanged.
/// </remarks>
public static class TrackedWrites
{
    public static async Task SaveAsync(ConsentDb db, CancellationToken ct)
    {
        if (db.Provider != DatabaseProvider.Postgres || db.OpenInsertBuffer is not null)
        {
            await db.SaveChangesAsync(ct);
            return;
        }
        var tracker = db.ChangeTracker;
        tracker.DetectChanges();
        var detect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            var written = Written(tracker);
            if (written is null) await db.SaveChangesAsync(ct);
            else if (written.Count > 0) await WriteAsync(db, written, ct);
        }
        finally
        {
            tracker.AutoDetectChangesEnabled = detect;
        }
    }

    /// <summary>The added and modified entries, modified first and added rows with their principals first; null if any is not covered.</summary>
    static List<EntityEntry>? Written(ChangeTracker tracker)
    {
        var modified = new List<EntityEntry>();
        var added = new Dictionary<IEntityType, List<EntityEntry>>();
        foreach (var entry in tracker.Entries())
        {
            if (entry.State is EntityState.Unchanged or EntityState.Detached) continue;
            if (entry.State == EntityState.Deleted || !Covered(entry.Metadata)) return null;
            if (entry.State == EntityState.Modified) modified.Add(entry);
            else if (added.TryGetValue(entry.Metadata, out var rows)) rows.Add(entry);
            else added[entry.Metadata] = [entry];
        }
        foreach (var type in CopyInsert.PrincipalsFirst(added.Keys)) modified.AddRange(added[type]);
        return modified;
    }

    static readonly ConcurrentDictionary<IEntityType, bool> covered = new();

    static bool Covered(IEntityType type) => covered.GetOrAdd(type, t =>
        t.GetTableName() is not null && t.GetViewName() is null && t.BaseType is null && !t.GetDirectlyDerivedTypes().Any()
        && !t.IsOwned() && !t.GetNavigations().Any() && !t.GetProperties().Any(p => p.IsConcurrencyToken)
        && !ChangeNoticeInterceptor.Notices(t.ClrType));

    static async Task WriteAsync(ConsentDb db, List<EntityEntry> entries, CancellationToken ct)
    {
        await ContextConnection.RunAsync(db, async (connection, transaction) =>
        {
            // Parameters are made by the model's type mappings (converters, store types), as EF Core makes its own.
            await using var factory = connection.CreateCommand();
            await using var batch = new NpgsqlBatch(connection, transaction);
            var statements = new List<Statement>(entries.Count);
            foreach (var entry in entries)
            {
                var statement = entry.State == EntityState.Added ? Insert(entry) : Update(entry);
                var command = new NpgsqlBatchCommand(statement.Sql);
                foreach (var (property, original) in statement.Values)
                {
                    var value = original ? entry.Property(property).OriginalValue : entry.Property(property).CurrentValue;
                    command.Parameters.Add(property.GetRelationalTypeMapping().CreateParameter(factory, "", value, property.IsNullable));
                }
                batch.BatchCommands.Add(command);
                statements.Add(statement);
            }
            try
            {
                await using (var reader = await batch.ExecuteReaderAsync(ct))
                {
                    // The reader's result sets are those of the statements that return rows (Npgsql passes over the rest).
                    var first = true;
                    for (var i = 0; i < statements.Count; i++)
                    {
                        if (statements[i].Returned.Count == 0) continue;
                        if (!first && !await reader.NextResultAsync(ct) || !await reader.ReadAsync(ct))
                            throw new InvalidOperationException($"{statements[i].Sql} returned no row.");
                        first = false;
                        for (var c = 0; c < statements[i].Returned.Count; c++)
                        {
                            var property = statements[i].Returned[c];
                            var value = reader.GetValue(c);
                            var converter = property.GetRelationalTypeMapping().Converter;
                            var entryProperty = entries[i].Property(property);
                            entryProperty.CurrentValue = converter is null ? value : converter.ConvertFromProvider(value);
                            entryProperty.IsTemporary = false;
                        }
                    }
                }
            }
            catch (PostgresException error)
            {
                throw new DbUpdateException("An error occurred while saving the entity changes. See the inner exception for details.", error);
            }
            for (var i = 0; i < statements.Count; i++)
            {
                if (statements[i].IsUpdate && batch.BatchCommands[i].RecordsAffected != 1)
                    throw new DbUpdateConcurrencyException(
                        $"An update of {entries[i].Metadata.GetTableName()} affected {batch.BatchCommands[i].RecordsAffected} rows, not 1.");
            }
            return true;
        }, ct);
        foreach (var entry in entries) entry.State = EntityState.Unchanged;
    }

    /// <summary>A statement rendered for one table and column set, the values it binds in order, and the columns it returns.</summary>
    sealed record Statement(string Sql, IReadOnlyList<(IProperty Property, bool Original)> Values, IReadOnlyList<IProperty> Returned, bool IsUpdate);

    static readonly ConcurrentDictionary<(IEntityType, string), Statement> rendered = new();

    /// <summary>An INSERT of every column, but for a value the database generates, which is left to it and returned.</summary>
    static Statement Insert(EntityEntry entry)
    {
        var type = entry.Metadata;
        var table = Mapped(type);
        // Only a value the database may generate can be temporary: the common row (no identity) looks at nothing more.
        var generated = table.Generated.Where(p => entry.Property(p).IsTemporary).ToList();
        return rendered.GetOrAdd((type, generated.Count == 0 ? "insert" : "insert:" + string.Join(',', generated.Select(p => p.Name))), _ =>
        {
            var columns = table.Columns.Where(c => !generated.Contains(c.Property)).ToList();
            var sql = $"INSERT INTO {table.Name} ({string.Join(", ", columns.Select(c => c.Quoted))}) "
                + $"VALUES ({string.Join(", ", columns.Select((_, i) => "$" + (i + 1)))})"
                + (generated.Count > 0 ? " RETURNING " + string.Join(", ", generated.Select(table.Quoted)) : "");
            return new Statement(sql, [.. columns.Select(c => (c.Property, false))], generated, IsUpdate: false);
        });
    }

    /// <summary>An UPDATE of the modified columns of the row its original key names.</summary>
    static Statement Update(EntityEntry entry)
    {
        var type = entry.Metadata;
        var table = Mapped(type);
        var key = type.FindPrimaryKey()!.Properties;
        var changed = table.Columns.Select(c => c.Property).Where(p => entry.Property(p).IsModified).ToList();
        if (changed.Count == 0) changed = [key[0]];
        return rendered.GetOrAdd((type, "update:" + string.Join(',', changed.Select(p => p.Name))), _ =>
        {
            var set = string.Join(", ", changed.Select((p, i) => $"{table.Quoted(p)} = ${i + 1}"));
            var where = string.Join(" AND ", key.Select((p, i) => $"{table.Quoted(p)} = ${changed.Count + i + 1}"));
            return new Statement($"UPDATE {table.Name} SET {set} WHERE {where}",
                [.. changed.Select(p => (p, false)), .. key.Select(p => (p, true))], [], IsUpdate: true);
        });
    }

    /// <summary>A type's table as the statements name it: its quoted name, its mapped properties with their quoted columns, and those the database may generate.</summary>
    sealed record MappedTable(string Name, IReadOnlyList<(IProperty Property, string Quoted)> Columns, IReadOnlyList<IProperty> Generated)
    {
        public string Quoted(IProperty property) => Columns.First(c => c.Property == property).Quoted;
    }

    static readonly ConcurrentDictionary<IEntityType, MappedTable> mapped = new();

    /// <summary>Read from the model once per type, not for every row of every save.</summary>
    static MappedTable Mapped(IEntityType type) => mapped.GetOrAdd(type, t =>
    {
        var store = StoreObjectIdentifier.Table(t.GetTableName()!, t.GetSchema());
        var columns = t.GetProperties().Select(p => (Property: p, Column: p.GetColumnName(store))).Where(c => c.Column is not null)
            .Select(c => (c.Property, CopyInsert.Quote(c.Column!))).ToList();
        return new MappedTable((t.GetSchema() is { } schema ? CopyInsert.Quote(schema) + "." : "") + CopyInsert.Quote(t.GetTableName()!),
            columns, [.. columns.Select(c => c.Property).Where(p => p.ValueGenerated.HasFlag(ValueGenerated.OnAdd))]);
    });
}
