using System.Security.Claims;

namespace ConsentHub.Auth;

/// <summary>Who is calling, as bound into the access token: role, organisation, context and source system.</summary>
public sealed record Caller(string Subject, string Role, string? Nmsc, string? Context, string? SourceSystem)
{
    public static Caller From(ClaimsPrincipal user) => new(
        user.FindFirstValue("sub") ?? "",
        user.FindFirstValue(HubClaims.Role) ?? "",
        user.FindFirstValue(HubClaims.Nmsc),
        user.FindFirstValue(HubClaims.Context),
        user.FindFirstValue(HubClaims.SourceSystem));

    public bool IsAdmin => Role == Roles.Admin;

    /// <summary>
    /// A source system reads the customers of its own organisation and context; an organisation API user those of its
    /// organisation (of its context when it is bound to one); the admin reads all.
    /// </summary>
    public bool MayRead(string nmsc, string context) =>
        IsAdmin
        || (Role == Roles.SourceSystem && Nmsc == nmsc && Context == context)
        || (Role == Roles.Organisation && Nmsc == nmsc && (Context is null || Context == context));

    /// <summary>The clusters of an organisation are fed by its own cluster feed, or by the admin.</summary>
    public bool MayFeedClusters(string nmsc) => IsAdmin || (Role == Roles.ClusterFeed && Nmsc == nmsc);

    /// <summary>A source system writes only as itself.</summary>
    public bool IsSourceSystem(string nmsc, string context, string sourceSystem) =>
        Role == Roles.SourceSystem && Nmsc == nmsc && Context == context && SourceSystem == sourceSystem;
}
