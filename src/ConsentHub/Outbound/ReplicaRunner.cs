using System.Data;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Propagation;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace ConsentHub.Outbound;

/// <summary>One row of a replica's table: a record's consent category or channel as it now is.</summary>
public sealed record ReplicaRow(
    string Nmsc, string Context, string SourceSystem, string SourceCustomerId, string Kind, string Code, bool Flag,
    DateTime RequestedAt, DateTime? ValidatedAt);

/// <summary>The target side of a replica: its address rules, its table, and the statements that fill it.</summary>
public static class ReplicaTarget
{
    public const string ConsentKind = "consent";
    public const string ChannelKind = "channel";

    /// <summary>The destinations' address rules for the target host (a name is resolved; each address must pass).</summary>
    public static async Task<string?> HostRefusalAsync(string host, PropagationOptions options, CancellationToken ct)
    {
        if (host.StartsWith('/')) return "is a unix socket path, not a network host";
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal)) addresses = [literal];
        else
        {
            try { addresses = await Dns.GetHostAddressesAsync(host, ct); }
            catch (System.Net.Sockets.SocketException) { return $"'{host}' does not resolve"; }
        }
        foreach (var address in addresses)
        {
            if (DestinationUris.AddressRefusal(address, options.AllowInsecureLoopback, options.PrivateNetworksAllowed()) is { } why)
                return $"{why.Replace("the destination", "the target", StringComparison.Ordinal)} ({address})";
        }
        return addresses.Length == 0 ? $"'{host}' does not resolve" : null;
    }

    static string Name(string schema, string table) => $"{Quote(schema)}.{Quote(table)}";

    static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Creates the schema and table when missing; an existing table is used as it is.</summary>
    public static async Task EnsureTableAsync(NpgsqlConnection connection, string schema, string table, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            CREATE SCHEMA IF NOT EXISTS {Quote(schema)};
            CREATE TABLE IF NOT EXISTS {Name(schema, table)} (
                nmsc text NOT NULL,
                context text NOT NULL,
                source_system text NOT NULL,
                source_customer_id text NOT NULL,
                kind text NOT NULL,
                code text NOT NULL,
                flag boolean NOT NULL,
                requested_at timestamptz NOT NULL,
                validated_at timestamptz NULL,
                ledger_index bigint NOT NULL,
                PRIMARY KEY (nmsc, context, source_system, source_customer_id, kind, code));
            """, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Replaces the organisation's rows with <paramref name="rows"/> (binary COPY), inside the caller's transaction.</summary>
    public static async Task<long> ReplaceAsync(
        NpgsqlConnection connection, string schema, string table, string nmsc, IAsyncEnumerable<ReplicaRow> rows, long ledgerIndex, CancellationToken ct)
    {
        await using (var delete = new NpgsqlCommand($"DELETE FROM {Name(schema, table)} WHERE nmsc = @nmsc", connection))
        {
            delete.Parameters.AddWithValue("nmsc", nmsc);
            await delete.ExecuteNonQueryAsync(ct);
        }
        long count = 0;
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {Name(schema, table)} (nmsc, context, source_system, source_customer_id, kind, code, flag, requested_at, validated_at, ledger_index) FROM STDIN (FORMAT BINARY)", ct);
        await foreach (var row in rows.WithCancellation(ct))
        {
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(row.Nmsc, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Context, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.SourceSystem, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.SourceCustomerId, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Kind, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Code, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Flag, NpgsqlDbType.Boolean, ct);
            await writer.WriteAsync(row.RequestedAt, NpgsqlDbType.TimestampTz, ct);
            if (row.ValidatedAt is { } validated) await writer.WriteAsync(validated, NpgsqlDbType.TimestampTz, ct);
            else await writer.WriteNullAsync(ct);
            await writer.WriteAsync(ledgerIndex, NpgsqlDbType.Bigint, ct);
            count++;
        }
        await writer.CompleteAsync(ct);
        return count;
    }

    /// <summary>Writes <paramref name="rows"/> over what the table holds for their keys, in one statement.</summary>
    public static async Task UpsertAsync(
        NpgsqlConnection connection, string schema, string table, IReadOnlyList<(ReplicaRow Row, long LedgerIndex)> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return;
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {Name(schema, table)} AS t (nmsc, context, source_system, source_customer_id, kind, code, flag, requested_at, validated_at, ledger_index)
            SELECT * FROM unnest(@nmsc, @context, @system, @customer, @kind, @code, @flag, @requested, @validated, @ledger)
            ON CONFLICT (nmsc, context, source_system, source_customer_id, kind, code) DO UPDATE
            SET flag = excluded.flag, requested_at = excluded.requested_at, validated_at = excluded.validated_at, ledger_index = excluded.ledger_index
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string[]>("nmsc", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Select(r => r.Row.Nmsc)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("context", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Select(r => r.Row.Context)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("system", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Select(r => r.Row.SourceSystem)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("customer", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Select(r => r.Row.SourceCustomerId)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("kind", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Select(r => r.Row.Kind)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("code", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Select(r => r.Row.Code)] });
        command.Parameters.Add(new NpgsqlParameter<bool[]>("flag", NpgsqlDbType.Array | NpgsqlDbType.Boolean) { TypedValue = [.. rows.Select(r => r.Row.Flag)] });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("requested", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = [.. rows.Select(r => r.Row.RequestedAt)] });
        command.Parameters.Add(new NpgsqlParameter<DateTime?[]>("validated", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = [.. rows.Select(r => r.Row.ValidatedAt)] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("ledger", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. rows.Select(r => r.LedgerIndex)] });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The rows a record's image (<see cref="RecordImage"/>) makes: one per consent category and channel, timestamps at
    /// the milliseconds the hub publishes.
    /// </summary>
    public static IEnumerable<ReplicaRow> RowsOf(ChangeLogEntry entry, JsonObject image)
    {
        foreach (var (field, value) in image)
        {
            var kind = field.StartsWith(RecordImage.ConsentPrefix, StringComparison.Ordinal) ? ConsentKind
                : field.StartsWith(RecordImage.ChannelPrefix, StringComparison.Ordinal) ? ChannelKind : null;
            if (kind is null || value is not JsonObject entryValue) continue;
            var code = field[(field.IndexOf('.') + 1)..];
            yield return new ReplicaRow(entry.Nmsc, entry.Context, entry.SourceSystem!, entry.SourceCustomerId!, kind, code,
                entryValue["flag"]!.GetValue<bool>(), Instant(entryValue["requestedTimestamp"])!.Value, Instant(entryValue["validatedTimestamp"]));
        }
    }

    static DateTime? Instant(JsonNode? node) => node is null ? null
        : DateTime.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    /// <summary>An instant cut to the milliseconds the hub publishes, in UTC.</summary>
    public static DateTime Milliseconds(DateTime at)
    {
        var utc = DateTime.SpecifyKind(at, DateTimeKind.Utc);
        return new DateTime(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
    }
}

/// <summary>
/// Keeps one replica: claims it under a lease, copies the organisation's current consents and channels when the replica
/// is new (or points somewhere new), then applies the change log forward from the replica's cursor, a batch per target
/// transaction. The target is written first and the cursor moved after: a crash between the two applies the same batch
/// again, which changes nothing (each record's rows are set to its image after the batch's last change of it).
/// </summary>
public sealed class ReplicaRunner(
    ConsentDb db, IDataProtectionProvider protection, TimeProvider time, IOptions<ReplicaOptions> options,
    IOptions<PropagationOptions> addresses, ILogger<ReplicaRunner> logger)
{
    sealed class LeaseLost : Exception;

    /// <summary>Keeps the replica until it has caught up; false when it could not be claimed (another run holds it).</summary>
    public async Task<bool> RunAsync(Guid replicaId, CancellationToken ct)
    {
        var now = time.Now();
        var lease = Guid.NewGuid().ToString("N");
        var claimed = await db.Replicas.Where(r => r.Id == replicaId && (r.LeaseUntil == null || r.LeaseUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseOwner, lease).SetProperty(r => r.LeaseUntil, now.AddSeconds(options.Value.LeaseSeconds)), ct);
        if (claimed == 0) return false;
        var replica = await db.Replicas.AsNoTracking().SingleAsync(r => r.Id == replicaId, ct);
        try
        {
            var target = new NpgsqlConnectionStringBuilder(protection.CreateProtector(ReplicaApi.ProtectionPurpose).Unprotect(replica.ConnectionString))
            {
                // Never the hub's own defaults: a target that does not answer fails the run, which is tried again later.
                Timeout = 10, CommandTimeout = 300, IncludeErrorDetail = false,
            };
            // The address is checked again at every connection: a name may resolve elsewhere by now.
            if (await ReplicaTarget.HostRefusalAsync(target.Host!, addresses.Value, ct) is { } why)
                throw new InvalidOperationException($"The target host {why}.");
            await using var connection = new NpgsqlConnection(target.ConnectionString);
            try
            {
                await connection.OpenAsync(ct);
                await ReplicaTarget.EnsureTableAsync(connection, replica.Schema, replica.Table, ct);
                if (replica.State == ReplicaStates.Copying) await CopyAsync(replica, connection, lease, ct);
                while (await ApplyBatchAsync(replica, connection, lease, ct)) { }
            }
            catch
            {
                // A broken connection is not handed to the next run.
                NpgsqlConnection.ClearPool(connection);
                throw;
            }
            await db.Replicas.Where(r => r.Id == replicaId && r.LeaseOwner == lease)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseOwner, (string?)null).SetProperty(r => r.LeaseUntil, (DateTime?)null), ct);
        }
        catch (LeaseLost)
        {
            logger.LogWarning("Replica {Nmsc}/{Replica} lost its lease during a run; the instance that holds it goes on.", replica.Nmsc, replica.Name);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException or System.Net.Sockets.SocketException)
        {
            var failedAt = time.Now();
            var message = Describe(e);
            var first = replica.LastError is null;
            await db.Replicas.Where(r => r.Id == replicaId && r.LeaseOwner == lease).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.LeaseOwner, (string?)null)
                .SetProperty(r => r.LeaseUntil, failedAt.AddSeconds(options.Value.RetrySeconds))
                .SetProperty(r => r.LastError, message)
                .SetProperty(r => r.LastErrorAt, failedAt), CancellationToken.None);
            // Once per outage, not once per attempt.
            if (first) logger.LogWarning("Replica {Nmsc}/{Replica} failed and is tried again every {Seconds} s: {Error}", replica.Nmsc, replica.Name, options.Value.RetrySeconds, message);
        }
        return true;
    }

    /// <summary>What went wrong, in one line without the connection string (Npgsql's messages never carry it).</summary>
    static string Describe(Exception e)
    {
        var message = e is PostgresException p ? $"{p.SqlState}: {p.MessageText}" : e.Message;
        if (e.InnerException is { } inner && e is not PostgresException) message += $" ({inner.Message})";
        return message.Length > 2000 ? message[..2000] : message;
    }

    /// <summary>The initial copy: the organisation's current rows and the change-log position they reflect, from one snapshot.</summary>
    async Task CopyAsync(Replica replica, NpgsqlConnection connection, string lease, CancellationToken ct)
    {
        await using var snapshot = db.Provider == DatabaseProvider.Postgres
            ? await db.Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct)
            : await db.Database.BeginTransactionAsync(ct);
        var last = await db.ChangeLog.AsNoTracking().Where(e => e.Nmsc == replica.Nmsc)
            .OrderByDescending(e => e.LedgerIndex).ThenByDescending(e => e.Position)
            .Select(e => new { e.LedgerIndex, e.Position }).FirstOrDefaultAsync(ct);
        var (index, position) = last is null ? (0L, 0) : (last.LedgerIndex, last.Position);

        await using var write = await connection.BeginTransactionAsync(ct);
        var count = await ReplicaTarget.ReplaceAsync(connection, replica.Schema, replica.Table, replica.Nmsc, CurrentRows(replica.Nmsc), index, ct);
        await RenewAsync(replica.Id, lease, ct);
        await write.CommitAsync(ct);
        await snapshot.CommitAsync(ct);
        await AdvanceAsync(replica.Id, lease, index, position, count, ReplicaStates.Live, ct);
        replica.State = ReplicaStates.Live;
        replica.AppliedIndex = index;
        replica.AppliedPosition = position;
        logger.LogInformation("Replica {Nmsc}/{Replica} copied: {Rows} rows, as of ledger index {Index}.", replica.Nmsc, replica.Name, count, index);
    }

    async IAsyncEnumerable<ReplicaRow> CurrentRows(string nmsc)
    {
        var consents = from e in db.ConsentEntries.AsNoTracking()
                       join c in db.Customers.AsNoTracking() on e.CustomerId equals c.Id
                       where c.Nmsc == nmsc
                       select new { c.Context, c.SourceSystem, c.SourceCustomerId, e.Code, e.Flag, e.RequestedAt, e.ValidatedAt };
        await foreach (var e in consents.AsAsyncEnumerable())
            yield return new ReplicaRow(nmsc, e.Context, e.SourceSystem, e.SourceCustomerId, ReplicaTarget.ConsentKind, e.Code, e.Flag,
                ReplicaTarget.Milliseconds(e.RequestedAt), e.ValidatedAt is { } v ? ReplicaTarget.Milliseconds(v) : null);
        var channels = from e in db.ChannelEntries.AsNoTracking()
                       join c in db.Customers.AsNoTracking() on e.CustomerId equals c.Id
                       where c.Nmsc == nmsc
                       select new { c.Context, c.SourceSystem, c.SourceCustomerId, e.Code, e.Flag, e.RequestedAt };
        await foreach (var e in channels.AsAsyncEnumerable())
            yield return new ReplicaRow(nmsc, e.Context, e.SourceSystem, e.SourceCustomerId, ReplicaTarget.ChannelKind, e.Code, e.Flag,
                ReplicaTarget.Milliseconds(e.RequestedAt), null);
    }

    /// <summary>Applies the next batch of the change log; false when there was none.</summary>
    async Task<bool> ApplyBatchAsync(Replica replica, NpgsqlConnection connection, string lease, CancellationToken ct)
    {
        var (index, position) = (replica.AppliedIndex, replica.AppliedPosition);
        var batch = await db.ChangeLog.AsNoTracking()
            .Where(e => e.Nmsc == replica.Nmsc && (e.LedgerIndex > index || (e.LedgerIndex == index && e.Position > position)))
            .OrderBy(e => e.LedgerIndex).ThenBy(e => e.Position)
            .Take(options.Value.BatchSize).ToListAsync(ct);
        if (batch.Count == 0) return false;

        // Each record's image after its last change in the batch is all the batch leaves of it.
        var latest = new Dictionary<(string, string, string), ChangeLogEntry>();
        foreach (var entry in batch.Where(e => e.Kind == ChangeKinds.ConsentChanged && e.SourceSystem is not null && e.SourceCustomerId is not null))
            latest[(entry.Context, entry.SourceSystem!, entry.SourceCustomerId!)] = entry;
        var rows = latest.Values
            .SelectMany(e => ReplicaTarget.RowsOf(e, JsonNode.Parse(e.After ?? "{}")!.AsObject()).Select(r => (r, e.LedgerIndex)))
            .ToList();

        await using (var write = await connection.BeginTransactionAsync(ct))
        {
            await ReplicaTarget.UpsertAsync(connection, replica.Schema, replica.Table, rows, ct);
            // Still ours just before the commit: a run that overran its lease never writes over a newer one's batch.
            await RenewAsync(replica.Id, lease, ct);
            await write.CommitAsync(ct);
        }
        var last = batch[^1];
        await AdvanceAsync(replica.Id, lease, last.LedgerIndex, last.Position, rows.Count, ReplicaStates.Live, ct);
        replica.AppliedIndex = last.LedgerIndex;
        replica.AppliedPosition = last.Position;
        return batch.Count == options.Value.BatchSize;
    }

    async Task RenewAsync(Guid replicaId, string lease, CancellationToken ct)
    {
        var until = time.Now().AddSeconds(options.Value.LeaseSeconds);
        var renewed = await db.Replicas.Where(r => r.Id == replicaId && r.LeaseOwner == lease)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseUntil, until), ct);
        if (renewed == 0) throw new LeaseLost();
    }

    async Task AdvanceAsync(Guid replicaId, string lease, long index, int position, long rows, string state, CancellationToken ct)
    {
        var now = time.Now();
        var moved = await db.Replicas.Where(r => r.Id == replicaId && r.LeaseOwner == lease).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.AppliedIndex, index).SetProperty(r => r.AppliedPosition, position)
            .SetProperty(r => r.RowsApplied, r => r.RowsApplied + rows).SetProperty(r => r.State, state)
            .SetProperty(r => r.LastAppliedAt, now).SetProperty(r => r.LastError, (string?)null).SetProperty(r => r.LastErrorAt, (DateTime?)null)
            .SetProperty(r => r.LeaseUntil, now.AddSeconds(options.Value.LeaseSeconds)), ct);
        if (moved == 0) throw new LeaseLost();
    }

    /// <summary>The organisation's change-log rows after a position: how many, and when the oldest happened.</summary>
    public static async Task<(long Count, DateTime? Oldest)> BacklogAsync(ConsentDb db, string nmsc, long index, int position, CancellationToken ct)
    {
        var after = db.ChangeLog.AsNoTracking()
            .Where(e => e.Nmsc == nmsc && (e.LedgerIndex > index || (e.LedgerIndex == index && e.Position > position)));
        var count = await after.LongCountAsync(ct);
        var oldest = count == 0 ? null : await after.OrderBy(e => e.LedgerIndex).ThenBy(e => e.Position).Select(e => (DateTime?)e.OccurredAt).FirstOrDefaultAsync(ct);
        return (count, oldest);
    }
}

/// <summary>Every instance keeps the replicas no other instance holds, every <see cref="ReplicaOptions.SweepSeconds"/>.</summary>
public sealed class ReplicaWorker(IServiceScopeFactory scopes, TimeProvider time, IOptions<ReplicaOptions> options, ILogger<ReplicaWorker> logger)
    : PeriodicSweep(time, TimeSpan.FromSeconds(options.Value.SweepSeconds), logger)
{
    protected override string Failure => "Keeping the replicas failed";

    protected override async Task SweepAsync(CancellationToken ct)
    {
        if (!options.Value.Enabled) return;
        List<Guid> free;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
            var now = Time.Now();
            free = await db.Replicas.AsNoTracking().Where(r => r.LeaseUntil == null || r.LeaseUntil < now)
                .OrderBy(r => r.AppliedIndex).Select(r => r.Id).Take(100).ToListAsync(ct);
        }
        foreach (var id in free)
        {
            // A scope per replica: each run's unit of work starts clean.
            await using var runScope = scopes.CreateAsyncScope();
            await runScope.ServiceProvider.GetRequiredService<ReplicaRunner>().RunAsync(id, ct);
        }
    }
}
