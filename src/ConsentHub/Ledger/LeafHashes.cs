using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

/// <summary>Leaf hashes as the API shows them (base64, like checkpoints and proofs).</summary>
public static class LeafHashes
{
    public static string? Format(byte[]? leafHash) => leafHash is null ? null : Convert.ToBase64String(leafHash);

    /// <summary>The leaf hashes of these ledger indices, read from the tree's level 0.</summary>
    public static async Task<Dictionary<long, string>> OfAsync(ConsentDb db, IEnumerable<long> indices, CancellationToken ct)
    {
        var wanted = indices.Distinct().ToList();
        return await db.LedgerTreeNodes.AsNoTracking().Where(n => n.Level == 0 && wanted.Contains(n.Index))
            .ToDictionaryAsync(n => n.Index, n => Convert.ToBase64String(n.Hash), ct);
    }
}
