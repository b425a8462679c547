using ConsentHub.Data;
using Microsoft.AspNetCore;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace ConsentHub.Auth;

/// <summary>
/// Tokens are self-contained signed JWTs, so a deactivated source system's or a removed API user's tokens would
/// otherwise work until they expire. Each request with such a token asks the database whether its holder is still
/// active with the same credentials, so a deactivation or rotation takes effect at once on every instance.
/// </summary>
static class CurrentHolders
{
    public const string Revoked = "The token's holder was deactivated or removed, or its credentials were rotated: request a new token.";

    public static async ValueTask RefuseRevokedAsync(OpenIddictValidationEvents.ProcessAuthenticationContext context)
    {
        if (context.AccessTokenPrincipal is not { } principal) return;
        var role = principal.GetClaim(HubClaims.Role);
        if (role is not (Roles.SourceSystem or Roles.Organisation)) return;
        var http = context.Transaction.GetHttpRequest()!.HttpContext;
        var db = http.RequestServices.GetRequiredService<ConsentDb>();
        // Tokens issued before stamps existed carry none; they match the stamp of a system never rotated since.
        var stamp = principal.GetClaim(HubClaims.CredentialStamp) ?? "";
        var subject = principal.GetClaim(Claims.Subject);
        var current = role == Roles.SourceSystem
            ? await IsCurrentSourceSystemAsync(db, principal.GetClaim(HubClaims.Nmsc), principal.GetClaim(HubClaims.Context),
                principal.GetClaim(HubClaims.SourceSystem), stamp, http.RequestAborted)
            : await db.Users.AsNoTracking().AnyAsync(u => u.Username == subject
                && u.Role == Roles.Organisation && u.CredentialStamp == stamp, http.RequestAborted);
        if (!current) context.Reject(Errors.InvalidToken, Revoked);
    }

    static Task<bool> IsCurrentSourceSystemAsync(ConsentDb db, string? nmsc, string? context, string? name, string stamp, CancellationToken ct) =>
        nmsc is null || context is null || name is null
            ? Task.FromResult(false)
            : db.SourceSystems.AsNoTracking().AnyAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == name
                && s.DeactivatedAt == null && s.CredentialStamp == stamp, ct);
}
