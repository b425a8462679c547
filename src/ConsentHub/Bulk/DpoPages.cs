using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;

namespace ConsentHub.Bulk;

/// <summary>The DPO's login page, landing page and sign-out (seed 004 §3.6.2). Every form carries an antiforgery token.</summary>
public static class DpoPages
{
    public const string LoginPath = "/dpo/login";
    public const string LogoutPath = "/dpo/logout";
    public const string LandingPath = "/dpo";

    public static IEndpointRouteBuilder MapDpoPages(this IEndpointRouteBuilder app)
    {
        app.MapGet(LoginPath, ShowLoginAsync).AllowAnonymous().ExcludeFromDescription();
        // Antiforgery is checked in the handlers, so that a stale form gets a fresh page instead of a bare 400.
        app.MapPost(LoginPath, LoginAsync).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        app.MapGet(LandingPath, LandingAsync).RequireAuthorization(BulkSetup.DpoPolicy).ExcludeFromDescription();
        app.MapPost(LogoutPath, LogoutAsync).RequireAuthorization(BulkSetup.DpoPolicy).DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    static async Task<IResult> ShowLoginAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (await SignedInAsync(http)) return Results.Redirect(LandingPath);
        return LoginPage(http, antiforgery, StatusCodes.Status200OK, error: null, username: null);
    }

    static async Task<IResult> LoginAsync(HttpContext http, IAntiforgery antiforgery, DpoSignIn signIn, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return LoginPage(http, antiforgery, StatusCodes.Status400BadRequest,
                "The form had expired or was not sent from this page. Please sign in again.", username: null);
        var form = await http.Request.ReadFormAsync(ct);
        var username = form["username"].ToString();
        var user = await signIn.CheckAsync(username, form["password"].ToString(), ct);
        if (user is null)
            return LoginPage(http, antiforgery, StatusCodes.Status400BadRequest, DpoHtml.GenericSignInError, username.Length <= 100 ? username : null);

        await http.SignInAsync(BulkSetup.DpoScheme, BulkSetup.Principal(user), new AuthenticationProperties { IsPersistent = false });
        // 303: the browser follows with a GET, and a reload does not post the password again.
        return new SeeOther(LandingPath);
    }

    static async Task<IResult> LandingAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, CancellationToken ct) =>
        await LandingPageAsync(http, antiforgery, db, StatusCodes.Status200OK, error: null, ct);

    static async Task<IResult> LogoutAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return await LandingPageAsync(http, antiforgery, db, StatusCodes.Status400BadRequest,
                "You are still signed in: the sign-out form had expired or was not sent from this page. Press Sign out again.", ct);
        await http.SignOutAsync(BulkSetup.DpoScheme);
        return new SeeOther(LoginPath);
    }

    static async Task<IResult> LandingPageAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, int status, string? error, CancellationToken ct)
    {
        var dpo = DpoIdentity.From(http.User);
        var organisations = await DpoAccess.OrganisationsAsync(db, dpo, ct);
        var sections = new List<string>();
        foreach (var section in http.RequestServices.GetServices<IDpoLandingSection>().OrderBy(s => s.Order))
            sections.Add(await section.HtmlAsync(db, [.. organisations.Select(o => o.Nmsc)], ct));
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new HtmlPage(status, DpoHtml.Landing(dpo, organisations, tokens.FormFieldName, tokens.RequestToken!, error, sections),
            DpoHtml.ContentSecurityPolicy);
    }

    static IResult LoginPage(HttpContext http, IAntiforgery antiforgery, int status, string? error, string? username)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new HtmlPage(status, DpoHtml.Login(tokens.FormFieldName, tokens.RequestToken!, error, username), DpoHtml.ContentSecurityPolicy);
    }

    static async Task<bool> SignedInAsync(HttpContext http) =>
        (await http.AuthenticateAsync(BulkSetup.DpoScheme)).Succeeded;
}
