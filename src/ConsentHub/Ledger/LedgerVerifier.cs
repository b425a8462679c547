using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

public sealed record LedgerVerification(bool Valid, long Entries, long? FirstBadIndex = null, string? Reason = null, string? Kind = null);

/// <summary>
/// The hub's own check of its database: the hash chain from the genesis hash, the head, the stored Merkle tree, and
/// every signed checkpoint against the entries (and, given the key, its signature). Names the first bad index.
/// </summary>
public static class LedgerVerifier
{
    const int PageSize = 5_000;

    /// <param name="progress">Told how many entries have verified after each page of them (the console's progress).</param>
    public static async Task<LedgerVerification> VerifyAsync(ConsentDb db, CancellationToken ct, string? verifierKey = null, Func<long, Task>? progress = null)
    {
        // One snapshot for every read: entries, head and checkpoints committed meanwhile by writers must not look like
        // entries missing at the end. Neither provider blocks writers for it.
        await using var snapshot = await SnapshotAsync(db, ct);
        var checkpoints = await db.LedgerCheckpoints.AsNoTracking().OrderBy(c => c.Size).ToListAsync(ct);
        var audit = new LedgerAudit(checkpoints.Select(c => c.Size));
        long next = 0;
        while (audit.Fault is null)
        {
            var page = await db.LedgerEntries.AsNoTracking().Where(e => e.Index >= next).OrderBy(e => e.Index).Take(PageSize).ToListAsync(ct);
            foreach (var entry in page)
            {
                if (!audit.Add(System.Text.Encoding.UTF8.GetBytes(entry.Hash), LedgerHash.Canonical(entry))) break;
            }
            if (progress is not null && audit.Fault is null) await progress(audit.Verified);
            if (page.Count < PageSize) break;
            next = page[^1].Index + 1;
        }
        if (audit.Fault is { } fault) return Invalid(audit, fault);

        var count = audit.Verified;
        var head = await db.LedgerHeads.AsNoTracking().SingleAsync(ct);
        if (head.NextIndex > count)
            audit.Fail(LedgerFaults.Missing, count, $"the ledger head records {head.NextIndex} entries but the chain ends after {count}: entries are missing at the end");
        else if (head.NextIndex < count)
            audit.Fail(LedgerFaults.Inserted, head.NextIndex, $"the ledger head records {head.NextIndex} entries but {count} are stored: entries were added after the last one written");
        else if (head.LastHash != audit.LastHash)
            audit.Fail(LedgerFaults.Altered, count - 1, $"the ledger head's hash does not match entry {count - 1}");
        else if (count > 0 && !MerkleFrontier.Root(MerkleFrontier.Deserialize(head.Frontier)).AsSpan().SequenceEqual(audit.Root))
            audit.Fail(LedgerFaults.InconsistentCheckpoint, count - 1, "the stored Merkle tree's root does not match the entries");
        foreach (var checkpoint in checkpoints)
        {
            if (audit.Fault is not null) break;
            if (!audit.Roots.TryGetValue(checkpoint.Size, out var root) || !root.AsSpan().SequenceEqual(checkpoint.RootHash))
                audit.Fail(LedgerFaults.InconsistentCheckpoint, checkpoint.Size - 1,
                    $"the checkpoint of size {checkpoint.Size} does not match the root of the first {checkpoint.Size} entries");
            else if (verifierKey is not null && (SignedNote.Open(checkpoint.Note, verifierKey, out _) is not { } text
                         || CheckpointBody.Parse(text) is not { } body || body.Size != checkpoint.Size || !body.RootHash.AsSpan().SequenceEqual(checkpoint.RootHash)))
                audit.Fail(LedgerFaults.BadSignature, checkpoint.Size - 1, $"the checkpoint of size {checkpoint.Size} is not signed by this hub's key");
        }
        return audit.Fault is { } found ? Invalid(audit, found) : new(true, count);
    }

    /// <summary>A read-only snapshot of the whole database for the context's next queries (also the bulk export's).</summary>
    public static async Task<IAsyncDisposable> SnapshotAsync(ConsentDb db, CancellationToken ct)
    {
        if (db.Provider == DatabaseProvider.Postgres)
            return await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        // SQLite in WAL mode: a deferred transaction reads one snapshot and takes no write lock.
        await db.Database.OpenConnectionAsync(ct);
        var transaction = ((Microsoft.Data.Sqlite.SqliteConnection)db.Database.GetDbConnection()).BeginTransaction(deferred: true);
        await db.Database.UseTransactionAsync(transaction, ct);
        return new SqliteSnapshot(db, transaction);
    }

    /// <summary>Ends a read snapshot EF does not own: detach it, roll it back, give the connection back.</summary>
    sealed class SqliteSnapshot(ConsentDb db, System.Data.Common.DbTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await db.Database.UseTransactionAsync(null);
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await db.Database.CloseConnectionAsync();
        }
    }

    static LedgerVerification Invalid(LedgerAudit audit, LedgerFault fault) => new(false, audit.Verified, fault.Index, fault.Reason, fault.Kind);
}
