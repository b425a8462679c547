using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OperatorConsole;

/// <summary>The latest uploads of the operator's organisations, in the order they started.</summary>
public sealed record UploadRow(
    string Nmsc, string Context, string SourceSystem, string Status, bool Propagate, long Read, long Applied, long Rejected, long Skipped,
    DateTime StartedAt, DateTime UpdatedAt, DateTime? FinishedAt, string? FailureReason);

/// <summary>Emails of one kind waiting to be sent (and the due time of the oldest), and those that failed in the last 24 hours.</summary>
public sealed record MailQueue(string Kind, int Waiting, DateTime? OldestDue, int FailedDay);

/// <summary>One destination's messages waiting: due for an attempt, and parked after the retry schedule ran out.</summary>
public sealed record MessageQueue(string Name, int Pending, int Parked, DateTime? OldestParked);

/// <summary>
/// The console's operations page: the latest uploads with their progress (read, applied, rejected, skipped, and the
/// last heartbeat of a running one), the mail queue (validation and notification emails waiting, and failed), and
/// each destination's pending and parked messages, and the status of the extracts, suppression files, pollers, CDC
/// subscriptions and replicas; all for the operator's organisations, as of the moment the page
/// was drawn (reloading it shows an upload's progress; the page does not refresh itself).
/// </summary>
public static class OperationsPages
{
    public const string Path = ConsoleSetup.BasePath + "/operations";

    /// <summary>How many of the latest uploads the page lists.</summary>
    public const int UploadsShown = 20;

    public static IEndpointRouteBuilder MapOperationsPages(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, ShowAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        return app;
    }

    static async Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var who = Operator.From(http.User);
        var now = time.GetUtcNow().UtcDateTime;
        var dayAgo = now.AddHours(-24);

        var uploads = await who.Uploads(db).AsNoTracking().OrderByDescending(u => u.StartedAt).Take(UploadsShown)
            .Select(u => new UploadRow(u.Nmsc, u.Context, u.SourceSystem, u.Status, u.Propagate, u.Read, u.Applied, u.Rejected, u.Skipped,
                u.StartedAt, u.UpdatedAt, u.FinishedAt, u.FailureReason))
            .ToListAsync(ct);

        var validations = who.Validations(db).AsNoTracking();
        var notifications = who.Notifications(db).AsNoTracking();
        var mail = new List<MailQueue>
        {
            new("Validation emails",
                await validations.CountAsync(v => v.State == ValidationStates.Queued, ct),
                await validations.Where(v => v.State == ValidationStates.Queued).MinAsync(v => (DateTime?)v.DueAt, ct),
                await validations.CountAsync(v => v.State == ValidationStates.Failed && v.EndedAt >= dayAgo, ct)),
            new("Notification emails",
                await notifications.CountAsync(n => n.State == NotificationStates.Queued, ct),
                await notifications.Where(n => n.State == NotificationStates.Queued).MinAsync(n => (DateTime?)n.DueAt, ct),
                await notifications.CountAsync(n => n.State == NotificationStates.Failed && n.CreatedAt >= dayAgo, ct)),
        };

        var systems = await who.SourceSystems(db).AsNoTracking()
            .Join(db.Destinations, s => s.Id, d => d.SourceSystemId, (s, d) => new { s.Id, s.Nmsc, s.Context, s.Name })
            .ToListAsync(ct);
        var ids = systems.Select(s => s.Id).ToList();
        var waiting = await db.Propagations.AsNoTracking()
            .Where(p => ids.Contains(p.SourceSystemId) && (p.State == PropagationStates.Pending || p.State == PropagationStates.Parked))
            .GroupBy(p => new { p.SourceSystemId, p.State })
            .Select(g => new { g.Key.SourceSystemId, g.Key.State, Count = g.Count(), Oldest = g.Min(p => p.CreatedAt) })
            .ToListAsync(ct);
        var messages = systems
            .Select(s => new MessageQueue($"{s.Nmsc} / {s.Context} / {s.Name}",
                waiting.Where(w => w.SourceSystemId == s.Id && w.State == PropagationStates.Pending).Sum(w => w.Count),
                waiting.Where(w => w.SourceSystemId == s.Id && w.State == PropagationStates.Parked).Sum(w => w.Count),
                waiting.Where(w => w.SourceSystemId == s.Id && w.State == PropagationStates.Parked).Select(w => (DateTime?)w.Oldest).FirstOrDefault()))
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

        var features = await FeatureStatus.ReadAsync(who, db, ct);
        return new HtmlPage(StatusCodes.Status200OK,
            OperationsHtml.Page(ConsolePages.SignedIn(http, antiforgery, who), now, uploads, mail, messages, features), ConsoleHtml.ContentSecurityPolicy);
    }
}
