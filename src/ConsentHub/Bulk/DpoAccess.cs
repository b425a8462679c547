using ConsentHub.Auth;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>A file the DPO's landing page links (a suppression file, an extract), downloaded under the DPO's session.</summary>
public sealed record DpoFileLink(string Href, string Label, string Hint);

public sealed record ExportableOrganisation(string Context, string Nmsc, string? Name)
{
    public string Path => $"/exports/{Uri.EscapeDataString(Context)}/{Uri.EscapeDataString(Nmsc)}";
}

/// <summary>
/// Which organisations' exports a DPO may download (seed 004 §3.6.1). An organisation DPO: their own organisation, in the
/// context of their role. A head-office DPO: every organisation that has the context of their role, that is at least
/// one source system registered in it (the hub keeps no other link between organisations and contexts).
/// The landing page and the export ask the same question, so a link is shown exactly when it works.
/// </summary>
public static class DpoAccess
{
    public static async Task<IReadOnlyList<ExportableOrganisation>> OrganisationsAsync(ConsentDb db, DpoIdentity dpo, CancellationToken ct)
    {
        var rows = await Query(db, dpo, nmsc: null).OrderBy(o => o.Nmsc).Select(o => new { o.Nmsc, o.Name }).ToListAsync(ct);
        return rows.Select(o => new ExportableOrganisation(dpo.Context, o.Nmsc, o.Name)).ToList();
    }

    public static Task<bool> MayExportAsync(ConsentDb db, DpoIdentity dpo, string context, string nmsc, CancellationToken ct) =>
        context != dpo.Context ? Task.FromResult(false) : Query(db, dpo, nmsc).AnyAsync(ct);

    static IQueryable<Tenancy.Organisation> Query(ConsentDb db, DpoIdentity dpo, string? nmsc)
    {
        var organisations = db.Organisations.AsNoTracking();
        if (nmsc is not null) organisations = organisations.Where(o => o.Nmsc == nmsc);
        return dpo.Role switch
        {
            Roles.Dpo => organisations.Where(o => o.Nmsc == dpo.Nmsc),
            Roles.HeadOfficeDpo => organisations.Where(o => db.SourceSystems.Any(s => s.Nmsc == o.Nmsc && s.Context == dpo.Context)),
            _ => organisations.Where(_ => false),
        };
    }
}
