using ConsentHub.Bulk;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>
/// The DPO's web access to suppression files: the newest files of the organisations the DPO covers on the landing page, and
/// their download under the DPO's browser session (the bearer-token route is for API clients).
/// </summary>
public static class SuppressionFilePages
{
    public const int Shown = 20;

    public static string Path(SuppressionFile file) => $"/dpo/suppression-files/{Uri.EscapeDataString(file.Nmsc)}/{file.Id}";

    public static IEndpointRouteBuilder MapSuppressionFilePages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/dpo/suppression-files/{nmsc}/{id}", DownloadAsync).RequireAuthorization(BulkSetup.DpoPolicy).ExcludeFromDescription();
        return app;
    }

    public static async Task<IReadOnlyList<DpoFileLink>> LinksAsync(ConsentDb db, IReadOnlyList<string> organisations, CancellationToken ct)
    {
        if (organisations.Count == 0) return [];
        var files = await db.SuppressionFiles.AsNoTracking()
            .Where(f => organisations.Contains(f.Nmsc) && f.LedgerIndex != null)
            .OrderByDescending(f => f.LedgerIndex).Take(Shown).ToListAsync(ct);
        return [.. files.Select(f => new DpoFileLink(Path(f), SuppressionFileApi.FileName(f),
            $"{f.Lines} lines, {f.Format.ToUpperInvariant()}{(f.Hashed ? ", hashed" : "")}, issued {Hosting.HubTime.Format(f.CreatedAt)}"))];
    }

    static async Task<IResult> DownloadAsync(string nmsc, string id, HttpContext http, ConsentDb db, CancellationToken ct)
    {
        nmsc = Tenancy.Names.Normalise(nmsc);
        var dpo = DpoIdentity.From(http.User);
        var organisations = await DpoAccess.OrganisationsAsync(db, dpo, ct);
        if (!organisations.Any(o => o.Nmsc == nmsc)) return Hosting.Problems.NotFound($"No suppression file '{id}' of organisation '{nmsc}'.");
        return await SuppressionFileApi.SendAsync(http, db, nmsc, id, ct);
    }
}

/// <summary>The DPO landing page's list of the newest suppression files of the DPO's organisations.</summary>
sealed class SuppressionFileSection : IDpoLandingSection
{
    public int Order => 10;

    public async Task<string> HtmlAsync(ConsentDb db, IReadOnlyList<string> organisations, CancellationToken ct) =>
        DpoHtml.Files("suppression", "Suppression files", "No suppression file has been issued for your organisations yet.",
            await SuppressionFilePages.LinksAsync(db, organisations, ct));
}
