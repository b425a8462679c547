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
    const string Deactivated = "This source system is deactivated.";

    /// <summary>Seed 004 §5.5's authorities, for the roles the seed shows.</summary>
    static readonly Dictionary<string, string> Authorities = new() { [Roles.Admin] = "ADMIN_ROLE", [Roles.Organisation] = "NMSC_ROLE" };

    public static async Task<IResult> IssueAsync(HttpContext http, ConsentDb db, PasswordSignIn signIn, CancellationToken ct)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict server request is missing.");
        // A request without a client (a DPO's) names no system and no API user: users without a client are many.
        var system = request.ClientId is null ? null
            : await db.SourceSystems.AsNoTracking().SingleOrDefaultAsync(s => s.ClientId == request.ClientId, ct);
        var apiUser = system is null && request.ClientId is not null
            ? await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.ClientId == request.ClientId, ct) : null;

        Holder? holder;
        if (request.IsPasswordGrantType() && request.ClientId is null)
        {
            // No client: only a DPO, checked as on the DPO login page, lock-out included, so this is no way around it.
            // The token's role opens only the data subject rights of the organisations the DPO covers (Rights/).
            var dpo = await signIn.CheckAsync(request.Username, request.Password, u => Roles.IsDpo(u.Role), ct);
            if (dpo is null) return Refuse(Errors.InvalidGrant, BadCredentials);
            holder = new Holder(dpo.Username, dpo.Role, dpo.Nmsc, dpo.Context, null, dpo.CredentialStamp);
        }
        else if (request.IsPasswordGrantType())
        {
            // Through a client, DPOs get no token: theirs is requested without one (above). Unknown, refused and locked users cost
            // one password hash like the others, so neither the answer nor its time tells whether a username exists.
            var user = await signIn.CheckAsync(request.Username, request.Password, u => !Roles.IsDpo(u.Role), ct);
            if (user is null) return Refuse(Errors.InvalidGrant, BadCredentials);
            // A source system's or an API user's client signs in only its own user; the admin client may sign in any user.
            if ((system is not null && user.SourceSystemId != system.Id) || (apiUser is not null && user.Id != apiUser.Id))
                return Refuse(Errors.InvalidGrant, BadCredentials);
            if (user.SourceSystemId is { } id)
            {
                var own = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == id, ct);
                if (!own.Active) return Refuse(Errors.InvalidGrant, Deactivated);
                holder = new Holder(user.Username, user.Role, user.Nmsc, user.Context, own.Name, own.CredentialStamp);
            }
            else
            {
                holder = new Holder(user.Username, user.Role, user.Nmsc, user.Context, null, user.CredentialStamp);
            }
        }
        else if (request.IsClientCredentialsGrantType())
        {
            if (system is not null)
            {
                if (!system.Active) return Refuse(Errors.InvalidGrant, Deactivated);
                holder = new Holder(system.ClientId, Roles.SourceSystem, system.Nmsc, system.Context, system.Name, system.CredentialStamp);
            }
            else if (apiUser is not null)
            {
                holder = new Holder(apiUser.Username, apiUser.Role, apiUser.Nmsc, apiUser.Context, null, apiUser.CredentialStamp);
            }
            else if (await db.ClusterFeeds.AsNoTracking().SingleOrDefaultAsync(f => f.ClientId == request.ClientId, ct) is { } feed)
            {
                holder = new Holder(feed.ClientId, Roles.ClusterFeed, feed.Nmsc, null, null, null);
            }
            else
            {
                return Refuse(Errors.UnauthorizedClient, "Only a source system's, an API user's or a cluster feed's own client may use client_credentials.");
            }
        }
        else
        {
            return Refuse(Errors.UnsupportedGrantType, "Use grant_type password or client_credentials.");
        }

        // An organisation API user reads and never writes: its tokens carry the read scope only.
        string[] allowed = holder.Role == Roles.Organisation ? [Scopes.Read] : [Scopes.Read, Scopes.Write];
        var requested = request.GetScopes();
        if (!requested.IsDefaultOrEmpty && requested.Any(s => s is not (Scopes.Read or Scopes.Write)))
            return Refuse(Errors.InvalidScope, "The scopes are read and write.");
        string[] granted = requested.IsDefaultOrEmpty ? allowed : [.. requested.Intersect(allowed)];
        if (granted.Length == 0) return Refuse(Errors.InvalidScope, $"This holder's scopes are: {string.Join(' ', allowed)}.");

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, HubClaims.Role);
        identity.SetClaim(Claims.Subject, holder.Subject)
            .SetClaim(HubClaims.Role, holder.Role)
            .SetClaim(HubClaims.Nmsc, holder.Nmsc)
            .SetClaim(HubClaims.Context, holder.Context)
            .SetClaim(HubClaims.SourceSystem, holder.SourceSystem)
            .SetClaim(HubClaims.CredentialStamp, holder.CredentialStamp);
        // A JSON array, as in the seed's tokens, even with one member.
        if (Authorities.TryGetValue(holder.Role, out var authority)) identity.AddClaim(new Claim(HubClaims.Authorities, $"[\"{authority}\"]", "JSON_ARRAY"));
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

    sealed record Holder(string Subject, string Role, string? Nmsc, string? Context, string? SourceSystem, string? CredentialStamp);
}
