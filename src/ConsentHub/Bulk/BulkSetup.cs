using System.Globalization;
using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>
/// DPO bulk export (seed 004 §3.6): DPO users, their browser session, the landing page and the export file.
/// DPOs sign in with a cookie of a scheme of their own. The hub's default scheme stays the bearer token, so a DPO
/// cookie opens no JSON API and a bearer token opens no DPO page.
/// </summary>
public static class BulkSetup
{
    public const string DpoScheme = "dpo-session";
    public const string DpoPolicy = "dpo";
    public const string CookieName = "consenthub-dpo";
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(30);

    public static IServiceCollection AddBulk(this IServiceCollection services)
    {
        services.AddScoped<DpoSignIn>();
        services.AddScoped<ExportWriter>();
        services.AddOptions<ExportOptions>().BindConfiguration(ExportOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddAuthentication().AddUserSession(DpoScheme, CookieName, "/", SessionLifetime, DpoPages.LoginPath, Roles.IsDpo, events =>
        {
            events.OnRedirectToLogin = Challenge;
            events.OnRedirectToAccessDenied = Forbid;
        });
        services.AddAuthorizationBuilder().AddPolicy(DpoPolicy, p => p
            .AddAuthenticationSchemes(DpoScheme)
            .RequireAuthenticatedUser()
            .RequireAssertion(c => Roles.IsDpo(c.User.FindFirstValue(HubClaims.Role) ?? "")));
        return services;
    }

    public static IEndpointRouteBuilder MapBulk(this IEndpointRouteBuilder app)
    {
        app.MapDpoUsers();
        app.MapDpoPages();
        app.MapExports();
        return app;
    }

    /// <summary>The claims of a DPO's session cookie.</summary>
    public static ClaimsPrincipal Principal(HubUser user) => UserSessions.Principal(user, DpoScheme);

    /// <summary>Browsers are sent to the login page; anything else gets a 401 problem.</summary>
    static Task Challenge(RedirectContext<CookieAuthenticationOptions> context)
    {
        if (WantsHtml(context.Request))
        {
            context.Response.Redirect(DpoPages.LoginPath);
            return Task.CompletedTask;
        }
        return Problems.Problem(StatusCodes.Status401Unauthorized, "Sign-in required.",
            $"Sign in as a DPO at {DpoPages.LoginPath}; the export is opened by the browser session, not by a bearer token.", "unauthorized")
            .ExecuteAsync(context.HttpContext);
    }

    static Task Forbid(RedirectContext<CookieAuthenticationOptions> context) =>
        Problems.Forbidden("This session may not do this.").ExecuteAsync(context.HttpContext);

    public static bool WantsHtml(HttpRequest request) =>
        request.Headers.Accept.Any(a => a is not null && a.Contains("text/html", StringComparison.OrdinalIgnoreCase));
}

/// <summary>The DPO behind a session, as its cookie says.</summary>
public sealed record DpoIdentity(string Username, string Role, string Context, string? Nmsc)
{
    public static DpoIdentity From(ClaimsPrincipal user) => new(
        user.FindFirstValue("sub") ?? "",
        user.FindFirstValue(HubClaims.Role) ?? "",
        user.FindFirstValue(HubClaims.Context) ?? "",
        user.FindFirstValue(HubClaims.Nmsc));

    public bool IsHeadOffice => Role == Roles.HeadOfficeDpo;
}
