using ConsentHub.Data;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Propagation;

/// <summary>
/// The PROPAGATED messages waiting for one destination: due for an attempt (pending), parked once the retry schedule ran
/// out, and when the oldest of each was written.
/// </summary>
public sealed record WaitingMessages(
    long SourceSystemId, string Nmsc, string Context, string SourceSystem, int Pending, int Parked, DateTime? OldestPending, DateTime? OldestParked)
{
    /// <summary>When the oldest waiting message of either state was written; null when none waits.</summary>
    public DateTime? Oldest => OldestPending is { } pending && OldestParked is { } parked ? (pending < parked ? pending : parked) : OldestPending ?? OldestParked;

    /// <summary>
    /// What waits for each destination of <paramref name="systems"/> (every system with a destination among them, also
    /// those with nothing waiting): the console's operations page asks for the operator's systems, the gauges for all.
    /// </summary>
    public static async Task<List<WaitingMessages>> ReadAsync(ConsentDb db, IQueryable<SourceSystem> systems, CancellationToken ct)
    {
        var destinations = await systems.AsNoTracking()
            .Join(db.Destinations, s => s.Id, d => d.SourceSystemId, (s, d) => new { s.Id, s.Nmsc, s.Context, s.Name })
            .ToListAsync(ct);
        var ids = destinations.Select(s => s.Id).ToList();
        var waiting = await db.Propagations.AsNoTracking()
            .Where(p => ids.Contains(p.SourceSystemId) && (p.State == PropagationStates.Pending || p.State == PropagationStates.Parked))
            .GroupBy(p => new { p.SourceSystemId, p.State })
            .Select(g => new { g.Key.SourceSystemId, g.Key.State, Count = g.Count(), Oldest = g.Min(p => p.CreatedAt) })
            .ToListAsync(ct);
        return [.. destinations.Select(s =>
        {
            var pending = waiting.SingleOrDefault(w => w.SourceSystemId == s.Id && w.State == PropagationStates.Pending);
            var parked = waiting.SingleOrDefault(w => w.SourceSystemId == s.Id && w.State == PropagationStates.Parked);
            return new WaitingMessages(s.Id, s.Nmsc, s.Context, s.Name, pending?.Count ?? 0, parked?.Count ?? 0, pending?.Oldest, parked?.Oldest);
        })];
    }
}
