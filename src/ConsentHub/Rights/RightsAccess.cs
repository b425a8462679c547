using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.Rights;

/// <summary>
/// Who may exercise a person's rights in an organisation: the admin; an organisation DPO, for their own organisation;
/// a head-office DPO, for every organisation that has the context of their role (as for the bulk export). Anyone else,
/// and every organisation that does not exist, gets the same 404, so the routes reveal nothing.
/// </summary>
public static class RightsAccess
{
    public const string Policy = "data-subject-rights";

    public static IServiceCollection AddRightsPolicy(this IServiceCollection services)
    {
        // A bearer token of the admin or of a DPO (DPOs get one from /oauth/token); reading needs scope read, anything else write.
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.RequireAuthenticatedUser().RequireAssertion(c =>
            (c.User.HasClaim(HubClaims.Role, Roles.Admin) || Roles.IsDpo(c.User.FindFirstValue(HubClaims.Role) ?? ""))
            && c.Resource is HttpContext http
            && c.User.HasScope(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) ? Scopes.Read : Scopes.Write)));
        return services;
    }

    public static async Task<bool> MayActForAsync(ConsentDb db, Caller caller, string nmsc, CancellationToken ct) => caller.Role switch
    {
        Roles.Admin => await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct),
        Roles.Dpo => caller.Nmsc == nmsc && await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct),
        Roles.HeadOfficeDpo => caller.Context is { } context
            && await db.SourceSystems.AnyAsync(s => s.Nmsc == nmsc && s.Context == context, ct),
        _ => false,
    };
}
