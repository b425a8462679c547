using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

public sealed record DpoUserInput
{
    public string? Username { get; init; }
    /// <summary>dpo (one organisation) or head-office-dpo (every organisation of the context).</summary>
    public string? Role { get; init; }
    public string? Context { get; init; }
    /// <summary>Required for dpo, not allowed for head-office-dpo.</summary>
    public string? Nmsc { get; init; }
}

public sealed record UserView(
    string Username, string Role, string? Context, string? Nmsc, string CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LockedUntil,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The only time a DPO's password is shown: it is stored hashed.</summary>
public sealed record DpoUserCredentialsView(
    string Username, string Role, string Context, string? Nmsc, string Password, string CreatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record UserList(
    int Count, IReadOnlyList<UserView> Users,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The admin creates, lists and removes the people who may bulk-export (seed 004 §3.6.1). Admin role only.</summary>
public static partial class DpoUsers
{
    const int DefaultPageSize = 100;
    const int MaxPageSize = 1_000;
    const int MaxUsernameLength = 100;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")]
    private static partial Regex UsernameShape();

    const string UsernameRule = "1 to 100 characters: letters, digits, '.', '_', '@' or '-', starting with a letter or digit";

    public static IEndpointRouteBuilder MapDpoUsers(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Administration").RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPost("/users", CreateAsync)
            .WithName("CreateDpoUser").WithSummary("Create a DPO (dpo for one organisation, head-office-dpo for every organisation of a context); the password is shown in this answer only.")
            .Accepts<DpoUserInput>("application/json")
            .Produces<DpoUserCredentialsView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/users", ListAsync)
            .WithName("ListUsers").WithSummary("Users who sign in with a password (admin, source systems' technical users, DPOs), optionally of one role; no secrets; paginated.")
            .Produces<UserList>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        admin.MapGet("/users/{username}", GetAsync)
            .WithName("GetUser").WithSummary("One user; no secrets.")
            .Produces<UserView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/users/{username}", DeleteAsync)
            .WithName("DeleteDpoUser").WithSummary("Remove a DPO; their browser sessions end at their next request.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    static async Task<IResult> CreateAsync(HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<DpoUserInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var input = body.Value!;
        var violations = new List<Violation>();
        if (input.Username is null)
            violations.Add(new("username", "required", "username is required."));
        else if (!UsernameShape().IsMatch(input.Username))
            violations.Add(new("username", "username", $"username must be {UsernameRule}."));
        if (input.Role is null)
            violations.Add(new("role", "required", $"role is required: {Roles.Dpo} or {Roles.HeadOfficeDpo}."));
        else if (!Roles.IsDpo(input.Role))
            violations.Add(new("role", "dpo-role", $"role must be {Roles.Dpo} (one organisation) or {Roles.HeadOfficeDpo} (every organisation of the context)."));
        var context = Names.Normalise(input.Context ?? "");
        if (input.Context is null)
            violations.Add(new("context", "required", "context is required: the DPO role is defined per context."));
        else if (!Names.IsTenantName(context))
            violations.Add(new("context", "tenant-name", $"context must be {Names.TenantNameRule}."));
        string? nmsc = null;
        if (input.Role == Roles.Dpo)
        {
            nmsc = Names.Normalise(input.Nmsc ?? "");
            if (input.Nmsc is null)
                violations.Add(new("nmsc", "required-for-dpo", "nmsc is required for a dpo: the organisation whose consent they export."));
            else if (!Names.IsTenantName(nmsc))
                violations.Add(new("nmsc", "tenant-name", $"nmsc must be {Names.TenantNameRule}."));
        }
        else if (input.Role == Roles.HeadOfficeDpo && input.Nmsc is not null)
        {
            violations.Add(new("nmsc", "not-allowed-for-head-office-dpo", "A head-office-dpo exports every organisation of the context: leave nmsc out."));
        }
        if (violations.Count > 0) return Problems.Invalid(violations);

        if (!await db.Contexts.AnyAsync(c => c.Name == context, ct))
            violations.Add(new("context", "must-exist", $"No context '{context}'; create it with PUT /admin/contexts/{context} first."));
        if (nmsc is not null && !await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct))
            violations.Add(new("nmsc", "must-exist", $"No organisation '{nmsc}'; create it with PUT /admin/organisations/{nmsc} first."));
        if (violations.Count > 0) return Problems.Invalid(violations);

        await using var transaction = await ledger.BeginAsync(ct);
        // The ledger lock serialises writers, so this check and the insert cannot interleave with another creation.
        if (await db.Users.AnyAsync(u => u.Username == input.Username, ct))
            return Problems.Conflict($"A user named '{input.Username}' already exists.");
        var password = Secrets.Generate();
        var user = new HubUser
        {
            Username = input.Username!, PasswordHash = Secrets.HashPassword(password), Role = input.Role!,
            Context = context, Nmsc = nmsc, CreatedAt = time.Now(),
        };
        db.Users.Add(user);
        ledger.Append(LedgerEvents.DpoUserCreated, new { username = user.Username, role = user.Role, context, nmsc });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);

        var view = new DpoUserCredentialsView(user.Username, user.Role, context, nmsc, password, HubTime.Format(user.CreatedAt), Links(user.Username));
        return Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), PathOf(user.Username));
    }

    static async Task<IResult> ListAsync(string? role, string? after, string? limit, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var (afterId, size, pageError) = Paging.Read(after, limit, DefaultPageSize, MaxPageSize);
        if (pageError is not null) return pageError;
        var query = db.Users.AsNoTracking().Where(u => u.Id > afterId);
        if (role is not null) query = query.Where(u => u.Role == role);
        var page = await query.OrderBy(u => u.Id).Take(size + 1).ToListAsync(ct);
        var now = time.Now();
        var views = page.Take(size).Select(u => View(u, now)).ToList();
        var path = role is null ? "/admin/users" : $"/admin/users?role={Uri.EscapeDataString(role)}";
        var links = new Dictionary<string, HalLink> { ["self"] = Paging.Link(path, afterId, size) };
        if (page.Count > size) links["next"] = Paging.Link(path, page[size - 1].Id, size);
        return Hal.Ok(new UserList(views.Count, views, links));
    }

    static async Task<IResult> GetAsync(string username, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var user = username.Length > MaxUsernameLength ? null : await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Username == username, ct);
        return user is null ? Problems.NotFound($"No user '{username}'.") : Hal.Ok(View(user, time.Now()));
    }

    static async Task<IResult> DeleteAsync(string username, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        if (username.Length > MaxUsernameLength) return Problems.NotFound($"No user '{username}'.");
        await using var transaction = await ledger.BeginAsync(ct);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Username == username, ct);
        if (user is null) return Problems.NotFound($"No user '{username}'.");
        if (!Roles.IsDpo(user.Role))
            return Problems.Conflict($"'{username}' is not a DPO; only DPO users are removed here (a source system's user belongs to its source system).");
        db.Users.Remove(user);
        ledger.Append(LedgerEvents.DpoUserDeleted, new { username = user.Username, role = user.Role, context = user.Context, nmsc = user.Nmsc });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static UserView View(HubUser u, DateTime now) => new(u.Username, u.Role, u.Context, u.Nmsc, HubTime.Format(u.CreatedAt),
        u.LockedUntil > now ? HubTime.Format(u.LockedUntil) : null, Links(u.Username));

    static Dictionary<string, HalLink> Links(string username) => new() { ["self"] = new(PathOf(username)) };

    static string PathOf(string username) => $"/admin/users/{Uri.EscapeDataString(username)}";
}
