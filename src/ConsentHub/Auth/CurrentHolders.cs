using System.Security.Claims;
using ConsentHub.Data;
using Microsoft.AspNetCore;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace ConsentHub.Auth;

/// <summary>
/// Tokens are self-contained signed JWTs, so a deactivated source system's or a removed API user's tokens would
/// otherwise work until they expire. Each request with such a token checks that its holder is still active with the
/// same credentials. The answer "still current" is kept in memory (<see cref="ChangeNotices"/>): every deactivation,
/// rotation and removal writes a source system or user row and so commits with a notice, and takes effect on the
/// instance that made it as soon as it answers and on every other instance when PostgreSQL delivers the notice
/// (milliseconds). Until the notices are heard (and always on SQLite) every request asks the database.
/// </summary>
public sealed class CurrentHolders(ChangeNotices notices)
{
    public const string Revoked = "The token's holder was deactivated or removed, or its credentials were rotated: request a new token.";

    readonly NoticedCache<string, bool> current = new(notices, [NoticeTopics.SourceSystems, NoticeTopics.Users]);

    /// <summary>OpenIddict's step after the token's signature and lifetime are checked: refuses a revoked holder's token.</summary>
    public static async ValueTask RefuseRevokedAsync(OpenIddictValidationEvents.ProcessAuthenticationContext context)
    {
        if (context.AccessTokenPrincipal is not { } principal) return;
        var http = context.Transaction.GetHttpRequest()!.HttpContext;
        if (!await http.RequestServices.GetRequiredService<CurrentHolders>().IsCurrentAsync(principal, http))
            context.Reject(Errors.InvalidToken, Revoked);
    }

    /// <summary>
    /// Whether the token's holder is still active with the credentials the token was issued under. Only source systems'
    /// and organisation API users' tokens can be revoked; every other holder is current.
    /// </summary>
    public ValueTask<bool> IsCurrentAsync(ClaimsPrincipal principal, HttpContext http)
    {
        var role = principal.GetClaim(HubClaims.Role);
        if (role is not (Roles.SourceSystem or Roles.Organisation)) return ValueTask.FromResult(true);
        // Tokens issued before stamps existed carry none; they match the stamp of a system never rotated since.
        var stamp = principal.GetClaim(HubClaims.CredentialStamp) ?? "";
        var subject = principal.GetClaim(Claims.Subject);
        var nmsc = principal.GetClaim(HubClaims.Nmsc);
        var holderContext = principal.GetClaim(HubClaims.Context);
        var system = principal.GetClaim(HubClaims.SourceSystem);
        var key = role == Roles.SourceSystem
            ? string.Join('\u001f', role, nmsc, holderContext, system, stamp)
            : string.Join('\u001f', role, subject, stamp);
        return current.TryGet(key, out _) ? ValueTask.FromResult(true) : ReadAsync();

        async ValueTask<bool> ReadAsync()
        {
            var generation = current.Generation;
            var db = http.RequestServices.GetRequiredService<ConsentDb>();
            var isCurrent = role == Roles.SourceSystem
                ? await IsCurrentSourceSystemAsync(db, nmsc, holderContext, system, stamp, http.RequestAborted)
                : await db.Users.AsNoTracking().AnyAsync(u => u.Username == subject
                    && u.Role == Roles.Organisation && u.CredentialStamp == stamp, http.RequestAborted);
            if (isCurrent) current.Set(key, true, generation);
            return isCurrent;
        }
    }

    static Task<bool> IsCurrentSourceSystemAsync(ConsentDb db, string? nmsc, string? context, string? name, string stamp, CancellationToken ct) =>
        nmsc is null || context is null || name is null
            ? Task.FromResult(false)
            : db.SourceSystems.AsNoTracking().AnyAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == name
                && s.DeactivatedAt == null && s.CredentialStamp == stamp, ct);
}
