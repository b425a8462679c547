using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

/// <summary>
/// Builds the Merkle tree of a ledger written before the tree existed: once, at start, under the ledger lock, from
/// the entries in index order. A ledger that already has its tree is left alone.
/// </summary>
public static class LedgerTreeBackfill
{
    const int PageSize = 5_000;

    public static async Task RunAsync(ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        var head = await db.LedgerHeads.AsNoTracking().SingleAsync(ct);
        if (head.NextIndex == 0 || head.Frontier is not null) return;
        await using var transaction = await ledger.BeginAsync(ct);
        var locked = ledger.Head;
        if (locked.Frontier is not null) return; // another instance did it first
        var frontier = new List<byte[]>();
        long next = 0;
        while (true)
        {
            var page = await db.LedgerEntries.AsNoTracking().Where(e => e.Index >= next).OrderBy(e => e.Index).Take(PageSize).ToListAsync(ct);
            foreach (var entry in page)
            {
                if (entry.Index != next) throw new InvalidOperationException($"Ledger entry {next} is missing; the tree cannot be built. Run `ledger verify`.");
                var grown = MerkleFrontier.Append(frontier, next, LedgerHash.LeafOf(entry));
                frontier = grown.Frontier;
                db.LedgerTreeNodes.AddRange(grown.Nodes.Select(n => new LedgerTreeNode { Level = n.Level, Index = n.Index, Hash = n.Hash }));
                next++;
            }
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
            db.LedgerHeads.Attach(locked);
            if (page.Count < PageSize) break;
        }
        if (next != locked.NextIndex) throw new InvalidOperationException($"The ledger head records {locked.NextIndex} entries but {next} are stored; run `ledger verify`.");
        locked.Frontier = MerkleFrontier.Serialize(frontier);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }
}
