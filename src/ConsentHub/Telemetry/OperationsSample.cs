using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Telemetry;

/// <summary>One destination's outstanding messages: due for an attempt, parked, and when the oldest of them was written.</summary>
public sealed record OutboxFigures(string Nmsc, string Destination, int Pending, int Parked, DateTime? Oldest);

/// <summary>The running uploads of one source system, added up: records read so far and what became of them.</summary>
public sealed record UploadFigures(string Nmsc, string Source, int Running, long Read, long Applied, long Rejected, long Skipped);

/// <summary>
/// What the whole database holds for the gauges operators alert on (issue 21 §3), read in one go by
/// <see cref="OperationsGauges"/>: the same for every instance on the database. Destinations are named as in
/// <see cref="DeliveryMeters"/> (organisation, and context/system); nothing about a person.
/// </summary>
public sealed record OperationsSample(
    DateTime TakenAt, IReadOnlyList<OutboxFigures> Outbox, IReadOnlyList<MailQueue> Mail, long LedgerEntries, DateTime? LatestCheckpointAt,
    IReadOnlyList<UploadFigures> Uploads)
{
    /// <summary>The outbox and the mail queue are read as the console's operations page reads them, for every organisation.</summary>
    public static async Task<OperationsSample> TakeAsync(ConsentDb db, DateTime now, CancellationToken ct)
    {
        var outbox = (await WaitingMessages.ReadAsync(db, db.SourceSystems, ct))
            .Select(w => new OutboxFigures(w.Nmsc, $"{w.Context}/{w.SourceSystem}", w.Pending, w.Parked, w.Oldest)).ToList();
        // Failed in the 24 hours before the sample.
        var mail = await MailQueue.ReadAsync(db.Validations.AsNoTracking(), db.Notifications.AsNoTracking(), now.AddHours(-24), ct);

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
