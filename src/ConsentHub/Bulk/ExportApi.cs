using System.Globalization;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;

namespace ConsentHub.Bulk;

/// <summary>
/// <c>GET /exports/{context}/{nmsc}</c>: the bulk export file, for a DPO's browser session. An organisation or context
/// the DPO may not export is answered 404, the same as one that does not exist, so the route reveals nothing.
/// </summary>
public static class ExportApi
{
    public static IEndpointRouteBuilder MapExports(this IEndpointRouteBuilder app)
    {
        // For browsers with a DPO session, not for API clients: left out of the OpenAPI document, whose security is OAuth2.
        app.MapGet("/exports/{context}/{nmsc}", ExportAsync)
            .RequireAuthorization(BulkSetup.DpoPolicy)
            .ExcludeFromDescription();
        return app;
    }

    static async Task<IResult> ExportAsync(
        string context, string nmsc, HttpContext http, ConsentDb db, ExportWriter writer, LedgerWriter ledger, TimeProvider time,
        ILogger<ExportWriter> logger, CancellationToken ct)
    {
        context = Names.Normalise(context);
        nmsc = Names.Normalise(nmsc);
        var dpo = DpoIdentity.From(http.User);
        if (!Names.IsTenantName(context) || !Names.IsTenantName(nmsc) || !await DpoAccess.MayExportAsync(db, dpo, context, nmsc, ct))
            return Problems.NotFound($"No export of organisation '{nmsc}' in context '{context}' for this DPO.");

        var startedAt = time.Now();
        var fileName = $"consenthub-export-{context}-{nmsc}-{startedAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.json";
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";

        var progress = new ExportProgress();
        var completed = false;
        try
        {
            await writer.WriteAsync(response.Body, context, nmsc, progress, ct);
            completed = true;
        }
        finally
        {
            // Recorded even when the download was cut off: whatever was sent has left the hub.
            await RecordAsync(ledger, db, dpo, context, nmsc, progress.Records, completed, startedAt);
            logger.LogInformation("DPO {Username} exported {Records} records of {Nmsc}/{Context} (complete: {Completed})",
                dpo.Username, progress.Records, nmsc, context, completed);
        }
        return Results.Empty;
    }

    static async Task RecordAsync(LedgerWriter ledger, ConsentDb db, DpoIdentity dpo, string context, string nmsc, int records, bool completed, DateTime startedAt)
    {
        // Not the request's token: an aborted download must still be recorded.
        var ct = CancellationToken.None;
        db.ChangeTracker.Clear();
        await using var transaction = await ledger.BeginAsync(ct);
        ledger.Append(LedgerEvents.ExportDownloaded, new
        {
            username = dpo.Username, role = dpo.Role, context, nmsc, records, completed, startedAt = HubTime.Format(startedAt),
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }
}
