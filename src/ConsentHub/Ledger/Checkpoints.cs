using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

/// <summary>Signs a checkpoint of the current tree when the ledger has grown since the last one.</summary>
public sealed class Checkpoints(ConsentDb db, LedgerWriter ledger, CheckpointKey key, TimeProvider time)
{
    /// <summary>Signs one if the ledger grew; returns the latest checkpoint (null while the ledger is empty).</summary>
    public async Task<LedgerCheckpoint?> IssueAsync(CancellationToken ct)
    {
        // Under the ledger lock: the size and root signed are exactly those of the log as committed, so no two
        // checkpoints can disagree; every one is a prefix of the next.
        await using var transaction = await ledger.BeginAsync(ct);
        var head = ledger.Head;
        var latest = await LatestAsync(db, ct);
        if (head.NextIndex == 0 || latest?.Size >= head.NextIndex) return latest;
        var body = new CheckpointBody(key.Origin, head.NextIndex, MerkleFrontier.Root(MerkleFrontier.Deserialize(head.Frontier)));
        var checkpoint = new LedgerCheckpoint { Size = body.Size, RootHash = body.RootHash, Note = key.Sign(body), CreatedAt = time.Now() };
        db.LedgerCheckpoints.Add(checkpoint);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return checkpoint;
    }

    public static Task<LedgerCheckpoint?> LatestAsync(ConsentDb db, CancellationToken ct) =>
        db.LedgerCheckpoints.AsNoTracking().OrderByDescending(c => c.Size).FirstOrDefaultAsync(ct);
}
