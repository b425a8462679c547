using System.Globalization;
using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// The operators' console under <c>/console</c>: pages drawn on the server, without script, for the hub's admin and its
/// DPOs, signed in with the accounts they already have. The session is a cookie of its own, sent only to
/// <c>/console</c>, same-site only, and ended at the next request on every instance once its user is removed or changed.
/// </summary>
public static class ConsoleSetup
{
    public const string Scheme = "console-session";
    public const string Policy = "console";
    public const string CookieName = "consenthub-console";
    public const string BasePath = "/console";
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);
    const string UserIdClaim = "uid";

    public static IServiceCollection AddOperatorConsole(this IServiceCollection services)
    {
        services.AddScoped<ActivityRollup>();
        services.AddOptions<ActivityRollupOptions>().BindConfiguration(ActivityRollupOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<ActivityRollupWorker>();
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = BasePath;
            o.Cookie.IsEssential = true;
            o.ExpireTimeSpan = SessionLifetime;
            o.SlidingExpiration = true;
            o.LoginPath = ConsolePages.LoginPath;
            o.Events.OnRedirectToLogin = context =>
            {
                context.Response.Redirect(ConsolePages.LoginPath);
                return Task.CompletedTask;
            };
            o.Events.OnValidatePrincipal = StillAnOperatorAsync;
        });
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p
            .AddAuthenticationSchemes(Scheme)
            .RequireAuthenticatedUser()
            .RequireAssertion(c => Operator.MaySignIn(c.User.FindFirstValue(HubClaims.Role) ?? "")));
        return services;
    }

    public static IEndpointRouteBuilder MapOperatorConsole(this IEndpointRouteBuilder app) => app.MapConsolePages();

    /// <summary>The claims of a console session.</summary>
    public static ClaimsPrincipal Principal(HubUser user)
    {
        var identity = new ClaimsIdentity(Scheme, ClaimTypes.Name, HubClaims.Role);
        identity.AddClaim(new Claim("sub", user.Username));
        identity.AddClaim(new Claim(ClaimTypes.Name, user.Username));
        identity.AddClaim(new Claim(UserIdClaim, user.Id.ToString(CultureInfo.InvariantCulture)));
        identity.AddClaim(new Claim(HubClaims.Role, user.Role));
        if (user.Context is not null) identity.AddClaim(new Claim(HubClaims.Context, user.Context));
        if (user.Nmsc is not null) identity.AddClaim(new Claim(HubClaims.Nmsc, user.Nmsc));
        return new ClaimsPrincipal(identity);
    }

    /// <summary>A session whose user was removed, re-created or given another role or scope ends at its next request.</summary>
    static async Task StillAnOperatorAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        if (principal is null || !long.TryParse(principal.FindFirstValue(UserIdClaim), CultureInfo.InvariantCulture, out var id))
        {
            context.RejectPrincipal();
            return;
        }
        var db = context.HttpContext.RequestServices.GetRequiredService<ConsentDb>();
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, context.HttpContext.RequestAborted);
        if (user is null || !Operator.MaySignIn(user.Role) || user.Username != principal.FindFirstValue("sub")
            || user.Role != principal.FindFirstValue(HubClaims.Role) || user.Context != principal.FindFirstValue(HubClaims.Context)
            || user.Nmsc != principal.FindFirstValue(HubClaims.Nmsc))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }
}
