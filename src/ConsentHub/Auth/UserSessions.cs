using System.Globalization;
using System.Security.Claims;
using ConsentHub.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Auth;

/// <summary>
/// Browser sessions of the hub's users (the DPO pages, the console): each a cookie scheme of its own, HttpOnly,
/// SameSite=Strict and sliding, whose claims name the user's row. A session ends at its next request, on every
/// instance, once that row is removed, re-created, or no longer has the role, organisation and context it was opened
/// with, or once the role is no longer one the scheme <c>admits</c>.
/// </summary>
public static class UserSessions
{
    const string UserIdClaim = "uid";

    /// <summary>A session scheme; <paramref name="events"/> may set what its challenge and refusal answer.</summary>
    public static AuthenticationBuilder AddUserSession(this AuthenticationBuilder authentication, string scheme, string cookieName,
        string cookiePath, TimeSpan lifetime, string loginPath, Func<string, bool> admits, Action<CookieAuthenticationEvents> events) =>
        authentication.AddCookie(scheme, o =>
        {
            o.Cookie.Name = cookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = cookiePath;
            o.Cookie.IsEssential = true;
            o.ExpireTimeSpan = lifetime;
            o.SlidingExpiration = true;
            o.LoginPath = loginPath;
            o.Events.OnValidatePrincipal = context => StillTheSameUserAsync(context, scheme, admits);
            events(o.Events);
        });

    /// <summary>The claims of a session of <paramref name="user"/>.</summary>
    public static ClaimsPrincipal Principal(HubUser user, string scheme)
    {
        var identity = new ClaimsIdentity(scheme, ClaimTypes.Name, HubClaims.Role);
        identity.AddClaim(new Claim("sub", user.Username));
        identity.AddClaim(new Claim(ClaimTypes.Name, user.Username));
        identity.AddClaim(new Claim(UserIdClaim, user.Id.ToString(CultureInfo.InvariantCulture)));
        identity.AddClaim(new Claim(HubClaims.Role, user.Role));
        if (user.Context is not null) identity.AddClaim(new Claim(HubClaims.Context, user.Context));
        if (user.Nmsc is not null) identity.AddClaim(new Claim(HubClaims.Nmsc, user.Nmsc));
        return new ClaimsPrincipal(identity);
    }

    static async Task StillTheSameUserAsync(CookieValidatePrincipalContext context, string scheme, Func<string, bool> admits)
    {
        var principal = context.Principal;
        if (principal is null || !long.TryParse(principal.FindFirstValue(UserIdClaim), CultureInfo.InvariantCulture, out var id))
        {
            context.RejectPrincipal();
            return;
        }
        var db = context.HttpContext.RequestServices.GetRequiredService<ConsentDb>();
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, context.HttpContext.RequestAborted);
        if (user is null || !admits(user.Role) || user.Username != principal.FindFirstValue("sub")
            || user.Role != principal.FindFirstValue(HubClaims.Role) || user.Context != principal.FindFirstValue(HubClaims.Context)
            || user.Nmsc != principal.FindFirstValue(HubClaims.Nmsc))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(scheme);
        }
    }
}
