using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.Admin;

public sealed record OrganisationApiUserInput
{
    /// <summary>Bind the user to one context of the organisation; left out, it reads every context.</summary>
    public string? Context { get; init; }
}

public sealed record OrganisationApiUserView(
    string Username, string Nmsc, string? Context, string ClientId, string CreatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The only time the API user's password and client secret are shown: they are stored hashed.</summary>
public sealed record OrganisationApiUserCredentialsView(
    string Username, string Nmsc, string? Context, string Password, string ClientId, string ClientSecret, string CreatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record OrganisationApiUserList(
    int Count, IReadOnlyList<OrganisationApiUserView> ApiUsers,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// The organisation-level API user of seed 004 §5.5's sample token (source_system null, nmsc set, NMSC_ROLE): it reads
/// every record of its organisation (or of its one context) and writes nothing. Admin role only.
/// </summary>
public static class OrganisationApiUsers
{
    public static RouteGroupBuilder MapOrganisationApiUsers(this RouteGroupBuilder admin)
    {
        admin.MapPost("/organisations/{nmsc}/api-users", CreateAsync)
            .WithName("CreateOrganisationApiUser").WithSummary("Create a read-only API user of an organisation; its password and client secret are shown in this answer only.")
            .Accepts<OrganisationApiUserInput>("application/json")
            .Produces<OrganisationApiUserCredentialsView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/organisations/{nmsc}/api-users", ListAsync)
            .WithName("ListOrganisationApiUsers").WithSummary("The API users of an organisation; no secrets.")
            .Produces<OrganisationApiUserList>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/organisations/{nmsc}/api-users/{username}", GetAsync)
            .WithName("GetOrganisationApiUser").WithSummary("One API user of an organisation; no secrets.")
            .Produces<OrganisationApiUserView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/organisations/{nmsc}/api-users/{username}", DeleteAsync)
            .WithName("DeleteOrganisationApiUser").WithSummary("Remove an API user: its client is removed and its tokens are refused at once.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return admin;
    }

    static async Task<IResult> CreateAsync(
        string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var body = await JsonBody.ReadOptionalAsync<OrganisationApiUserInput>(http, ct);
        if (body.Error is not null) return body.Error;
        string? context = null;
        if (body.Value!.Context is { } given)
        {
            context = Names.Normalise(given);
            if (!Names.IsTenantName(context)) return Problems.Invalid("context", "tenant-name", $"context must be {Names.TenantNameRule}.");
            if (!await db.Contexts.AnyAsync(c => c.Name == context, ct))
                return Problems.Invalid("context", "must-exist", $"No context '{context}'; create it with PUT /admin/contexts/{context} first.");
        }
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);

        await using var transaction = await ledger.BeginAsync(ct);
        var password = Secrets.Generate();
        var clientSecret = Secrets.Generate();
        var user = new HubUser
        {
            Username = Secrets.Identifier("nmsc_"), PasswordHash = Secrets.HashPassword(password), Role = Roles.Organisation,
            Nmsc = nmsc, Context = context, ClientId = Secrets.Identifier("client_"), CredentialStamp = SourceSystemLifecycle.NewStamp(),
            CreatedAt = time.Now(),
        };
        db.Users.Add(user);
        ledger.Append(LedgerEvents.OrganisationApiUserCreated, new { username = user.Username, nmsc, context, clientId = user.ClientId });
        await db.SaveChangesAsync(ct);
        await applications.CreateAsync(AuthSetup.OrganisationApiClient(user.ClientId, clientSecret, nmsc), ct);
        await transaction.CommitAsync(ct);

        var view = new OrganisationApiUserCredentialsView(user.Username, nmsc, context, password, user.ClientId, clientSecret,
            HubTime.Format(user.CreatedAt), Links(nmsc, user.Username));
        return Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), PathOf(nmsc, user.Username));
    }

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var users = await db.Users.AsNoTracking().Where(u => u.Role == Roles.Organisation && u.Nmsc == nmsc).OrderBy(u => u.Id).ToListAsync(ct);
        var views = users.Select(View).ToList();
        return Hal.Ok(new OrganisationApiUserList(views.Count, views,
            new Dictionary<string, HalLink> { ["self"] = new(Paths.Organisation(nmsc) + "/api-users"), ["organisation"] = new(Paths.Organisation(nmsc)) }));
    }

    static async Task<IResult> GetAsync(string nmsc, string username, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var user = username.Length > 100 ? null
            : await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Username == username && u.Role == Roles.Organisation && u.Nmsc == nmsc, ct);
        return user is null ? NoUser(nmsc, username) : Hal.Ok(View(user));
    }

    static OrganisationApiUserView View(HubUser u) =>
        new(u.Username, u.Nmsc!, u.Context, u.ClientId!, HubTime.Format(u.CreatedAt), Links(u.Nmsc!, u.Username));

    static async Task<IResult> DeleteAsync(
        string nmsc, string username, ConsentDb db, LedgerWriter ledger, IOpenIddictApplicationManager applications, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (username.Length > 100) return NoUser(nmsc, username);
        await using var transaction = await ledger.BeginAsync(ct);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Username == username && u.Role == Roles.Organisation && u.Nmsc == nmsc, ct);
        if (user is null) return NoUser(nmsc, username);
        if (user.ClientId is { } clientId && await applications.FindByClientIdAsync(clientId, ct) is { } application)
            await applications.DeleteAsync(application, ct);
        db.Users.Remove(user);
        ledger.Append(LedgerEvents.OrganisationApiUserDeleted, new { username = user.Username, nmsc, context = user.Context, clientId = user.ClientId });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");

    static IResult NoUser(string nmsc, string username) => Problems.NotFound($"Organisation '{nmsc}' has no API user '{username}'.");

    static string PathOf(string nmsc, string username) => $"{Paths.Organisation(nmsc)}/api-users/{Uri.EscapeDataString(username)}";

    static Dictionary<string, HalLink> Links(string nmsc, string username) => new()
    {
        ["self"] = new(PathOf(nmsc, username)),
        ["organisation"] = new(Paths.Organisation(nmsc)),
    };
}
