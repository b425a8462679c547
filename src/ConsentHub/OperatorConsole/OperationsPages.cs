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

        var uploads = await who.Uploads(db).AsNoTracking().OrderByDescending(u => u.StartedAt).Take(UploadsShown)
            .Select(u => new UploadRow(u.Nmsc, u.Context, u.SourceSystem, u.Status, u.Propagate, u.Read, u.Applied, u.Rejected, u.Skipped,
                u.StartedAt, u.UpdatedAt, u.FinishedAt, u.FailureReason))
            .ToListAsync(ct);

        var mail = await MailQueue.ReadAsync(who.Validations(db).AsNoTracking(), who.Notifications(db).AsNoTracking(), now.AddHours(-24), ct);
        var messages = (await WaitingMessages.ReadAsync(db, who.SourceSystems(db), ct))
            .OrderBy(m => $"{m.Nmsc} / {m.Context} / {m.SourceSystem}", StringComparer.Ordinal).ToList();

        var features = await FeatureStatus.ReadAsync(who, db, ct);
        return new HtmlPage(StatusCodes.Status200OK,
            OperationsHtml.Page(ConsolePages.SignedIn(http, antiforgery, who), now, uploads, mail, messages, features), ConsoleHtml.ContentSecurityPolicy);
    }
}
