using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace ConsentHub.Ledger;

/// <summary>
/// Appends entries inside the caller's transaction. <see cref="BeginAsync"/> opens the transaction and locks
/// the ledger head first, so indices are gapless and strictly ordered even with several hub instances on one
/// PostgreSQL database (on SQLite, Microsoft.Data.Sqlite begins non-deferred transactions with BEGIN IMMEDIATE,
/// which takes the write lock at once).
/// </summary>
public sealed class LedgerWriter(ConsentDb db, TimeProvider time)
{
    static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    LedgerHead? head;
    List<byte[]>? frontier;

    /// <summary>The locked head row (after <see cref="LockHeadAsync"/>).</summary>
    public LedgerHead Head => head ?? throw new InvalidOperationException("Lock the ledger head first.");

    /// <summary>Opens the transaction and takes the ledger lock at once.</summary>
    public async Task<IDbContextTransaction> BeginAsync(CancellationToken ct)
    {
        var transaction = await BeginUnlockedAsync(ct);
        await LockHeadAsync(ct);
        return transaction;
    }

    /// <summary>
    /// Opens the transaction without the ledger lock, for units of work that do their reads and row locks first
    /// and call <see cref="LockHeadAsync"/> just before appending, so that the lock every writer shares is held
    /// only for the last few statements.
    /// </summary>
    public async Task<IDbContextTransaction> BeginUnlockedAsync(CancellationToken ct)
    {
        head = null;
        frontier = null;
        return await db.Database.BeginTransactionAsync(ct);
    }

    /// <summary>The head row, locked for update on PostgreSQL (<see cref="RowLocks"/>; its tag is a comment on SQLite).</summary>
    static readonly ProviderQuery<Func<ConsentDb, CancellationToken, Task<LedgerHead>>> HeadForUpdate = new(() =>
        EF.CompileAsyncQuery((ConsentDb db, CancellationToken ct) =>
            db.LedgerHeads.AsNoTracking().TagWith(RowLocks.Tag).Single(h => h.Id == LedgerHead.SingletonId)));

    public async Task LockHeadAsync(CancellationToken ct)
    {
        var current = await HeadForUpdate.For(db)(db, ct);

        // A retried unit of work may still track the head read by an earlier attempt.
        foreach (var stale in db.Staged<LedgerHead>().ToList())
            db.Entry(stale).State = EntityState.Detached;
        db.LedgerHeads.Attach(current);
        head = current;
        frontier = null;
    }

    public LedgerEntry Append(string type, object payload)
    {
        if (head is null) throw new InvalidOperationException("Lock the ledger head (BeginAsync or LockHeadAsync) before appending.");
        var entry = new LedgerEntry
        {
            Index = head.NextIndex,
            Type = type,
            Timestamp = time.Now(),
            Payload = JsonSerializer.Serialize(payload, PayloadJson),
            PrevHash = head.LastHash,
            Hash = "",
        };
        var canonical = LedgerHash.Canonical(entry);
        entry.Hash = LedgerHash.Of(canonical);
        entry.LeafHash = Merkle.LeafHash(canonical);
        // The Merkle tree grows with the chain: the nodes this leaf completes, at most one per level.
        frontier ??= MerkleFrontier.Deserialize(head.Frontier);
        var grown = MerkleFrontier.Append(frontier, entry.Index, entry.LeafHash);
        frontier = grown.Frontier;
        foreach (var node in grown.Nodes)
            db.Insert(new LedgerTreeNode { Level = node.Level, Index = node.Index, Hash = node.Hash });
        head.Frontier = MerkleFrontier.Serialize(frontier);
        head.NextIndex++;
        head.LastHash = entry.Hash;
        db.Insert(entry);
        return entry;
    }
}
