using System.Globalization;
using System.Text;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.EntityFrameworkCore;
using static ConsentHub.OperatorConsole.ConsoleHtml;

namespace ConsentHub.OperatorConsole;

/// <summary>An organisation as the tenancy page lists it, with how many of its source systems the operator sees.</summary>
public sealed record OrganisationRow(string Nmsc, string? Name, string MergePolicy, bool BuiltInMatching, int ValidationWindowHours, int SourceSystems);

/// <summary>A source system as the tenancy page lists it: its ids, its client, whether it is active, and its destination's host and state.</summary>
public sealed record SourceSystemRow(
    string Nmsc, string Context, string Name, string ClientId, DateTime CreatedAt, DateTime? DeactivatedAt, string? DestinationHost, bool? DestinationEnabled);

/// <summary>
/// The console's tenancy page, read only for now: the operator's organisations with their settings, and their source
/// systems with their OAuth client, state and destination (its host only: a webhook address may carry a token in its
/// path or query). Registering, deactivating and rotating stay with the administration API.
/// </summary>
public static class TenancyPages
{
    public const string Path = ConsoleSetup.BasePath + "/tenancy";

    public static IEndpointRouteBuilder MapTenancyPages(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, ShowAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        return app;
    }

    static async Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, CancellationToken ct)
    {
        var who = Operator.From(http.User);
        var systems = await who.SourceSystems(db).AsNoTracking()
            .GroupJoin(db.Destinations, s => s.Id, d => d.SourceSystemId, (s, d) => new { s, d })
            .SelectMany(x => x.d.DefaultIfEmpty(), (x, d) => new { x.s.Nmsc, x.s.Context, x.s.Name, x.s.ClientId, x.s.CreatedAt, x.s.DeactivatedAt, Uri = d == null ? null : d.Uri, Enabled = d == null ? (bool?)null : d.Enabled })
            .ToListAsync(ct);
        var rows = systems
            .Select(s => new SourceSystemRow(s.Nmsc, s.Context, s.Name, s.ClientId, s.CreatedAt, s.DeactivatedAt,
                s.Uri is null ? null : Uri.TryCreate(s.Uri, UriKind.Absolute, out var uri) ? uri.Authority : "(unreadable address)", s.Enabled))
            .OrderBy(s => s.Nmsc, StringComparer.Ordinal).ThenBy(s => s.Context, StringComparer.Ordinal).ThenBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
        var organisations = db.Organisations.AsNoTracking();
        // A DPO sees their organisation; a head-office DPO those with a source system in their context; the admin all.
        var seen = rows.Select(r => r.Nmsc).Distinct().ToList();
        organisations = who.Role switch
        {
            Roles.Admin => organisations,
            Roles.Dpo => organisations.Where(o => o.Nmsc == who.Nmsc),
            _ => organisations.Where(o => seen.Contains(o.Nmsc)),
        };
        var orgs = (await organisations.ToListAsync(ct))
            .Select(o => new OrganisationRow(o.Nmsc, o.Name, o.MergePolicy, o.BuiltInMatching, o.ValidationWindowHours, rows.Count(r => r.Nmsc == o.Nmsc)))
            .OrderBy(o => o.Nmsc, StringComparer.Ordinal).ToList();
        return new HtmlPage(StatusCodes.Status200OK, Page(ConsolePages.SignedIn(http, antiforgery, who), orgs, rows), ContentSecurityPolicy);
    }

    static string Page(SignedIn signedIn, IReadOnlyList<OrganisationRow> organisations, IReadOnlyList<SourceSystemRow> systems)
    {
        var body = new StringBuilder();
        body.Append("""
            <h1>Tenancy</h1>
            <p class="lead">The organisations you see and their source systems. Registering, deactivating and rotating credentials are done with the administration API for now.</p>
            <section aria-labelledby="organisations-heading">
            <h2 id="organisations-heading">Organisations</h2>

            """);
        if (organisations.Count == 0) body.Append("<p>No organisation is registered.</p>");
        else
        {
            body.Append("""<table id="organisations"><caption>Organisations and their settings</caption><thead><tr><th scope="col">Organisation</th><th scope="col">Name</th><th scope="col">Merge policy</th><th scope="col">Built-in matching</th><th scope="col">Validation window</th><th scope="col">Source systems</th></tr></thead><tbody>""");
            foreach (var o in organisations)
                body.Append($"""<tr><th scope="row">{E(o.Nmsc)}</th><td>{E(o.Name ?? "")}</td><td>{E(o.MergePolicy)}</td><td>{(o.BuiltInMatching ? "on" : "off")}</td><td>{o.ValidationWindowHours.ToString(CultureInfo.InvariantCulture)} h</td><td>{o.SourceSystems.ToString(CultureInfo.InvariantCulture)}</td></tr>""");
            body.Append("</tbody></table>");
        }
        body.Append("""
            </section>
            <section aria-labelledby="systems-heading">
            <h2 id="systems-heading">Source systems</h2>

            """);
        if (systems.Count == 0) body.Append("<p>No source system is registered.</p>");
        else
        {
            body.Append("""<table id="systems"><caption>Source systems, their OAuth client and their destination</caption><thead><tr><th scope="col">Source system</th><th scope="col">Client id</th><th scope="col">Registered (UTC)</th><th scope="col">State</th><th scope="col">Destination</th></tr></thead><tbody>""");
            foreach (var s in systems)
            {
                var state = s.DeactivatedAt is { } at ? $"deactivated {Minute(at)}" : "active";
                var destination = s.DestinationHost is null ? "none" : $"{s.DestinationHost}, {(s.DestinationEnabled == true ? "enabled" : "disabled")}";
                body.Append($"""<tr><th scope="row">{E($"{s.Nmsc} / {s.Context} / {s.Name}")}</th><td><code>{E(s.ClientId)}</code></td><td>{E(Minute(s.CreatedAt))}</td><td>{E(state)}</td><td>{E(destination)}</td></tr>""");
            }
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");
        return ConsoleHtml.Page("Tenancy", signedIn, body.ToString());
    }
}
