using System.Security.Claims;
using ConsentHub.Admin;
using ConsentHub.Auth;
using ConsentHub.Clusters;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace ConsentHub.OperatorConsole;

/// <summary>An organisation as the tenancy page lists it, with how many of its source systems the operator sees and the categories it may use.</summary>
public sealed record OrganisationRow(
    string Nmsc, string? Name, string MergePolicy, bool BuiltInMatching, int ValidationWindowHours, int SourceSystems,
    IReadOnlyList<string> Categories, IReadOnlyList<string> Hidden);

/// <summary>A source system as the tenancy page lists it: its ids, its client, whether it is active, and its destination's host and state.</summary>
public sealed record SourceSystemRow(
    long Id, string Nmsc, string Context, string Name, string ClientId, DateTime CreatedAt, DateTime? DeactivatedAt,
    string? DestinationHost, bool? DestinationEnabled, string? DisabledReason);

/// <summary>A context (brand) as the tenancy page lists it.</summary>
public sealed record ContextRow(string Name, string? DisplayName, string? SenderName);

/// <summary>A cluster feed as the tenancy page lists it.</summary>
public sealed record FeedRow(string Nmsc, string Name, string ClientId, DateTime CreatedAt);

/// <summary>Credentials the API showed once, for the page to show once: what they are for, and each name with its value.</summary>
public sealed record ShownOnce(string For, IReadOnlyList<(string Name, string Value)> Values);

/// <summary>
/// The console's tenancy page: the operator's organisations with their settings and categories, the contexts, the
/// source systems with their OAuth client, state and destination (its host only: a webhook address may carry a token
/// in its path or query), and the cluster feeds. The admin also acts here: registers source systems and cluster feeds,
/// deactivates and reactivates systems, rotates their credentials, disables and enables destinations and rotates their
/// signing secret. Every action calls the API's own handler with the session's principal, so the API's rules decide
/// and its ledger entry names the operator; a new secret is shown on the answer and never again.
/// </summary>
public static class TenancyPages
{
    public const string Path = ConsoleSetup.BasePath + "/tenancy";
    public const string RegisterSystemPath = Path + "/source-systems";
    public const string RegisterFeedPath = Path + "/cluster-feeds";
    public const string DisablePath = Path + "/destinations/disable";
    public const string EnablePath = Path + "/destinations/enable";
    public const string RotateSecretPath = Path + "/destinations/rotate-secret";

    /// <summary>The lifecycle actions on one source system, each at <c>/console/tenancy/source-systems/{id}/{action}</c>.</summary>
    public static readonly IReadOnlyList<string> SystemActions = ["deactivate", "reactivate", "rotate-client-secret", "rotate-password"];

    public static string SystemActionPath(long id, string action) => $"{RegisterSystemPath}/{id}/{action}";

    public static IEndpointRouteBuilder MapTenancyPages(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, ShowAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        app.MapPost(RegisterSystemPath, RegisterSystemAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(RegisterFeedPath, RegisterFeedAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(RegisterSystemPath + "/{id:long}/{action}", SystemActionAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery()
            .ExcludeFromDescription();
        app.MapPost(DisablePath, DisableAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(EnablePath, EnableAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(RotateSecretPath, RotateSecretAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    static Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, CancellationToken ct) =>
        PageAsync(http, antiforgery, db, new Answer(StatusCodes.Status200OK), ct);

    /// <summary>"Register" of the source system form: <c>POST /admin/source-systems</c>'s rule, its credentials shown once.</summary>
    static async Task<IResult> RegisterSystemAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications,
        CancellationToken ct)
    {
        var (form, refused) = await AdminFormAsync(http, antiforgery, "registers source systems", ct);
        if (refused is not null) return await PageAsync(http, antiforgery, db, refused, ct);
        var input = new SourceSystemInput { Nmsc = form!["nmsc"], Context = form["context"], Name = form["name"] };
        var (registered, refusal) = await AdminApi.RegisterSourceSystemAsync(input, http.User, db, ledger, time, applications, ct);
        if (refusal is not null) return await PageAsync(http, antiforgery, db, Problem(refusal), ct);
        var r = registered!;
        return await PageAsync(http, antiforgery, db, new Answer(StatusCodes.Status201Created,
            Notice: $"{r.Nmsc} / {r.Context} / {r.Name} is registered.",
            Credentials: new ShownOnce($"{r.Nmsc} / {r.Context} / {r.Name}",
                [("Client id", r.ClientId), ("Client secret", r.ClientSecret), ("Username", r.Username), ("Password", r.Password)])), ct);
    }

    /// <summary>"Register" of the cluster feed form: <c>POST /admin/cluster-feeds</c>'s rule, its client secret shown once.</summary>
    static async Task<IResult> RegisterFeedAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications,
        CancellationToken ct)
    {
        var (form, refused) = await AdminFormAsync(http, antiforgery, "registers cluster feeds", ct);
        if (refused is not null) return await PageAsync(http, antiforgery, db, refused, ct);
        var input = new ClusterFeedInput { Nmsc = form!["nmsc"], Name = form["name"] };
        var (registered, refusal) = await ClusterApi.RegisterFeedAsync(input, http.User, db, ledger, time, applications, ct);
        if (refusal is not null) return await PageAsync(http, antiforgery, db, Problem(refusal), ct);
        var r = registered!;
        return await PageAsync(http, antiforgery, db, new Answer(StatusCodes.Status201Created,
            Notice: $"The cluster feed {r.Nmsc} / {r.Name} is registered.",
            Credentials: new ShownOnce($"the cluster feed {r.Nmsc} / {r.Name}", [("Client id", r.ClientId), ("Client secret", r.ClientSecret)])), ct);
    }

    /// <summary>A source system's buttons: the administration API's lifecycle handlers (admin only, as there).</summary>
    static async Task<IResult> SystemActionAsync(
        long id, string action, HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        IOpenIddictApplicationManager applications, CancellationToken ct)
    {
        if ((await AdminFormAsync(http, antiforgery, "manages source systems", ct)).Refused is { } refused) return await PageAsync(http, antiforgery, db, refused, ct);
        if (!SystemActions.Contains(action)) return Results.NotFound();
        var user = http.User;
        var result = action switch
        {
            "deactivate" => await SourceSystemLifecycle.DeactivateAsync(id, user, db, ledger, time, ct),
            "reactivate" => await SourceSystemLifecycle.ReactivateAsync(id, user, db, ledger, ct),
            "rotate-client-secret" => await SourceSystemLifecycle.RotateClientSecretAsync(id, user, db, ledger, applications, ct),
            _ => await SourceSystemLifecycle.RotatePasswordAsync(id, user, db, ledger, ct),
        };
        if (result is IStatusCodeHttpResult { StatusCode: >= 400 }) return await PageAsync(http, antiforgery, db, Problem(result), ct);
        var name = await db.SourceSystems.AsNoTracking().Where(s => s.Id == id).Select(s => s.Nmsc + " / " + s.Context + " / " + s.Name).SingleAsync(ct);
        var answer = result is JsonHttpResult<RotatedCredentialView> { Value: { } rotated }
            ? new Answer(StatusCodes.Status200OK, Notice: $"{name} has a new {(rotated.Password is null ? "client secret" : "password")}: the old one and every token issued with it no longer work.",
                Credentials: new ShownOnce(name, rotated.Password is null ? [("Client id", rotated.ClientId!), ("Client secret", rotated.ClientSecret!)]
                    : [("Username", rotated.Username!), ("Password", rotated.Password)]))
            : new Answer(StatusCodes.Status200OK, Notice: action == "deactivate"
                ? $"{name} is deactivated: it gets no token, and its tokens are refused."
                : $"{name} is active again; its tokens from before its deactivation stay invalid.");
        return await PageAsync(http, antiforgery, db, answer, ct);
    }

    /// <summary>"Disable" of a destination: the API's <c>POST …/destination/disable</c> handler.</summary>
    static async Task<IResult> DisableAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        if (await ConsolePages.DestinationFormAsync(http, antiforgery, ct) is not { } d) return await PageAsync(http, antiforgery, db, Expired, ct);
        var result = await PropagationApi.DisableAsync(d.Context, d.Nmsc, d.SourceSystem, http.User, db, ledger, time, ct);
        return await PageAsync(http, antiforgery, db, result is IStatusCodeHttpResult { StatusCode: >= 400 } ? Problem(result)
            : new Answer(StatusCodes.Status200OK, Notice: $"{d.Name}'s destination is disabled: its messages wait until it is enabled."), ct);
    }

    /// <summary>"Enable" of a destination: the API's <c>POST …/destination/enable</c> handler.</summary>
    static async Task<IResult> EnableAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, PropagationSignal signal, CancellationToken ct)
    {
        if (await ConsolePages.DestinationFormAsync(http, antiforgery, ct) is not { } d) return await PageAsync(http, antiforgery, db, Expired, ct);
        var result = await PropagationApi.EnableAsync(d.Context, d.Nmsc, d.SourceSystem, http.User, db, ledger, time, signal, ct);
        return await PageAsync(http, antiforgery, db, result is IStatusCodeHttpResult { StatusCode: >= 400 } ? Problem(result)
            : new Answer(StatusCodes.Status200OK, Notice: $"{d.Name}'s destination is enabled: its waiting messages are being delivered."), ct);
    }

    /// <summary>"Rotate signing secret": the API's <c>POST …/destination/rotate-secret</c> handler, the new secret shown once.</summary>
    static async Task<IResult> RotateSecretAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, IDataProtectionProvider protection,
        IOptions<PropagationOptions> options, CancellationToken ct)
    {
        if (await ConsolePages.DestinationFormAsync(http, antiforgery, ct) is not { } d) return await PageAsync(http, antiforgery, db, Expired, ct);
        var result = await DestinationApi.RotateAsync(d.Context, d.Nmsc, d.SourceSystem, http.User, db, ledger, time, protection, options, ct);
        if (result is not JsonHttpResult<RotatedSecretView> { Value: { } rotated }) return await PageAsync(http, antiforgery, db, Problem(result), ct);
        var overlap = rotated.PreviousSecretValidUntil is { } until ? $" The previous secret is still sent beside it until {until}." : "";
        return await PageAsync(http, antiforgery, db, new Answer(StatusCodes.Status200OK,
            Notice: $"{d.Name}'s destination has a new signing secret.{overlap}",
            Credentials: new ShownOnce($"{d.Name}'s destination", [("Signing secret", rotated.SigningSecret)])), ct);
    }

    /// <summary>What an action answers on the page: its status, and a notice, an error or credentials shown once.</summary>
    sealed record Answer(int Status, string? Notice = null, string? Error = null, ShownOnce? Credentials = null);

    static readonly Answer Expired = new(StatusCodes.Status400BadRequest, Error: ConsolePages.ExpiredForm);

    /// <summary>The API's refusal, in its own words, with its status.</summary>
    static Answer Problem(IResult result) => result is ProblemHttpResult problem
        ? new Answer(problem.StatusCode, Error: problem.ProblemDetails.Detail ?? problem.ProblemDetails.Title)
        : throw new InvalidOperationException($"The API answered the console with {result.GetType().Name}.");

    /// <summary>
    /// The posted form of an action the administration API keeps to the admin, or why it is refused: the caller is not
    /// the admin (403, as the API answers), or the form's antiforgery token does not hold.
    /// </summary>
    static async Task<(IFormCollection? Form, Answer? Refused)> AdminFormAsync(HttpContext http, IAntiforgery antiforgery, string what, CancellationToken ct)
    {
        if (Operator.From(http.User).Role != Roles.Admin)
            return (null, new Answer(StatusCodes.Status403Forbidden, Error: $"Only the admin {what}: the administration API refuses every other role."));
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery)) return (null, Expired);
        return (await http.Request.ReadFormAsync(ct), null);
    }

    static async Task<IResult> PageAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, Answer answer, CancellationToken ct)
    {
        var who = Operator.From(http.User);
        var tenancy = await ReadAsync(who, db, ct);
        var html = TenancyHtml.Page(ConsolePages.SignedIn(http, antiforgery, who), who.Role == Roles.Admin, tenancy, answer.Notice, answer.Error, answer.Credentials);
        return new HtmlPage(answer.Status, html, ConsoleHtml.ContentSecurityPolicy);
    }

    /// <summary>Everything of the tenancy the operator sees.</summary>
    public sealed record Tenancy(
        IReadOnlyList<OrganisationRow> Organisations, IReadOnlyList<ContextRow> Contexts, IReadOnlyList<SourceSystemRow> Systems, IReadOnlyList<FeedRow> Feeds);

    static async Task<Tenancy> ReadAsync(Operator who, ConsentDb db, CancellationToken ct)
    {
        var systems = await who.SourceSystems(db).AsNoTracking()
            .GroupJoin(db.Destinations, s => s.Id, d => d.SourceSystemId, (s, d) => new { s, d })
            .SelectMany(x => x.d.DefaultIfEmpty(), (x, d) => new
            {
                x.s.Id, x.s.Nmsc, x.s.Context, x.s.Name, x.s.ClientId, x.s.CreatedAt, x.s.DeactivatedAt,
                Uri = d == null ? null : d.Uri, Enabled = d == null ? (bool?)null : d.Enabled, Reason = d == null ? null : d.DisabledReason,
            })
            .ToListAsync(ct);
        var rows = systems
            .Select(s => new SourceSystemRow(s.Id, s.Nmsc, s.Context, s.Name, s.ClientId, s.CreatedAt, s.DeactivatedAt,
                s.Uri is null ? null : Uri.TryCreate(s.Uri, UriKind.Absolute, out var uri) ? uri.Authority : "(unreadable address)", s.Enabled, s.Reason))
            .OrderBy(s => s.Nmsc, StringComparer.Ordinal).ThenBy(s => s.Context, StringComparer.Ordinal).ThenBy(s => s.Name, StringComparer.Ordinal)
            .ToList();

        // The organisations and feeds of the operator's organisations; the admin sees every context, a DPO their own.
        var organisations = who.OfOrganisations(db.Organisations.AsNoTracking(), db, o => o.Nmsc);
        var feeds = who.OfOrganisations(db.ClusterFeeds.AsNoTracking(), db, f => f.Nmsc);
        var contexts = who.Role == Roles.Admin ? db.Contexts.AsNoTracking() : db.Contexts.AsNoTracking().Where(c => c.Name == who.Context);
        var categories = (await db.OrganisationCategories.AsNoTracking().Where(c => organisations.Any(o => o.Nmsc == c.Nmsc)).ToListAsync(ct))
            .ToLookup(c => c.Nmsc, StringComparer.Ordinal);
        var orgs = (await organisations.ToListAsync(ct))
            .Select(o =>
            {
                var catalogue = CategoryCatalogue.From(categories[o.Nmsc]);
                return new OrganisationRow(o.Nmsc, o.Name, o.MergePolicy, o.BuiltInMatching, o.ValidationWindowHours, rows.Count(r => r.Nmsc == o.Nmsc),
                    [.. catalogue.Available], [.. catalogue.Hidden.Order(StringComparer.Ordinal)]);
            })
            .OrderBy(o => o.Nmsc, StringComparer.Ordinal).ToList();
        var contextRows = (await contexts.ToListAsync(ct))
            .Select(c => new ContextRow(c.Name, c.DisplayName, c.SenderName)).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        var feedRows = (await feeds.ToListAsync(ct))
            .Select(f => new FeedRow(f.Nmsc, f.Name, f.ClientId, f.CreatedAt))
            .OrderBy(f => f.Nmsc, StringComparer.Ordinal).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
        return new Tenancy(orgs, contextRows, rows, feedRows);
    }
}
