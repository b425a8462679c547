using ConsentHub.Consents;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>
/// A validated opt-in made after an opt-out is the person's newer choice: the suppression entries it outdates are marked
/// superseded (never deleted, so the list keeps the opt-out's history). Called by the consent core, inside the
/// transaction that applies the change.
/// </summary>
public static class Supersession
{
    /// <summary>
    /// Marks superseded the organisation's in-force entries for the record's email or phone that are older than the
    /// change's command timestamp (or, without one, its latest requested timestamp), when it sets anything true.
    /// </summary>
    public static async Task SupersedeAsync(ConsentDb db, Customer customer, NormalisedChange change, DateTime now, CancellationToken ct)
    {
        var chosen = change.Consents.Where(c => c.Flag).Select(c => c.RequestedAt)
            .Concat(change.Channels.Where(c => c.Flag).Select(c => c.RequestedAt)).ToList();
        if (chosen.Count == 0) return;
        string[] keys = [.. new[] { customer.EmailKey, customer.PhoneKey }.OfType<string>()];
        if (keys.Length == 0) return;
        var chosenAt = change.CommandTimestamp ?? chosen.Max();
        var nmsc = customer.Nmsc;
        await db.SuppressionEntries
            .Where(e => e.Nmsc == nmsc && e.SupersededAt == null && e.BlindKey != null && keys.Contains(e.BlindKey) && e.OptedOutAt < chosenAt)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.SupersededAt, now), ct);
    }
}
