using System.Security.Claims;
using ConsentHub.Data;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace ConsentHub.Auth;

/// <summary>
/// The passthrough half of <c>POST /oauth/token</c>: OpenIddict has already authenticated the client (HTTP Basic);
/// this decides who the token is for and binds it to that holder's organisation, context and source system.
/// </summary>
public static class TokenEndpoint
{
    const string BadCredentials = "The username or password is incorrect.";

    public static async Task<IResult> IssueAsync(HttpContext http, ConsentDb db, Bulk.DpoSignIn dpoSignIn, CancellationToken ct)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict server request is missing.");
        var client = await db.SourceSystems.AsNoTracking().SingleOrDefaultAsync(s => s.ClientId == request.ClientId, ct);

        Holder? holder;
        if (request.IsPasswordGrantType() && request.ClientId is null)
        {
            // No client: only a DPO, checked as on the DPO login page, lock-out included, so this is no way around it.
            // The token's role opens only the data subject rights of the organisations the DPO covers (Rights/).
            var dpo = await dpoSignIn.CheckAsync(request.Username, request.Password, ct);
            if (dpo is null) return Refuse(Errors.InvalidGrant, BadCredentials);
            holder = new Holder(dpo.Username, dpo.Role, dpo.Nmsc, dpo.Context, null);
        }
        else if (request.IsPasswordGrantType())
        {
            // Control characters were refused earlier (AuthSetup); overlong names cannot exist.
            if (request.Username is not { Length: > 0 and <= 100 } username)
                return Refuse(Errors.InvalidGrant, BadCredentials);
            var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Username == username, ct);
            if (user is null || request.Password is null || !Secrets.VerifyPassword(user.PasswordHash, request.Password))
                return Refuse(Errors.InvalidGrant, BadCredentials);
            // Through a client, DPOs get no token: theirs is requested without one (above).
            if (Roles.IsDpo(user.Role))
                return Refuse(Errors.InvalidGrant, BadCredentials);
            // A source system's client signs in only its own user; the admin client may sign in any user.
            if (client is not null && user.SourceSystemId != client.Id)
                return Refuse(Errors.InvalidGrant, BadCredentials);
            var system = user.SourceSystemId is { } id ? await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == id, ct) : null;
            holder = new Holder(user.Username, user.Role, user.Nmsc, user.Context, system?.Name);
        }
        else if (request.IsClientCredentialsGrantType())
        {
            if (client is not null)
            {
                holder = new Holder(client.ClientId, Roles.SourceSystem, client.Nmsc, client.Context, client.Name);
            }
            else if (await db.ClusterFeeds.AsNoTracking().SingleOrDefaultAsync(f => f.ClientId == request.ClientId, ct) is { } feed)
            {
                holder = new Holder(feed.ClientId, Roles.ClusterFeed, feed.Nmsc, null, null);
            }
            else
            {
                return Refuse(Errors.UnauthorizedClient, "Only a source system's or a cluster feed's own client may use client_credentials.");
            }
        }
        else
        {
            return Refuse(Errors.UnsupportedGrantType, "Use grant_type password or client_credentials.");
        }

        var requested = request.GetScopes();
        string[] granted = requested.IsDefaultOrEmpty
            ? [Scopes.Read, Scopes.Write]
            : [.. requested.Intersect([Scopes.Read, Scopes.Write])];
        if (granted.Length == 0) return Refuse(Errors.InvalidScope, "The scopes are read and write.");

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, HubClaims.Role);
        identity.SetClaim(Claims.Subject, holder.Subject)
            .SetClaim(HubClaims.Role, holder.Role)
            .SetClaim(HubClaims.Nmsc, holder.Nmsc)
            .SetClaim(HubClaims.Context, holder.Context)
            .SetClaim(HubClaims.SourceSystem, holder.SourceSystem);
        identity.SetScopes(granted);
        identity.SetDestinations(_ => [Destinations.AccessToken]);

        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    static IResult Refuse(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

    sealed record Holder(string Subject, string Role, string? Nmsc, string? Context, string? SourceSystem);
}
