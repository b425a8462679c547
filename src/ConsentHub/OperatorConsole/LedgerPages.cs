using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// The ledger as the admin sees it in the console: its size, the latest signed checkpoint, the checkpoints over time, the
/// key that signs them, a verification of the whole chain on demand (with its progress) and a download of its entries. The ledger API is
/// the admin's alone; so is this page (a DPO is told so). "Verify now" and the download call the API's own handlers.
/// </summary>
public static class LedgerPages
{
    public const string Path = ConsoleSetup.BasePath + "/ledger";
    public const string VerifyPath = Path + "/verify";
    public const string ExportPath = Path + "/export";

    /// <summary>How many of the latest checkpoints the page lists.</summary>
    public const int CheckpointsShown = 30;

    public static IEndpointRouteBuilder MapLedgerPages(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, ShowAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        app.MapPost(VerifyPath, VerifyAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapGet(ExportPath, ExportAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        return app;
    }

    static Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, CheckpointKey key, CancellationToken ct) =>
        PageAsync(http, antiforgery, db, key, StatusCodes.Status200OK, verification: null, error: null, ct);

    /// <summary>
    /// "Verify now": GET /ledger/verify's handler, the whole chain and its checkpoints recomputed. The page is streamed:
    /// its top, then a line of progress after each page of entries (at most every <see cref="ConsoleOptions.VerifyProgressMilliseconds"/>), then the outcome and the
    /// rest of the page, so a long verification shows how far it is without any script.
    /// </summary>
    static async Task<IResult> VerifyAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, CheckpointKey key, TimeProvider time, IOptions<ConsoleOptions> options, CancellationToken ct)
    {
        if (Refused(http) is { } refused) return refused;
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return await PageAsync(http, antiforgery, db, key, StatusCodes.Status400BadRequest, null,
                "Nothing was verified: the form had expired or was not sent from this page. Please try again.", ct);
        var who = Operator.From(http.User);
        var size = await db.LedgerHeads.AsNoTracking().Select(h => h.NextIndex).SingleAsync(ct);
        var checkpoints = await db.LedgerCheckpoints.AsNoTracking().OrderByDescending(c => c.Size).Take(CheckpointsShown).ToListAsync(ct);
        var page = LedgerHtml.Page(ConsolePages.SignedIn(http, antiforgery, who), size, checkpoints, key.VerifierKey, null, null);
        var slot = page.IndexOf(LedgerHtml.VerificationSlot, StringComparison.Ordinal);

        var response = http.Response;
        HtmlPage.Start(response, StatusCodes.Status200OK, ConsoleHtml.ContentSecurityPolicy);
        await response.WriteAsync(page[..slot] + LedgerHtml.ProgressStart(size), ct);
        await response.Body.FlushAsync(ct);
        var every = TimeSpan.FromMilliseconds(options.Value.VerifyProgressMilliseconds);
        var shown = time.GetTimestamp();
        var result = await LedgerApi.VerifyAsync(db, key, async verified =>
        {
            if (time.GetElapsedTime(shown) < every) return;
            shown = time.GetTimestamp();
            await response.WriteAsync(LedgerHtml.Progress(verified, size), ct);
            await response.Body.FlushAsync(ct);
        }, ct);
        var verification = result is Ok<LedgerVerificationView> { Value: { } view } ? view
            : throw new InvalidOperationException($"The ledger API answered the console with {result.GetType().Name}.");
        await response.WriteAsync(LedgerHtml.Progress(verification.Entries, size) + LedgerHtml.ProgressEnd + LedgerHtml.Outcome(verification)
            + page[(slot + LedgerHtml.VerificationSlot.Length)..], ct);
        return Results.Empty;
    }

    /// <summary>The download: GET /ledger/export's handler (its first 10,000 entries from ?from=), as a file.</summary>
    static async Task<IResult> ExportAsync(string? from, HttpContext http, ConsentDb db, CancellationToken ct)
    {
        if (Refused(http) is { } refused) return refused;
        var result = await LedgerApi.Export(from, null, db, ct);
        if (result is IStatusCodeHttpResult { StatusCode: >= 400 }) return result;
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"ledger-from-{(long.TryParse(from, out var start) ? start : 0)}.txt\"";
        return result;
    }

    /// <summary>The page for anyone but the admin: the ledger API answers them 403, and so does the console.</summary>
    static HtmlPage? Refused(HttpContext http)
    {
        var who = Operator.From(http.User);
        return who.Role == Roles.Admin ? null
            : new HtmlPage(StatusCodes.Status403Forbidden, LedgerHtml.Refused(ConsolePages.SignedIn(http, http.RequestServices.GetRequiredService<IAntiforgery>(), who)),
                ConsoleHtml.ContentSecurityPolicy);
    }

    static async Task<IResult> PageAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, CheckpointKey key, int status, LedgerVerificationView? verification, string? error,
        CancellationToken ct)
    {
        if (Refused(http) is { } refused) return refused;
        var who = Operator.From(http.User);
        var size = await db.LedgerHeads.AsNoTracking().Select(h => h.NextIndex).SingleAsync(ct);
        var checkpoints = await db.LedgerCheckpoints.AsNoTracking().OrderByDescending(c => c.Size).Take(CheckpointsShown).ToListAsync(ct);
        return new HtmlPage(status, LedgerHtml.Page(ConsolePages.SignedIn(http, antiforgery, who), size, checkpoints, key.VerifierKey, verification, error),
            ConsoleHtml.ContentSecurityPolicy);
    }
}
