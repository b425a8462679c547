using System.Data.Common;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace ConsentHub.OptOut;

/// <summary>A line of a provider's list that was not imported: its number (from 1, the header counts) and the rule it broke.</summary>
public sealed record ImportError(long Line, string Rule, string Message);

public sealed record ImportCounts(long Read, long Added, long Duplicates, long Rejected, IReadOnlyList<ImportError> Errors, long Bytes, string Sha256);

/// <summary>
/// Imports an external provider's list of <c>kind,sha256</c> lines into the industry pool, streamed: the body is read
/// line by line and inserted in batches, each line only if the provider does not list it already (the unique index
/// decides), so the same list imported again adds nothing. Runs inside the caller's transaction.
/// </summary>
public static class IndustryImport
{
    public const int MaxListedErrors = 100;
    const int MaxLineLength = 1024;

    /// <summary>
    /// Serialises the writers of one provider's list (imports and withdrawals) for the rest of the caller's transaction.
    /// Two imports of the same list inserting the same rows in different orders would otherwise deadlock on the unique
    /// index on PostgreSQL; SQLite has one writer at a time anyway.
    /// </summary>
    public static async Task LockProviderAsync(ConsentDb db, string provider, CancellationToken ct)
    {
        if (db.Provider != DatabaseProvider.Postgres) return;
        var name = "industry-list:" + provider;
        await db.Database.ExecuteSqlInterpolatedAsync($"SELECT pg_advisory_xact_lock(hashtext({name}))", ct);
    }

    public static async Task<ImportCounts> RunAsync(ConsentDb db, string provider, Stream body, DateTime now, IndustryOptions options, CancellationToken ct)
    {
        await LockProviderAsync(db, provider, ct);
        using var lines = new ListLines(body, options.MaxImportBytes, MaxLineLength);
        await using var inserts = Inserts.For(db, provider, now);
        var batch = new List<(string Kind, string Sha256)>(options.ImportBatchSize);
        var errors = new List<ImportError>();
        long read = 0, added = 0, rejected = 0;
        var first = true;

        while (await lines.NextAsync(ct) is { } line)
        {
            if (line.TooLong)
            {
                read++;
                rejected++;
                Report(errors, new(line.Number, "line-length", $"The line is longer than {MaxLineLength} characters."));
                continue;
            }
            var text = line.Text.Trim();
            // Blank lines carry nothing; the header is optional and allowed on the first line only.
            if (text.Length == 0) continue;
            var header = first && text.Equals("kind,sha256", StringComparison.OrdinalIgnoreCase);
            first = false;
            if (header) continue;

            read++;
            if (Parse(text, line.Number) is { } error)
            {
                rejected++;
                Report(errors, error);
                continue;
            }
            var comma = text.IndexOf(',');
            batch.Add((Field(text[..comma]).ToLowerInvariant(), Field(text[(comma + 1)..]).ToLowerInvariant()));
            if (batch.Count == options.ImportBatchSize)
            {
                added += await inserts.AddAsync(batch, ct);
                batch.Clear();
            }
        }
        if (batch.Count > 0) added += await inserts.AddAsync(batch, ct);
        return new ImportCounts(read, added, read - rejected - added, rejected, errors, lines.Bytes, lines.Sha256);
    }

    /// <summary>The rule a line breaks, or null when it is a kind and a SHA-256 (in either case).</summary>
    static ImportError? Parse(string text, long number)
    {
        var fields = text.Split(',');
        if (fields.Length != 2)
            return new(number, "columns", fields.Length < 2
                ? "A line is a kind and a SHA-256 separated by a comma; the comma is missing."
                : $"A line has two fields (kind,sha256); this one has {fields.Length}.");
        var kind = Field(fields[0]).ToLowerInvariant();
        if (!SuppressionKinds.IsKnown(kind))
            return new(number, "kind", $"The kind is {SuppressionKinds.Email}, {SuppressionKinds.Phone} or {SuppressionKinds.Postal}.");
        if (!SuppressionIdentifiers.IsSha256(Field(fields[1]).ToLowerInvariant()))
            return new(number, "sha256", "The sha256 is 64 hexadecimal digits.");
        return null;
    }

    /// <summary>A field as written, without the spaces or the RFC 4180 quotes around it.</summary>
    static string Field(string value)
    {
        value = value.Trim();
        return value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1].Trim() : value;
    }

    static void Report(List<ImportError> errors, ImportError error)
    {
        if (errors.Count < MaxListedErrors) errors.Add(error);
    }

    /// <summary>Insert-if-absent in batches, on the provider's own terms: one statement per batch on PostgreSQL, a prepared row insert on SQLite.</summary>
    abstract class Inserts(ConsentDb db) : IAsyncDisposable
    {
        protected DbCommand Command { get; } = CreateCommand(db);

        public static Inserts For(ConsentDb db, string provider, DateTime now) =>
            db.Provider == DatabaseProvider.Postgres ? new PostgresInserts(db, provider, now) : new SqliteInserts(db, provider, now);

        /// <summary>Inserts the lines the provider does not list yet; answers how many that was.</summary>
        public abstract Task<long> AddAsync(List<(string Kind, string Sha256)> batch, CancellationToken ct);

        protected DbParameter Parameter(string name, object value)
        {
            var parameter = Command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            Command.Parameters.Add(parameter);
            return parameter;
        }

        static DbCommand CreateCommand(ConsentDb db)
        {
            var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction()
                ?? throw new InvalidOperationException("An industry list is imported inside a transaction.");
            return command;
        }

        public virtual ValueTask DisposeAsync() => Command.DisposeAsync();
    }

    sealed class PostgresInserts : Inserts
    {
        readonly DbParameter kinds, hashes;

        public PostgresInserts(ConsentDb db, string provider, DateTime now) : base(db)
        {
            // Duplicates within one statement are skipped too: DO NOTHING never touches a row twice.
            Command.CommandText = """
                INSERT INTO industry_opt_outs ("Provider", "Kind", "Sha256", "AddedAt")
                SELECT @provider, k, s, @at FROM unnest(@kinds, @hashes) AS t(k, s)
                ON CONFLICT ("Provider", "Kind", "Sha256") DO NOTHING
                """;
            Parameter("provider", provider);
            Parameter("at", now);
            kinds = Parameter("kinds", Array.Empty<string>());
            hashes = Parameter("hashes", Array.Empty<string>());
        }

        public override async Task<long> AddAsync(List<(string Kind, string Sha256)> batch, CancellationToken ct)
        {
            kinds.Value = batch.Select(l => l.Kind).ToArray();
            hashes.Value = batch.Select(l => l.Sha256).ToArray();
            return await Command.ExecuteNonQueryAsync(ct);
        }
    }

    sealed class SqliteInserts : Inserts
    {
        // Rows per statement: two parameters each, well under SQLite's limit of 32766 (999 before 3.32).
        const int RowsPerStatement = 200;
        readonly DbParameter[] kinds = new DbParameter[RowsPerStatement], hashes = new DbParameter[RowsPerStatement];
        readonly DbCommand single;
        readonly DbParameter kind, hash;

        public SqliteInserts(ConsentDb db, string provider, DateTime now) : base(db)
        {
            const string Insert = "INSERT OR IGNORE INTO industry_opt_outs (Provider, Kind, Sha256, AddedAt) VALUES ";
            Command.CommandText = Insert + string.Join(", ", Enumerable.Range(0, RowsPerStatement).Select(i => $"($provider, $k{i}, $s{i}, $at)"));
            Parameter("$provider", provider);
            Parameter("$at", now);
            for (var i = 0; i < RowsPerStatement; i++)
            {
                kinds[i] = Parameter($"$k{i}", "");
                hashes[i] = Parameter($"$s{i}", "");
            }
            single = db.Database.GetDbConnection().CreateCommand();
            single.Transaction = Command.Transaction;
            single.CommandText = Insert + "($provider, $kind, $sha256, $at)";
            foreach (var (name, value) in new (string, object)[] { ("$provider", provider), ("$at", now) }) Add(single, name, value);
            kind = Add(single, "$kind", "");
            hash = Add(single, "$sha256", "");
        }

        public override async Task<long> AddAsync(List<(string Kind, string Sha256)> batch, CancellationToken ct)
        {
            long added = 0;
            var i = 0;
            for (; i + RowsPerStatement <= batch.Count; i += RowsPerStatement)
            {
                for (var j = 0; j < RowsPerStatement; j++)
                {
                    kinds[j].Value = batch[i + j].Kind;
                    hashes[j].Value = batch[i + j].Sha256;
                }
                // OR IGNORE counts only the rows it inserted.
                added += await Command.ExecuteNonQueryAsync(ct);
            }
            for (; i < batch.Count; i++)
            {
                kind.Value = batch[i].Kind;
                hash.Value = batch[i].Sha256;
                added += await single.ExecuteNonQueryAsync(ct);
            }
            return added;
        }

        static DbParameter Add(DbCommand command, string name, object value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
            return parameter;
        }

        public override async ValueTask DisposeAsync()
        {
            await single.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
