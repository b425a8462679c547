using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace ConsentHub.Extracts;

public sealed class ExtractOptions
{
    public const string Section = "ConsentHub:Extracts";

    /// <summary>Run extracts (on demand and on schedule) in this instance. Any number of instances may: a run is claimed by one.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often this instance looks for scheduled slots that have passed and runs that wait.</summary>
    [Range(1, 3600)]
    public int SweepSeconds { get; set; } = 5;

    /// <summary>How long a run holds its claim; renewed with every chunk stored, so only a stopped instance loses it.</summary>
    [Range(10, 86_400)]
    public int LeaseSeconds { get; set; } = 300;

    /// <summary>Attempts a run gets (an instance stopped under it, the database went away) before it is failed for good.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The size of the pieces a file is stored in; one piece is in memory at a time.</summary>
    [Range(64 * 1024, 64 * 1024 * 1024)]
    public int ChunkBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Rows per Parquet row group: what a Parquet extract holds in memory before writing it out.</summary>
    [Range(1000, 1_000_000)]
    public int ParquetRowGroup { get; set; } = 50_000;

    /// <summary>Days a completed run's file is kept; then its content is deleted (its row, hash and ledger entry stay).</summary>
    [Range(1, 3650)]
    public int KeepDays { get; set; } = 30;
}

/// <summary>Wakes the extract worker when a run was asked for here.</summary>
public sealed class ExtractSignal : WorkSignal;

/// <summary>
/// Runs extracts. A scheduled slot that has passed becomes a run (its unique slot makes one run per slot across
/// instances); a waiting run is claimed under a lease, read from one database snapshot by a single statement
/// (<see cref="ExtractQuery"/>), written row by row into its format and stored in chunks as it goes; its file's SHA-256,
/// rows and size go into the ledger (<c>extract-issued</c>) in the transaction that completes it.
/// </summary>
public sealed class ExtractRunner(
    ConsentDb db, LedgerWriter ledger, IServiceScopeFactory scopes, PersonKeys keys, TimeProvider time, IOptions<ExtractOptions> options,
    ILogger<ExtractRunner> logger)
{
    /// <summary>Rows between two progress updates of a run that has not filled a chunk yet.</summary>
    const int ProgressRows = 50_000;

    /// <summary>Queues the runs of every slot that has passed; returns how many this instance queued.</summary>
    public async Task<int> ScheduleDueAsync(CancellationToken ct)
    {
        var now = time.Now();
        var due = await db.ExtractDefinitions.AsNoTracking().Where(d => d.NextRunAt != null && d.NextRunAt <= now).ToListAsync(ct);
        var queued = 0;
        foreach (var definition in due)
        {
            var slot = definition.NextRunAt!.Value;
            var next = CronSchedule.Next(definition.Schedule!, now);
            // Moving the definition on from this slot is the claim: the instance whose update finds the slot unchanged queues it.
            var moved = await db.ExtractDefinitions.Where(d => d.Id == definition.Id && d.NextRunAt == slot)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextRunAt, next), ct);
            if (moved == 0) continue;
            db.ExtractRuns.Add(NewRun(definition, $"{ExtractTriggers.Schedule}:{HubTime.Format(slot)}", ExtractTriggers.Schedule, "schedule", now));
            try
            {
                await db.SaveChangesAsync(ct);
                queued++;
            }
            catch (DbUpdateException e) when (DbErrors.IsUniqueViolation(e))
            {
                // The slot was queued before (the definition was saved again with the same next slot).
            }
            db.ChangeTracker.Clear();
        }
        return queued;
    }


    public static ExtractRun NewRun(ExtractDefinition definition, string slot, string trigger, string requestedBy, DateTime now) => new()
    {
        Id = Guid.CreateVersion7(), DefinitionId = definition.Id, Nmsc = definition.Nmsc, Name = definition.Name, Slot = slot, Trigger = trigger,
        Spec = definition.Spec, State = ExtractRunStates.Queued, RequestedBy = requestedBy, RequestedAt = now,
    };

    /// <summary>Runs waiting runs (and runs another instance abandoned) one after the other; returns how many it finished.</summary>
    public async Task<int> RunDueAsync(CancellationToken ct)
    {
        var finished = 0;
        while (await ClaimAsync(ct) is { } run)
        {
            await RunAsync(run, ct);
            finished++;
        }
        return finished;
    }

    async Task<ExtractRun?> ClaimAsync(CancellationToken ct)
    {
        var now = time.Now();
        var candidates = await db.ExtractRuns.AsNoTracking()
            .Where(r => r.State == ExtractRunStates.Queued || (r.State == ExtractRunStates.Running && r.LeaseUntil < now))
            .OrderBy(r => r.RequestedAt).Take(5).ToListAsync(ct);
        foreach (var run in candidates)
        {
            var token = Guid.NewGuid();
            var lease = now.AddSeconds(options.Value.LeaseSeconds);
            var claimed = await db.ExtractRuns
                .Where(r => r.Id == run.Id && r.State == run.State && r.LeaseToken == run.LeaseToken)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.State, ExtractRunStates.Running).SetProperty(r => r.LeaseToken, token)
                    .SetProperty(r => r.LeaseUntil, lease).SetProperty(r => r.StartedAt, now).SetProperty(r => r.Attempts, r => r.Attempts + 1)
                    .SetProperty(r => r.Rows, 0L).SetProperty(r => r.Bytes, 0L), ct);
            if (claimed == 0) continue;
            if (run.State == ExtractRunStates.Running)
                logger.LogWarning("Extract run {RunId} of {Nmsc}/{Name} was abandoned by another instance; running it here", run.Id, run.Nmsc, run.Name);
            await db.ExtractChunks.Where(c => c.RunId == run.Id).ExecuteDeleteAsync(ct);
            run.State = ExtractRunStates.Running;
            run.LeaseToken = token;
            run.Attempts++;
            return run;
        }
        return null;
    }

    async Task RunAsync(ExtractRun run, CancellationToken ct)
    {
        try
        {
            var (rows, bytes, sha256) = await WriteAsync(run, ct);
            await CompleteAsync(run, rows, bytes, sha256, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogError(e, "Extract run {RunId} of {Nmsc}/{Name} failed (attempt {Attempt})", run.Id, run.Nmsc, run.Name, run.Attempts);
            await FailAsync(run, e is LostRun ? null : Describe(e), CancellationToken.None);
        }
    }

    sealed class LostRun() : Exception("Another instance took the run over.");

    static string Describe(Exception e) => e switch
    {
        DbException => "The database failed while the extract was read or stored.",
        IOException => "Writing the file failed.",
        _ => "The extract failed: " + e.GetType().Name + ".",
    };

    /// <summary>Reads the run's rows from one snapshot and writes its file into chunks; answers rows, bytes and SHA-256.</summary>
    async Task<(long Rows, long Bytes, string Sha256)> WriteAsync(ExtractRun run, CancellationToken ct)
    {
        var spec = ExtractSpec.FromJson(run.Spec);
        var query = new ExtractQuery(spec, run.Nmsc, time.Now(), db.Provider);
        var progress = new Progress();
        long reported = 0;

        await using var readerScope = scopes.CreateAsyncScope();
        var readerDb = readerScope.ServiceProvider.GetRequiredService<ConsentDb>();
        await using var snapshot = await LedgerVerifier.SnapshotAsync(readerDb, ct);
        // Chunks are stored on a connection of their own while the next rows are read and written.
        await using var storeScope = scopes.CreateAsyncScope();
        var storeDb = storeScope.ServiceProvider.GetRequiredService<ConsentDb>();
        await using var chunks = new ExtractChunkStream(options.Value.ChunkBytes, async (sequence, bytes, token) =>
        {
            storeDb.ExtractChunks.Add(new ExtractChunk { RunId = run.Id, Sequence = sequence, Bytes = IssuedFile.Deflate(bytes) });
            await storeDb.SaveChangesAsync(token);
            storeDb.ChangeTracker.Clear();
            await ReportAsync(storeDb, run, Volatile.Read(ref progress.Rows), (long)sequence * options.Value.ChunkBytes + bytes.Length, token);
        }, ct);
        await using (var writer = ExtractFileWriter.Create(spec.Format, chunks, query.Columns, options.Value.ParquetRowGroup))
        {
            var connection = readerDb.Database.GetDbConnection();
            await using var command = query.Command(connection, readerDb.Database.CurrentTransaction?.GetDbTransaction());
            await using var reader = await command.ExecuteReaderAsync(ct);
            var row = new ReaderRow(reader, query.Columns, query.PersonalOrdinal, this);
            while (await reader.ReadAsync(ct))
            {
                row.Next();
                await writer.WriteAsync(row, ct);
                var rows = ++progress.Rows;
                if (rows - reported >= ProgressRows && chunks.Written < options.Value.ChunkBytes)
                {
                    // A file too small for a chunk yet still shows its progress (and keeps its lease).
                    await ReportAsync(db, run, rows, chunks.Written, ct);
                    reported = rows;
                }
            }
            await writer.CompleteAsync(ct);
        }
        var sha256 = await chunks.CompleteAsync(ct);
        return (progress.Rows, chunks.Written, sha256);
    }

    /// <summary>
    /// The record's contact, when asked for and still there (an erased record has neither key nor contact): read in the same
    /// row as the record, so that the run holds one statement open and no other query.
    /// </summary>
    Contact? ContactOf(DbDataReader reader, int ordinal) => PersonalDataVault.OpenContact(reader.GetInt64(ordinal + 2),
        reader.IsDBNull(ordinal) ? null : (byte[])reader.GetValue(ordinal), reader.IsDBNull(ordinal + 1) ? null : reader.GetString(ordinal + 1), keys);

    /// <summary>The reader's current row as the writers read it; personal columns come from the row's sealed contact, opened once per row.</summary>
    sealed class ReaderRow(DbDataReader reader, IReadOnlyList<ExtractColumn> columns, int? personal, ExtractRunner runner) : IExtractRow
    {
        readonly bool[] personalColumns = [.. columns.Select(c => c.Personal)];
        Contact? contact;

        public void Next() => contact = personal is { } p ? runner.ContactOf(reader, p) : null;

        string? Personal(int column) => columns[column].Name == "email" ? contact?.Email : contact?.Phone;

        public bool IsNull(int column) => personalColumns[column] ? Personal(column) is null : reader.IsDBNull(column);
        public string GetString(int column) => personalColumns[column] ? Personal(column)! : reader.GetString(column);
        public bool GetBoolean(int column) => reader.GetBoolean(column);
        public DateTime GetTimestamp(int column) => DateTime.SpecifyKind(reader.GetDateTime(column), DateTimeKind.Utc);
        public long GetCount(int column) => reader.GetInt64(column);
    }

    /// <summary>Shows how far the run got, and renews its lease; a run whose claim another instance took stops here.</summary>
    sealed class Progress
    {
        public long Rows;
    }

    async Task ReportAsync(ConsentDb on, ExtractRun run, long rows, long bytes, CancellationToken ct)
    {
        var lease = time.Now().AddSeconds(options.Value.LeaseSeconds);
        var kept = await on.ExtractRuns.Where(r => r.Id == run.Id && r.LeaseToken == run.LeaseToken && r.State == ExtractRunStates.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Rows, rows).SetProperty(r => r.Bytes, bytes).SetProperty(r => r.LeaseUntil, lease), ct);
        if (kept == 0) throw new LostRun();
    }

    async Task CompleteAsync(ExtractRun run, long rows, long bytes, string sha256, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.ExtractRuns.SingleAsync(r => r.Id == run.Id, ct);
        if (row.LeaseToken != run.LeaseToken || row.State != ExtractRunStates.Running) throw new LostRun();
        var now = time.Now();
        row.State = ExtractRunStates.Completed;
        row.Rows = rows;
        row.Bytes = bytes;
        row.Sha256 = sha256;
        row.CompletedAt = now;
        row.LeaseUntil = null;
        row.Error = null;
        var spec = ExtractSpec.FromJson(row.Spec);
        row.LedgerIndex = ledger.Append(ExtractEvents.Issued, new
        {
            runId = row.Id, nmsc = row.Nmsc, name = row.Name, trigger = row.Trigger, slot = row.Slot, format = spec.Format, kind = spec.Kind,
            includePersonalData = spec.IncludePersonalData, rows, size = bytes, sha256,
        }).Index;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        logger.LogInformation("Extract run {RunId} of {Nmsc}/{Name} completed: {Rows} rows, {Bytes} bytes", row.Id, row.Nmsc, row.Name, rows, bytes);
    }

    /// <summary>Queues the run again, or fails it for good once its attempts are spent (a ledger entry says so).</summary>
    async Task FailAsync(ExtractRun run, string? error, CancellationToken ct)
    {
        if (error is null) return; // another instance holds the run now
        db.ChangeTracker.Clear();
        await db.ExtractChunks.Where(c => c.RunId == run.Id).ExecuteDeleteAsync(ct);
        if (run.Attempts < options.Value.MaxAttempts)
        {
            await db.ExtractRuns.Where(r => r.Id == run.Id && r.LeaseToken == run.LeaseToken && r.State == ExtractRunStates.Running)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.State, ExtractRunStates.Queued).SetProperty(r => r.Error, error)
                    .SetProperty(r => r.LeaseUntil, (DateTime?)null), ct);
            return;
        }
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.ExtractRuns.SingleAsync(r => r.Id == run.Id, ct);
        if (row.LeaseToken != run.LeaseToken || row.State != ExtractRunStates.Running) return;
        row.State = ExtractRunStates.Failed;
        row.Error = error;
        row.CompletedAt = time.Now();
        row.LeaseUntil = null;
        row.LedgerIndex = ledger.Append(ExtractEvents.Failed, new { runId = row.Id, nmsc = row.Nmsc, name = row.Name, attempts = row.Attempts, error }).Index;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Deletes the content of files older than KeepDays; their rows, hashes and ledger entries stay.</summary>
    public async Task<int> PruneAsync(CancellationToken ct)
    {
        var before = time.Now().AddDays(-options.Value.KeepDays);
        var old = await db.ExtractRuns.AsNoTracking()
            .Where(r => r.State == ExtractRunStates.Completed && r.CompletedAt < before).Select(r => r.Id).Take(100).ToListAsync(ct);
        foreach (var id in old)
        {
            await db.ExtractChunks.Where(c => c.RunId == id).ExecuteDeleteAsync(ct);
            await db.ExtractRuns.Where(r => r.Id == id).ExecuteUpdateAsync(s => s.SetProperty(r => r.State, ExtractRunStates.Expired), ct);
        }
        return old.Count;
    }
}

/// <summary>Schedules, runs and prunes extracts in this instance; woken at once when a run is asked for here.</summary>
sealed class ExtractWorker(IServiceScopeFactory scopes, ExtractSignal signal, IOptions<ExtractOptions> options, ILogger<ExtractWorker> logger)
    : SignalledWorker(scopes, signal, logger)
{
    protected override bool Enabled => options.Value.Enabled;
    protected override TimeSpan Poll => TimeSpan.FromSeconds(options.Value.SweepSeconds);
    protected override string Failure => "Extract worker pass failed";

    protected override async Task PassAsync(IServiceProvider services, CancellationToken ct)
    {
        var runner = services.GetRequiredService<ExtractRunner>();
        await runner.ScheduleDueAsync(ct);
        await runner.RunDueAsync(ct);
        await runner.PruneAsync(ct);
    }
}
