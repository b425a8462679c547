using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

/// <summary>The tree nodes as the database holds them, for roots and proofs.</summary>
public sealed class StoredMerkleNodes(ConsentDb db) : IMerkleNodes
{
    public async ValueTask<byte[]> NodeAsync(int level, long index, CancellationToken ct) =>
        await db.LedgerTreeNodes.AsNoTracking().Where(n => n.Level == level && n.Index == index).Select(n => n.Hash).SingleOrDefaultAsync(ct)
        ?? throw new InvalidOperationException($"Merkle node ({level}, {index}) is missing.");
}
