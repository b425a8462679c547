using ConsentHub.Ledger;
using ConsentHub.Data;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OperatorConsole;

/// <summary>A count for the period starting at <paramref name="Start"/> (an hour or a day, UTC).</summary>
public sealed record Bucket(DateTime Start, int Count);

/// <summary>Validations that ended confirmed or expired in a period.</summary>
public sealed record ValidationFigures(int Confirmed, int Expired);

/// <summary>
/// One destination's calls in a period, and what waits for it now: <paramref name="Waiting"/> messages, the oldest queued
/// at <paramref name="OldestWaiting"/> (how far the destination lags behind).
/// </summary>
public sealed record DestinationFigures(
    string Nmsc, string Context, string SourceSystem, bool Enabled, string? DisabledReason,
    int Delivered, int Failed, int Waiting, DateTime? OldestWaiting)
{
    public string Name => $"{Nmsc} / {Context} / {SourceSystem}";

    /// <summary>Failed calls of all calls in the period; null without any call.</summary>
    public double? FailureRate => Delivered + Failed == 0 ? null : (double)Failed / (Delivered + Failed);
}

/// <summary>What the console's overview shows, for the operator's organisations, as of <paramref name="Now"/>.</summary>
public sealed record Overview(
    DateTime Now,
    IReadOnlyList<Bucket> ChangesByHour, IReadOnlyList<Bucket> ChangesByDay,
    int ValidationsPending, ValidationFigures ValidationsDay, ValidationFigures ValidationsMonth,
    IReadOnlyList<DestinationFigures> DestinationsDay, IReadOnlyList<DestinationFigures> DestinationsMonth);

/// <summary>
/// The overview's figures, read from the database (so every instance shows the same, and a restart loses nothing):
/// changes applied per hour over the last 24 hours and per day over the last 30 days and validations confirmed or
/// expired in each period (counted per hour by <see cref="ActivityRollup"/>), validations pending now, and each
/// destination's delivered and failed calls in each period with its backlog. Every query starts from the operator's
/// organisations (<see cref="Operator"/>).
/// </summary>
public static class ActivityOverview
{
    public const int Hours = 24;
    public const int Days = 30;

    public static async Task<Overview> ReadAsync(ConsentDb db, Operator who, DateTime now, CancellationToken ct)
    {
        var thisHour = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        var dayFrom = thisHour.AddHours(1 - Hours);
        var monthFrom = now.Date.AddDays(1 - Days);

        // Counted per hour from the ledger by ActivityRollup: a month is at most 720 rows per organisation's context.
        var counts = await who.Activity(db).AsNoTracking()
            .Where(h => h.Hour >= monthFrom)
            .GroupBy(h => new { h.Kind, h.Hour })
            .Select(g => new { g.Key.Kind, g.Key.Hour, Count = g.Sum(h => h.Count) })
            .ToListAsync(ct);
        // DateTime compares ticks only, so the provider's kind (UTC or unspecified) does not matter to the lookups.
        var changes = counts.Where(c => c.Kind == LedgerEvents.ChangeApplied).ToList();
        var perHour = changes.ToDictionary(h => h.Hour, h => (int)h.Count);
        var byHour = Enumerable.Range(0, Hours).Select(i => dayFrom.AddHours(i))
            .Select(start => new Bucket(start, perHour.GetValueOrDefault(start))).ToList();
        var byDay = Enumerable.Range(0, Days).Select(i => monthFrom.AddDays(i))
            .Select(start => new Bucket(start, changes.Where(h => h.Hour.Date == start.Date).Sum(h => (int)h.Count))).ToList();
        ValidationFigures Ended(DateTime from) => new(
            (int)counts.Where(c => c.Kind == LedgerEvents.ValidationConfirmed && c.Hour >= from).Sum(c => c.Count),
            (int)counts.Where(c => c.Kind == LedgerEvents.ValidationExpired && c.Hour >= from).Sum(c => c.Count));

        string[] waiting = [ValidationStates.Queued, ValidationStates.Sent, ValidationStates.Reminded];
        var pending = await who.Validations(db).CountAsync(v => waiting.Contains(v.State), ct);
        var validationsDay = Ended(dayFrom);
        var validationsMonth = Ended(monthFrom);

        var destinations = await who.SourceSystems(db).AsNoTracking()
            .Join(db.Destinations, s => s.Id, d => d.SourceSystemId,
                (s, d) => new { s.Id, s.Nmsc, s.Context, s.Name, d.Enabled, d.DisabledReason })
            .ToListAsync(ct);
        var ids = destinations.Select(d => d.Id).ToList();
        var backlog = await db.Propagations.AsNoTracking()
            .Where(p => ids.Contains(p.SourceSystemId) && (p.State == PropagationStates.Pending || p.State == PropagationStates.Parked))
            .GroupBy(p => p.SourceSystemId)
            .Select(g => new { SourceSystemId = g.Key, Count = g.Count(), Oldest = g.Min(p => p.CreatedAt) })
            .ToDictionaryAsync(b => b.SourceSystemId, ct);

        async Task<List<DestinationFigures>> CallsAsync(DateTime from)
        {
            var calls = await db.DeliveryAttempts.AsNoTracking()
                .Where(a => ids.Contains(a.SourceSystemId) && a.AttemptedAt >= from)
                .GroupBy(a => new { a.SourceSystemId, Delivered = a.Outcome == AttemptOutcomes.Delivered })
                .Select(g => new { g.Key.SourceSystemId, g.Key.Delivered, Count = g.Count() })
                .ToListAsync(ct);
            return destinations
                .Select(d => new DestinationFigures(d.Nmsc, d.Context, d.Name, d.Enabled, d.DisabledReason,
                    calls.Where(c => c.SourceSystemId == d.Id && c.Delivered).Sum(c => c.Count),
                    calls.Where(c => c.SourceSystemId == d.Id && !c.Delivered).Sum(c => c.Count),
                    backlog.GetValueOrDefault(d.Id)?.Count ?? 0,
                    backlog.GetValueOrDefault(d.Id)?.Oldest))
                .OrderBy(d => d.Nmsc, StringComparer.Ordinal).ThenBy(d => d.Context, StringComparer.Ordinal)
                .ThenBy(d => d.SourceSystem, StringComparer.Ordinal)
                .ToList();
        }

        return new Overview(now, byHour, byDay, pending, validationsDay, validationsMonth, await CallsAsync(dayFrom), await CallsAsync(monthFrom));
    }
}
