using System.Security.Claims;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Hosting;

namespace ConsentHub.SqlAccess;

/// <summary>A grant as listed: never a password.</summary>
public sealed record SqlAccessView(
    string Role, string Nmsc, IReadOnlyList<string> Views, string GrantedAt, string GrantedBy, string? RotatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The answer to a grant: the only time the password is shown.</summary>
public sealed record SqlAccessLoginView(
    string Role, string Nmsc, string ConnectionString, string Uri, string JdbcUrl, IReadOnlyList<string> Views, string GrantedAt, string? RotatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record SqlAccessList(
    int Count, IReadOnlyList<SqlAccessView> Grants,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// The admin grants a PostgreSQL login role read access to an organisation's consent_read views (seed 000, "SQL read
/// access"), rotates its password, lists and revokes it. The CLI verb <c>sql-access</c> does the same offline.
/// </summary>
public static class SqlAccessApi
{
    const string Tag = "SQL read access (seed 000)";

    public static IServiceCollection AddSqlAccess(this IServiceCollection services)
    {
        services.AddOptions<SqlAccessOptions>().BindConfiguration(SqlAccessOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<SqlAccessGrants>();
        return services;
    }

    public static IEndpointRouteBuilder MapSqlAccess(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/sql-access").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapGet("", ListAsync)
            .WithName("ListSqlAccess").WithSummary("The organisation's SQL read roles; never a password.")
            .Produces<SqlAccessList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPut("/{role}", GrantAsync)
            .WithName("GrantSqlAccess")
            .WithSummary("Create a read-only PostgreSQL login role for the organisation's views, or give it a new password (ending its sessions); the connection string is answered this once.")
            .Produces<SqlAccessLoginView>(StatusCodes.Status201Created, Hal.MediaType).Produces<SqlAccessLoginView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{role}", GetAsync)
            .WithName("GetSqlAccess").WithSummary("One SQL read role: when and by whom it was granted, its last rotation; never its password.")
            .Produces<SqlAccessView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapDelete("/{role}", RevokeAsync)
            .WithName("RevokeSqlAccess").WithSummary("End the role's sessions and drop it: its access ends at once.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, SqlAccessGrants grants, CancellationToken ct)
    {
        var listed = await grants.ListAsync(nmsc, ct);
        if (listed.Refusal is { } refusal) return refusal.ToProblem();
        var views = listed.Value!.Select(View).ToList();
        var normalised = Tenancy.Names.Normalise(nmsc);
        return Hal.Ok(new SqlAccessList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(ListPath(normalised)),
            ["organisation"] = new(Paths.Organisation(normalised)),
        }));
    }

    static async Task<IResult> GrantAsync(string nmsc, string role, ClaimsPrincipal user, HttpResponse response, SqlAccessGrants grants, CancellationToken ct)
    {
        var granted = await grants.GrantAsync(nmsc, role, Caller.From(user).Subject, ct);
        if (granted.Refusal is { } refusal) return refusal.ToProblem();
        var login = granted.Value!;
        var grant = login.Grant;
        var body = new SqlAccessLoginView(grant.Role, grant.Nmsc, login.ConnectionString, login.Uri, login.JdbcUrl, SqlAccessGrants.Views,
            HubTime.Format(grant.GrantedAt), HubTime.Format(grant.RotatedAt), Links(grant));
        // The password is in this body only: no cache may keep it.
        response.Headers.CacheControl = "no-store";
        return Hal.Raw(login.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, Hal.Serialize(body), login.Created ? PathOf(grant) : null);
    }

    static async Task<IResult> GetAsync(string nmsc, string role, SqlAccessGrants grants, CancellationToken ct)
    {
        var found = await grants.GetAsync(nmsc, role, ct);
        return found.Refusal is { } refusal ? refusal.ToProblem() : Hal.Ok(View(found.Value!));
    }

    static async Task<IResult> RevokeAsync(string nmsc, string role, ClaimsPrincipal user, SqlAccessGrants grants, CancellationToken ct)
    {
        var revoked = await grants.RevokeAsync(nmsc, role, Caller.From(user).Subject, ct);
        return revoked.Refusal is { } refusal ? refusal.ToProblem() : TypedResults.NoContent();
    }

    static SqlAccessView View(SqlGrant g) =>
        new(g.Role, g.Nmsc, SqlAccessGrants.Views, HubTime.Format(g.GrantedAt), g.GrantedBy, HubTime.Format(g.RotatedAt), Links(g));

    static Dictionary<string, HalLink> Links(SqlGrant g) => new()
    {
        ["self"] = new(PathOf(g)),
        ["sql-access"] = new(ListPath(g.Nmsc)),
        ["organisation"] = new(Paths.Organisation(g.Nmsc)),
    };

    static string ListPath(string nmsc) => Paths.Organisation(nmsc) + "/sql-access";

    static string PathOf(SqlGrant g) => ListPath(g.Nmsc) + "/" + Uri.EscapeDataString(g.Role);
}
