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
        services.AddAuthentication().AddCookie(DpoScheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = "/";
            o.Cookie.IsEssential = true;
            o.ExpireTimeSpan = SessionLifetime;
            o.SlidingExpiration = true;
            o.LoginPath = DpoPages.LoginPath;
            o.Events.OnRedirectToLogin = Challenge;
            o.Events.OnRedirectToAccessDenied = Forbid;
            o.Events.OnValidatePrincipal = StillADpoAsync;
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
    public static ClaimsPrincipal Principal(HubUser user)
    {
        var identity = new ClaimsIdentity(DpoScheme, ClaimTypes.Name, HubClaims.Role);
        identity.AddClaim(new Claim("sub", user.Username));
        identity.AddClaim(new Claim(ClaimTypes.Name, user.Username));
        identity.AddClaim(new Claim(UserIdClaim, user.Id.ToString(CultureInfo.InvariantCulture)));
        identity.AddClaim(new Claim(HubClaims.Role, user.Role));
        identity.AddClaim(new Claim(HubClaims.Context, user.Context ?? ""));
        if (user.Nmsc is not null) identity.AddClaim(new Claim(HubClaims.Nmsc, user.Nmsc));
        return new ClaimsPrincipal(identity);
    }

    const string UserIdClaim = "uid";

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

    /// <summary>A removed (or re-created) DPO's session ends at its next request, on every instance.</summary>
    static async Task StillADpoAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        if (principal is null || !long.TryParse(principal.FindFirstValue(UserIdClaim), CultureInfo.InvariantCulture, out var id))
        {
            context.RejectPrincipal();
            return;
        }
        var db = context.HttpContext.RequestServices.GetRequiredService<ConsentDb>();
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, context.HttpContext.RequestAborted);
        if (user is null || !Roles.IsDpo(user.Role) || user.Username != principal.FindFirstValue("sub")
            || user.Role != principal.FindFirstValue(HubClaims.Role) || user.Context != principal.FindFirstValue(HubClaims.Context)
            || user.Nmsc != principal.FindFirstValue(HubClaims.Nmsc))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(DpoScheme);
        }
    }

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
