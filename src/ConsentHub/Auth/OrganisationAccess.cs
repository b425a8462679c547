using System.Security.Claims;
using ConsentHub.Hosting;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.Auth;

/// <summary>
/// Who may act for an organisation on a DPO's routes (a person's rights, opt-out lists, suppression checks): the admin;
/// an organisation DPO, for their own organisation; a head-office DPO, for every organisation that has the context of
/// their role (as for the bulk export). Anyone else, and every organisation that does not exist, gets the same 404
/// (<see cref="UnknownOrganisation"/>), so the routes reveal nothing.
/// </summary>
public static class OrganisationAccess
{
    public const string Policy = "data-subject-rights";

    public static IServiceCollection AddOrganisationAccessPolicy(this IServiceCollection services)
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

    /// <summary>The one answer for an organisation the caller may not act for or that does not exist.</summary>
    public static IResult UnknownOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}' for this caller.");
}
