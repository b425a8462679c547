using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

public sealed record LedgerVerification(bool Valid, long Entries, long? FirstBadIndex = null, string? Reason = null);

/// <summary>Recomputes the whole chain from the genesis hash and names the first index that does not verify.</summary>
public static class LedgerVerifier
{
    const int PageSize = 5_000;

    public static async Task<LedgerVerification> VerifyAsync(ConsentDb db, CancellationToken ct)
    {
        long expected = 0;
        var previous = LedgerHash.Genesis;
        while (true)
        {
            var page = await db.LedgerEntries.AsNoTracking()
                .Where(e => e.Index >= expected)
                .OrderBy(e => e.Index)
                .Take(PageSize)
                .ToListAsync(ct);
            foreach (var entry in page)
            {
                if (entry.Index != expected)
                    return new(false, expected, expected, $"entry {expected} is missing: the next stored entry is {entry.Index}");
                if (entry.PrevHash != previous)
                    return new(false, expected, expected, $"prevHash of entry {expected} does not match the hash of entry {expected - 1}");
                if (LedgerHash.Of(entry) != entry.Hash)
                    return new(false, expected, expected, $"entry {expected} was altered: its content does not match its hash");
                previous = entry.Hash;
                expected++;
            }
            if (page.Count < PageSize) break;
        }

        var head = await db.LedgerHeads.AsNoTracking().SingleAsync(ct);
        if (head.NextIndex != expected)
            return new(false, expected, expected, $"the ledger head records {head.NextIndex} entries but the chain ends after {expected}: entries are missing at the end");
        if (head.LastHash != previous)
            return new(false, expected, expected - 1, $"the ledger head's hash does not match entry {expected - 1}");
        return new(true, expected);
    }
}
