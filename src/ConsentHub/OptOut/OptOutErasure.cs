using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>
/// When a person is erased, the opt-outs that named their email or phone lose what is personal: the record's sealed
/// fields and key, and every sealed value of its suppression entries. The kind, the SHA-256 and the blind index stay,
/// so the opt-out keeps being honoured (suppression files, the industry pool, later matching). Called by the erasure,
/// inside its transaction.
/// </summary>
public static class OptOutErasure
{
    /// <returns>The opt-out records whose personal data was removed now.</returns>
    public static async Task<int> ForgetAsync(ConsentDb db, string nmsc, IEnumerable<string?> blindKeys, CancellationToken ct)
    {
        string[] keys = [.. blindKeys.OfType<string>().Distinct()];
        if (keys.Length == 0) return 0;
        var optOutIds = await db.SuppressionEntries.AsNoTracking()
            .Where(e => e.Nmsc == nmsc && e.BlindKey != null && keys.Contains(e.BlindKey))
            .Select(e => e.OptOutId).Distinct().ToListAsync(ct);
        if (optOutIds.Count == 0) return 0;
        await db.SuppressionEntries.Where(e => optOutIds.Contains(e.OptOutId) && e.SealedValue != null)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.SealedValue, (byte[]?)null), ct);
        return await db.OptOutRecords.Where(r => r.Nmsc == nmsc && optOutIds.Contains(r.Id) && (r.Sealed != null || r.ProtectedKey != null))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Sealed, (byte[]?)null).SetProperty(r => r.ProtectedKey, (string?)null), ct);
    }
}
