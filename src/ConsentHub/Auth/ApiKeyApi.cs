using System.Text.Json.Serialization;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Auth;

public sealed record ApiKeyInput
{
    /// <summary>What the key is for, for the people who manage it (e.g. "unsubscribe page"); 1 to 100 characters.</summary>
    public string? Label { get; init; }
}

public sealed record ApiKeyView(
    Guid Id, string Label, string CreatedAt, string? LastUsedAt, string? RevokedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The only time the key is shown: the hub keeps its SHA-256 only.</summary>
public sealed record IssuedApiKeyView(
    Guid Id, string Label, string CreatedAt, string Key,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ApiKeyList(
    int Count, IReadOnlyList<ApiKeyView> ApiKeys,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// The admin issues, lists and revokes the API keys of a source system (seed 002's api-key header). A revoked key is
/// refused by the next request on every instance, as each request looks its key up (<see cref="ApiKeys.FindActiveAsync"/>).
/// </summary>
public static class ApiKeyApi
{
    /// <summary>Keys in force per source system: enough for a rotation overlap on every client, few enough to review.</summary>
    public const int MaxUnrevokedPerSystem = 20;
    public const int MaxLabelLength = 100;

    public static IEndpointRouteBuilder MapApiKeys(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}")
            .WithTags("API keys").RequireAuthorization(AuthSetup.AdminPolicy);
        keys.MapPost("/api-keys", IssueAsync)
            .WithName("IssueApiKey").WithSummary($"Issue an API key to a source system; the key is shown in this answer only. At most {MaxUnrevokedPerSystem} unrevoked keys per system.")
            .Accepts<ApiKeyInput>("application/json")
            .Produces<IssuedApiKeyView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        keys.MapGet("/api-keys", ListAsync)
            .WithName("ListApiKeys").WithSummary("The API keys of a source system, revoked ones included; never a key.")
            .Produces<ApiKeyList>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        keys.MapGet("/api-keys/{id}", GetAsync)
            .WithName("GetApiKey").WithSummary("One API key of a source system; never the key.")
            .Produces<ApiKeyView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        keys.MapDelete("/api-keys/{id}", RevokeAsync)
            .WithName("RevokeApiKey").WithSummary("Revoke an API key: it is refused from the next request on, on every instance. Idempotent.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> IssueAsync(
        string context, string nmsc, string sourceSystem, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ApiKeyInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var label = body.Value!.Label;
        if (LabelProblem(label) is { } problem) return problem;

        await using var transaction = await ledger.BeginAsync(ct);
        var system = await FindSystemAsync(db, context, nmsc, sourceSystem, ct);
        if (system is null) return NoSystem();
        if (!system.Active)
            return Problems.Conflict("This source system is deactivated: it gets no API key. Reactivate it first.");
        var unrevoked = await db.ApiKeys.CountAsync(k => k.SourceSystemId == system.Id && k.EventTypeId == null && k.RevokedAt == null, ct);
        if (unrevoked >= MaxUnrevokedPerSystem)
            return Problems.Conflict($"This source system already has {MaxUnrevokedPerSystem} unrevoked API keys, the most it may hold; revoke one first.");

        var (row, key) = ApiKeys.Issue(db, system, label!, time.Now());
        ledger.Append(LedgerEvents.ApiKeyIssued, Identity(row));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);

        var view = new IssuedApiKeyView(row.Id, row.Label, HubTime.Format(row.CreatedAt), key, Links(row));
        return Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), PathOf(row));
    }

    static async Task<IResult> ListAsync(string context, string nmsc, string sourceSystem, ConsentDb db, CancellationToken ct)
    {
        var system = await FindSystemAsync(db, context, nmsc, sourceSystem, ct);
        if (system is null) return NoSystem();
        var rows = await db.ApiKeys.AsNoTracking().Where(k => k.SourceSystemId == system.Id && k.EventTypeId == null).ToListAsync(ct);
        var views = rows.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).Select(View).ToList();
        var path = ListPathOf(system.Context, system.Nmsc, system.Name);
        return Hal.Ok(new ApiKeyList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(path),
            ["source-system"] = new(Paths.SourceSystem(system.Id)),
        }));
    }

    static async Task<IResult> GetAsync(string context, string nmsc, string sourceSystem, string id, ConsentDb db, CancellationToken ct)
    {
        var system = await FindSystemAsync(db, context, nmsc, sourceSystem, ct);
        if (system is null) return NoSystem();
        if (!Guid.TryParse(id, out var keyId)) return NoKey();
        var row = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId && k.SourceSystemId == system.Id && k.EventTypeId == null, ct);
        return row is null ? NoKey() : Hal.Ok(View(row));
    }

    /// <summary>Revoking keeps the row (its history is shown in the list); revoking a revoked key changes nothing.</summary>
    static async Task<IResult> RevokeAsync(
        string context, string nmsc, string sourceSystem, string id, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var keyId)) return NoKey();
        await using var transaction = await ledger.BeginAsync(ct);
        var system = await FindSystemAsync(db, context, nmsc, sourceSystem, ct);
        if (system is null) return NoSystem();
        // Another system's key is not found here, even when the id exists.
        var row = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId && k.SourceSystemId == system.Id && k.EventTypeId == null, ct);
        if (row is null) return NoKey();
        if (row.RevokedAt is null)
        {
            row.RevokedAt = time.Now();
            ledger.Append(LedgerEvents.ApiKeyRevoked, Identity(row));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return TypedResults.NoContent();
    }

    /// <summary>The rules of a key's label (also an event type token's): 1 to <see cref="MaxLabelLength"/> characters, no control characters.</summary>
    public static IResult? LabelProblem(string? label)
    {
        if (string.IsNullOrWhiteSpace(label)) return Problems.Invalid("label", "required", "label names what the key is for.");
        if (label.Length > MaxLabelLength)
            return Problems.Invalid("label", "max-length", $"label may be at most {MaxLabelLength} characters.");
        if (label.Any(char.IsControl)) return Problems.Invalid("label", "control-characters", "label may not contain control characters.");
        return null;
    }

    static Task<SourceSystem?> FindSystemAsync(ConsentDb db, string context, string nmsc, string sourceSystem, CancellationToken ct)
    {
        context = Names.Normalise(context);
        nmsc = Names.Normalise(nmsc);
        return db.SourceSystems.AsNoTracking().SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == sourceSystem, ct);
    }

    /// <summary>What the ledger keeps of a key: never the key nor its hash.</summary>
    static object Identity(ApiKey k) =>
        new { id = k.Id, nmsc = k.Nmsc, context = k.Context, sourceSystem = k.SourceSystem, sourceSystemId = k.SourceSystemId, label = k.Label };

    static ApiKeyView View(ApiKey k) =>
        new(k.Id, k.Label, HubTime.Format(k.CreatedAt), HubTime.Format(k.LastUsedAt), HubTime.Format(k.RevokedAt), Links(k));

    static string ListPathOf(string context, string nmsc, string sourceSystem) => Paths.SourceSystemOf(context, nmsc, sourceSystem) + "/api-keys";

    public static string PathOf(ApiKey k) => ListPathOf(k.Context, k.Nmsc, k.SourceSystem) + $"/{k.Id}";

    static Dictionary<string, HalLink> Links(ApiKey k) => new()
    {
        ["self"] = new(PathOf(k)),
        ["api-keys"] = new(ListPathOf(k.Context, k.Nmsc, k.SourceSystem)),
        ["source-system"] = new(Paths.SourceSystem(k.SourceSystemId)),
    };

    static IResult NoSystem() => Problems.NotFound("No such source system.");

    static IResult NoKey() => Problems.NotFound("This source system has no API key with that id.");
}
