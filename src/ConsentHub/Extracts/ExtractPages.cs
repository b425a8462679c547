using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Extracts;

/// <summary>
/// The DPO's web access to extracts: the newest completed runs of the organisations the DPO covers, on the landing page, and
/// their download under the DPO's browser session. Another organisation's run is answered 404, as one that does not exist.
/// </summary>
public static class ExtractPages
{
    public const int Shown = 20;

    public static string Path(ExtractRun run) => $"/dpo/extracts/{Uri.EscapeDataString(run.Nmsc)}/{run.Id}";

    public static IEndpointRouteBuilder MapExtractPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/dpo/extracts/{nmsc}/{id}", DownloadAsync).RequireAuthorization(BulkSetup.DpoPolicy).ExcludeFromDescription();
        return app;
    }

    public static async Task<IReadOnlyList<DpoFileLink>> LinksAsync(ConsentDb db, IReadOnlyList<string> organisations, CancellationToken ct)
    {
        if (organisations.Count == 0) return [];
        var runs = await db.ExtractRuns.AsNoTracking()
            .Where(r => organisations.Contains(r.Nmsc) && r.State == ExtractRunStates.Completed)
            .OrderByDescending(r => r.LedgerIndex).Take(Shown).ToListAsync(ct);
        return [.. runs.Select(r =>
        {
            var spec = ExtractSpec.FromJson(r.Spec);
            var personal = spec.IncludePersonalData ? ", with personal data" : "";
            return new DpoFileLink(Path(r), ExtractApi.FileName(r, spec),
                $"{r.Rows} rows, {spec.Kind}, {spec.Format.ToUpperInvariant()}{personal}, issued {HubTime.Format(r.CompletedAt)}");
        })];
    }

    static async Task<IResult> DownloadAsync(string nmsc, string id, HttpContext http, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        nmsc = Tenancy.Names.Normalise(nmsc);
        var dpo = DpoIdentity.From(http.User);
        var organisations = await DpoAccess.OrganisationsAsync(db, dpo, ct);
        var run = organisations.Any(o => o.Nmsc == nmsc) && Guid.TryParse(id, out var runId)
            ? await db.ExtractRuns.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId && r.Nmsc == nmsc, ct)
            : null;
        if (run is null) return Problems.NotFound($"No extract '{id}' of organisation '{nmsc}'.");
        return await ExtractApi.SendAsync(http, db, ledger, run, $"dpo:{dpo.Username}", ct);
    }
}

/// <summary>The DPO landing page's list of the newest extracts of the DPO's organisations.</summary>
sealed class ExtractSection : IDpoLandingSection
{
    public int Order => 20;

    public async Task<string> HtmlAsync(ConsentDb db, IReadOnlyList<string> organisations, CancellationToken ct) =>
        DpoHtml.Files("extracts", "Extracts", "No extract has been issued for your organisations yet.", await ExtractPages.LinksAsync(db, organisations, ct));
}
