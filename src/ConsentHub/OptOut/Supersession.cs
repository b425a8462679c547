using ConsentHub.Consents;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>
/// A validated opt-in made after an opt-out is the person's newer choice: the suppression entries it outdates are marked
/// superseded (never deleted, so the list keeps the opt-out's history). The opt-out feature's step in the write
/// pipeline, inside the transaction that applies the change.
/// </summary>
public sealed class Supersession(ConsentDb db) : IChangeReaction
{
    public int Order => 20;

    /// <summary>
    /// Marks superseded the organisation's in-force entries for each record's email or phone that are older than its
    /// change's command timestamp (or, without one, its latest requested timestamp), for each change that sets anything
    /// true. One query for the whole batch; the entries are saved with the change.
    /// </summary>
    public async Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct)
    {
        var chosen = new List<(string Nmsc, string Key, DateTime ChosenAt)>();
        foreach (var change in changes)
        {
            var requested = change.Change.Consents.Where(c => c.Flag).Select(c => c.RequestedAt)
                .Concat(change.Change.Channels.Where(c => c.Flag).Select(c => c.RequestedAt)).ToList();
            if (requested.Count == 0) continue;
            var chosenAt = change.Change.CommandTimestamp ?? requested.Max();
            foreach (var key in new[] { change.Customer.EmailKey, change.Customer.PhoneKey }.OfType<string>())
                chosen.Add((change.Customer.Nmsc, key, chosenAt));
        }
        foreach (var organisation in chosen.GroupBy(c => c.Nmsc))
        {
            var nmsc = organisation.Key;
            var latest = organisation.GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Max(c => c.ChosenAt), StringComparer.Ordinal);
            var keys = latest.Keys.ToList();
            var inForce = await db.SuppressionEntries
                .Where(e => e.Nmsc == nmsc && e.SupersededAt == null && e.BlindKey != null && keys.Contains(e.BlindKey)).ToListAsync(ct);
            foreach (var entry in inForce.Where(e => e.OptedOutAt < latest[e.BlindKey!])) entry.SupersededAt = changes[0].At;
        }
    }
}
