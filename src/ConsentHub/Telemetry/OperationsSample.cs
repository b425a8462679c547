using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Telemetry;

/// <summary>One destination's outstanding messages: due for an attempt, parked, and when the oldest of them was written.</summary>
public sealed record OutboxFigures(string Nmsc, string Destination, int Pending, int Parked, DateTime? Oldest);

/// <summary>Emails of one kind waiting to be sent, and those that failed in the 24 hours before the sample.</summary>
public sealed record MailFigures(string Kind, int Waiting, int FailedDay);

/// <summary>The running uploads of one source system, added up: records read so far and what became of them.</summary>
public sealed record UploadFigures(string Nmsc, string Source, int Running, long Read, long Applied, long Rejected, long Skipped);

/// <summary>
/// What the whole database holds for the gauges operators alert on (issue 21 §3), read in one go by
/// <see cref="OperationsGauges"/>: the same for every instance on the database. Destinations are named as in
/// <see cref="DeliveryMeters"/> (organisation, and context/system); nothing about a person.
/// </summary>
public sealed record OperationsSample(
    DateTime TakenAt, IReadOnlyList<OutboxFigures> Outbox, IReadOnlyList<MailFigures> Mail, long LedgerEntries, DateTime? LatestCheckpointAt,
    IReadOnlyList<UploadFigures> Uploads)
{
    /// <summary>The queries follow the operations page of the console (OperatorConsole/OperationsPages), for every organisation.</summary>
    public static async Task<OperationsSample> TakeAsync(ConsentDb db, DateTime now, CancellationToken ct)
    {
        var dayAgo = now.AddHours(-24);
        var destinations = await db.Destinations.AsNoTracking()
            .Join(db.SourceSystems, d => d.SourceSystemId, s => s.Id, (d, s) => new { s.Id, s.Nmsc, s.Context, s.Name })
            .ToListAsync(ct);
        var waiting = await db.Propagations.AsNoTracking()
            .Where(p => p.State == PropagationStates.Pending || p.State == PropagationStates.Parked)
            .GroupBy(p => new { p.SourceSystemId, p.State })
            .Select(g => new { g.Key.SourceSystemId, g.Key.State, Count = g.Count(), Oldest = g.Min(p => p.CreatedAt) })
            .ToListAsync(ct);
        var outbox = destinations.Select(d =>
        {
            var own = waiting.Where(w => w.SourceSystemId == d.Id).ToList();
            return new OutboxFigures(d.Nmsc, $"{d.Context}/{d.Name}",
                own.Where(w => w.State == PropagationStates.Pending).Sum(w => w.Count),
                own.Where(w => w.State == PropagationStates.Parked).Sum(w => w.Count),
                own.Count == 0 ? null : own.Min(w => w.Oldest));
        }).ToList();

        var validations = db.Validations.AsNoTracking();
        var notifications = db.Notifications.AsNoTracking();
        List<MailFigures> mail =
        [
            new("validation",
                await validations.CountAsync(v => v.State == ValidationStates.Queued, ct),
                await validations.CountAsync(v => v.State == ValidationStates.Failed && v.EndedAt >= dayAgo, ct)),
            new("notification",
                await notifications.CountAsync(n => n.State == NotificationStates.Queued, ct),
                await notifications.CountAsync(n => n.State == NotificationStates.Failed && n.CreatedAt >= dayAgo, ct)),
        ];

        // The head's next index is the ledger's size, without counting its rows.
        var entries = await db.LedgerHeads.AsNoTracking().Select(h => (long?)h.NextIndex).FirstOrDefaultAsync(ct) ?? 0;
        var checkpoint = await Checkpoints.LatestAsync(db, ct);

        var uploads = await db.Uploads.AsNoTracking().Where(u => u.Status == UploadStatuses.Running)
            .GroupBy(u => new { u.Nmsc, u.Context, u.SourceSystem })
            .Select(g => new
            {
                g.Key.Nmsc, g.Key.Context, g.Key.SourceSystem, Running = g.Count(),
                Read = g.Sum(u => u.Read), Applied = g.Sum(u => u.Applied), Rejected = g.Sum(u => u.Rejected), Skipped = g.Sum(u => u.Skipped),
            })
            .ToListAsync(ct);

        return new OperationsSample(now, outbox, mail, entries, checkpoint?.CreatedAt,
            [.. uploads.Select(u => new UploadFigures(u.Nmsc, $"{u.Context}/{u.SourceSystem}", u.Running, u.Read, u.Applied, u.Rejected, u.Skipped))]);
    }
}
