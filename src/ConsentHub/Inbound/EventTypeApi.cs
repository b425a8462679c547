using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Inbound;

public sealed record EventTypeInput
{
    public string? Context { get; init; }
    public string? SourceSystem { get; init; }
    public JsonElement? Mapping { get; init; }
    public string? IdPointer { get; init; }
}

public sealed record EventTypeView(
    string EventTypeId, string Nmsc, string Context, string SourceSystem, JsonElement Mapping, string? IdPointer, string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record EventTypeList(
    int Count, IReadOnlyList<EventTypeView> EventTypes,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>What <c>:try</c> answers: the subscription data a sample event maps to, and what the consent rules say of it.</summary>
public sealed record EventTryView(
    bool Valid, string? SourceCustomerId, SubscriptionData? Data, IReadOnlyList<Violation> Violations,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record EventTokenView(
    Guid Id, string Label, string CreatedAt, string? LastUsedAt, string? RevokedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The only time a token is shown: the hub keeps its SHA-256 only.</summary>
public sealed record IssuedEventTokenView(
    Guid Id, string Label, string CreatedAt, string Token,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record EventTokenList(
    int Count, IReadOnlyList<EventTokenView> Tokens,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// The admin defines an organisation's inbound event types (seed 001), tries their mappings on sample events, and
/// issues and revokes their static tokens.
/// </summary>
public static partial class EventTypeApi
{
    /// <summary>Tokens in force per event type: enough for a rotation overlap, few enough to review.</summary>
    public const int MaxTokensPerType = 20;
    public const int MaxEventTypesPerOrganisation = 200;
    public const int MaxMappingBytes = 64 * 1024;
    const string Tag = "Inbound events (seed 001)";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex EventTypeName();

    public const string EventTypeNameRule = "1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

    public static IServiceCollection AddInbound(this IServiceCollection services) => services.AddScoped<EventIntake>().AddPollers();

    public static IEndpointRouteBuilder MapEventTypes(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/event-types").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapGet("", ListAsync)
            .WithName("ListEventTypes").WithSummary("The organisation's inbound event types.")
            .Produces<EventTypeList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{eventTypeId}", PutAsync)
            .WithName("PutEventType").WithSummary("Define or replace an event type: its context, source system, mapping and id pointer.")
            .Accepts<EventTypeInput>("application/json")
            .Produces<EventTypeView>(StatusCodes.Status201Created, Hal.MediaType).Produces<EventTypeView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{eventTypeId}", GetAsync)
            .WithName("GetEventType").WithSummary("One event type.")
            .Produces<EventTypeView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/{eventTypeId}", DeleteAsync)
            .WithName("DeleteEventType").WithSummary("Delete an event type and revoke its tokens; refused while a poller uses it.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPost("/{eventTypeId}:try", TryAsync)
            .WithName("TryEventType").WithSummary("Map a sample event: the subscription data it becomes and the rule violations; nothing is applied.")
            .Accepts<JsonElement>("application/json")
            .Produces<EventTryView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/{eventTypeId}/tokens", IssueTokenAsync)
            .WithName("IssueEventToken").WithSummary($"Issue a static token for the event type; shown in this answer only. At most {MaxTokensPerType} unrevoked per type.")
            .Accepts<ApiKeyInput>("application/json")
            .Produces<IssuedEventTokenView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{eventTypeId}/tokens", ListTokensAsync)
            .WithName("ListEventTokens").WithSummary("The event type's tokens, revoked ones included; never a token.")
            .Produces<EventTokenList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/{eventTypeId}/tokens/{id}", RevokeTokenAsync)
            .WithName("RevokeEventToken").WithSummary("Revoke a token: refused from the next request on, on every instance. Idempotent.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var types = await db.EventTypes.AsNoTracking().Where(t => t.Nmsc == nmsc).ToListAsync(ct);
        var views = types.OrderBy(t => t.Name, StringComparer.Ordinal).Select(View).ToList();
        return Hal.Ok(new EventTypeList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(ListPath(nmsc)),
            ["organisation"] = new(Paths.Organisation(nmsc)),
        }));
    }

    static async Task<IResult> PutAsync(string nmsc, string eventTypeId, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!EventTypeName().IsMatch(eventTypeId)) return Problems.Invalid("eventTypeId", "event-type-id", $"eventTypeId is {EventTypeNameRule}.");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<EventTypeInput>(http, ct, MaxMappingBytes);
        if (body.Error is not null) return body.Error;
        var input = body.Value!;

        var violations = new List<Violation>();
        if (string.IsNullOrWhiteSpace(input.Context)) violations.Add(new("context", "required", "context names the context the events belong to."));
        if (string.IsNullOrWhiteSpace(input.SourceSystem)) violations.Add(new("sourceSystem", "required", "sourceSystem names the source system the events are attributed to."));
        if (input.IdPointer is { } idPointer && EventMapping.CheckPointer(idPointer).Error is { } pointerError)
            violations.Add(new("idPointer", "json-pointer", pointerError));
        if (input.Mapping is not { } mappingJson || mappingJson.ValueKind == JsonValueKind.Null)
            violations.Add(new("mapping", "required", "mapping says how an event becomes subscription data; see samples/inbound/form-builder.json."));
        else
            violations.AddRange(EventMapping.Parse(mappingJson, await CategoryCatalogue.ReadAsync(db, nmsc, ct)).Violations);
        SourceSystem? system = null;
        if (violations.Count == 0)
        {
            var context = Names.Normalise(input.Context!);
            system = await db.SourceSystems.AsNoTracking().SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == input.SourceSystem, ct);
            if (system is null)
                violations.Add(new("sourceSystem", "unknown-source-system", $"Organisation '{nmsc}' has no source system '{input.SourceSystem}' in context '{context}'; register it first."));
            else if (!system.Active)
                violations.Add(new("sourceSystem", "deactivated", $"Source system '{system.Name}' is deactivated; reactivate it first."));
        }
        if (violations.Count > 0) return Problems.Invalid(violations);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.EventTypes.SingleOrDefaultAsync(t => t.Nmsc == nmsc && t.Name == eventTypeId, ct);
        var created = row is null;
        if (row is null)
        {
            if (await db.EventTypes.CountAsync(t => t.Nmsc == nmsc, ct) >= MaxEventTypesPerOrganisation)
                return Problems.Conflict($"Organisation '{nmsc}' already has {MaxEventTypesPerOrganisation} event types, the most it may hold; delete one first.");
            row = new EventType
            {
                Id = Guid.CreateVersion7(), Nmsc = nmsc, Name = eventTypeId, Context = system!.Context, SourceSystem = system.Name, Mapping = "{}", CreatedAt = now,
            };
            db.EventTypes.Add(row);
        }
        else if (row.SourceSystemId != system!.Id
            && await db.ApiKeys.AnyAsync(k => k.EventTypeId == row.Id && k.RevokedAt == null, ct))
        {
            // A token is bound to a source system: moving the type would leave its tokens authenticating as the old one.
            return Problems.Conflict($"Event type '{eventTypeId}' has unrevoked tokens of source system '{row.SourceSystem}': revoke them before moving it to another source system.");
        }
        row.Context = system.Context;
        row.SourceSystem = system.Name;
        row.SourceSystemId = system.Id;
        row.Mapping = input.Mapping!.Value.GetRawText();
        row.IdPointer = input.IdPointer;
        row.UpdatedAt = now;
        ledger.Append(LedgerEvents.EventTypeConfigured, new
        {
            nmsc, eventType = eventTypeId, context = row.Context, sourceSystem = row.SourceSystem, mapping = input.Mapping, idPointer = row.IdPointer,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return created ? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(View(row)), PathOf(row)) : Hal.Ok(View(row));
    }

    static async Task<IResult> GetAsync(string nmsc, string eventTypeId, ConsentDb db, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, eventTypeId, ct);
        return row is null ? NoEventType(eventTypeId) : Hal.Ok(View(row));
    }

    static async Task<IResult> DeleteAsync(string nmsc, string eventTypeId, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await FindAsync(db, nmsc, eventTypeId, ct, tracked: true);
        if (row is null) return NoEventType(eventTypeId);
        var pollers = await db.Pollers.AsNoTracking().Where(p => p.EventTypeId == row.Id).Select(p => p.Name).ToListAsync(ct);
        if (pollers.Count > 0)
            return Problems.Conflict($"Event type '{row.Name}' is polled by {string.Join(", ", pollers.Select(p => $"'{p}'"))}: delete or change those pollers first.");
        var now = time.Now();
        await db.ApiKeys.Where(k => k.EventTypeId == row.Id && k.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), ct);
        db.EventTypes.Remove(row);
        ledger.Append(LedgerEvents.EventTypeDeleted, new { nmsc = row.Nmsc, eventType = row.Name, context = row.Context, sourceSystem = row.SourceSystem });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> TryAsync(string nmsc, string eventTypeId, HttpRequest http, EventIntake intake, TimeProvider time, CancellationToken ct)
    {
        var target = await intake.TargetAsync(Names.Normalise(nmsc), eventTypeId, ct);
        if (target is null) return NoEventType(eventTypeId);
        var body = await JsonBody.ReadAsync<JsonDocument>(http, ct);
        if (body.Error is not null) return body.Error;
        using var document = body.Value!;
        var sample = document.RootElement;
        if (sample.ValueKind != JsonValueKind.Object)
            return Problems.Invalid("body", "json", "Send one sample event: a JSON object as the source system would post it.");
        var (sourceCustomerId, data, violations) = EventIntake.Try(target, sample, time.Now());
        return Hal.Ok(new EventTryView(violations.Count == 0, sourceCustomerId, data, violations, new Dictionary<string, HalLink>
        {
            ["self"] = new(PathOf(target.Type) + ":try"),
            ["event-type"] = new(PathOf(target.Type)),
        }));
    }

    static async Task<IResult> IssueTokenAsync(string nmsc, string eventTypeId, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ApiKeyInput>(http, ct);
        if (body.Error is not null) return body.Error;
        if (ApiKeyApi.LabelProblem(body.Value!.Label) is { } problem) return problem;

        await using var transaction = await ledger.BeginAsync(ct);
        var type = await FindAsync(db, nmsc, eventTypeId, ct);
        if (type is null) return NoEventType(eventTypeId);
        var system = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == type.SourceSystemId, ct);
        if (!system.Active) return Problems.Conflict($"Source system '{system.Name}' of this event type is deactivated: it gets no token. Reactivate it first.");
        if (await db.ApiKeys.CountAsync(k => k.EventTypeId == type.Id && k.RevokedAt == null, ct) >= MaxTokensPerType)
            return Problems.Conflict($"This event type already has {MaxTokensPerType} unrevoked tokens, the most it may hold; revoke one first.");
        var (row, token) = ApiKeys.Issue(db, system, body.Value.Label!, time.Now(), type.Id);
        ledger.Append(LedgerEvents.ApiKeyIssued, Identity(row, type));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        var view = new IssuedEventTokenView(row.Id, row.Label, HubTime.Format(row.CreatedAt), token, TokenLinks(type, row.Id));
        return Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), TokensPath(type) + $"/{row.Id}");
    }

    static async Task<IResult> ListTokensAsync(string nmsc, string eventTypeId, ConsentDb db, CancellationToken ct)
    {
        var type = await FindAsync(db, nmsc, eventTypeId, ct);
        if (type is null) return NoEventType(eventTypeId);
        var rows = await db.ApiKeys.AsNoTracking().Where(k => k.EventTypeId == type.Id).ToListAsync(ct);
        var views = rows.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id)
            .Select(k => new EventTokenView(k.Id, k.Label, HubTime.Format(k.CreatedAt), HubTime.Format(k.LastUsedAt), HubTime.Format(k.RevokedAt), TokenLinks(type, k.Id)))
            .ToList();
        return Hal.Ok(new EventTokenList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(TokensPath(type)),
            ["event-type"] = new(PathOf(type)),
        }));
    }

    static async Task<IResult> RevokeTokenAsync(string nmsc, string eventTypeId, string id, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var tokenId)) return NoToken();
        await using var transaction = await ledger.BeginAsync(ct);
        var type = await FindAsync(db, nmsc, eventTypeId, ct);
        if (type is null) return NoEventType(eventTypeId);
        var row = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == tokenId && k.EventTypeId == type.Id, ct);
        if (row is null) return NoToken();
        if (row.RevokedAt is null)
        {
            row.RevokedAt = time.Now();
            ledger.Append(LedgerEvents.ApiKeyRevoked, Identity(row, type));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return TypedResults.NoContent();
    }

    static Task<EventType?> FindAsync(ConsentDb db, string nmsc, string eventTypeId, CancellationToken ct, bool tracked = false)
    {
        nmsc = Names.Normalise(nmsc);
        var types = tracked ? db.EventTypes : db.EventTypes.AsNoTracking();
        return types.SingleOrDefaultAsync(t => t.Nmsc == nmsc && t.Name == eventTypeId, ct);
    }

    /// <summary>What the ledger keeps of a token: never the token nor its hash.</summary>
    static object Identity(ApiKey k, EventType type) =>
        new { id = k.Id, nmsc = k.Nmsc, context = k.Context, sourceSystem = k.SourceSystem, sourceSystemId = k.SourceSystemId, eventType = type.Name, label = k.Label };

    static EventTypeView View(EventType t)
    {
        using var mapping = JsonDocument.Parse(t.Mapping);
        return new(t.Name, t.Nmsc, t.Context, t.SourceSystem, mapping.RootElement.Clone(), t.IdPointer, HubTime.Format(t.CreatedAt), HubTime.Format(t.UpdatedAt),
            new Dictionary<string, HalLink>
            {
                ["self"] = new(PathOf(t)),
                ["tokens"] = new(TokensPath(t)),
                ["try"] = new(PathOf(t) + ":try"),
                ["events"] = new(EventApi.PathOf(t.Nmsc, t.Name)),
                ["event-types"] = new(ListPath(t.Nmsc)),
            });
    }

    static Dictionary<string, HalLink> TokenLinks(EventType type, Guid id) => new()
    {
        ["self"] = new(TokensPath(type) + $"/{id}"),
        ["tokens"] = new(TokensPath(type)),
        ["event-type"] = new(PathOf(type)),
    };

    static string ListPath(string nmsc) => Paths.Organisation(nmsc) + "/event-types";

    public static string PathOf(EventType t) => ListPath(t.Nmsc) + "/" + Uri.EscapeDataString(t.Name);

    static string TokensPath(EventType t) => PathOf(t) + "/tokens";

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");

    static IResult NoEventType(string eventTypeId) => Problems.NotFound($"The organisation has no event type '{eventTypeId}'.");

    static IResult NoToken() => Problems.NotFound("This event type has no token with that id.");
}
