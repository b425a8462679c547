using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Http.Features;

namespace ConsentHub.Inbound;

/// <summary>What a delivery of events became, event by event.</summary>
public sealed record EventDeliveryView(
    string EventType, int Received, int Accepted, int Duplicates, int Rejected, IReadOnlyList<EventOutcome> Events,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// <c>POST /events/{nmsc}/{eventTypeId}</c> (seed 001): a system that can only post its own JSON with a static token
/// delivers one event or an array of up to <see cref="EventIntake.MaxEvents"/>; each is taken in by <see cref="EventIntake"/>.
/// </summary>
public static class EventApi
{
    /// <summary>A delivery's body: 1,000 events of a few kilobytes each.</summary>
    public const int MaxBodyBytes = 8 * 1024 * 1024;
    public const string TokenHeader = "x-api-key";

    public static string PathOf(string nmsc, string eventTypeId) => $"/events/{Uri.EscapeDataString(nmsc)}/{Uri.EscapeDataString(eventTypeId)}";

    public static IServiceCollection AddQueryTokenRedaction(this IServiceCollection services) =>
        services.AddSingleton<IHttpContextFactory, QueryTokenRedaction>();

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder app)
    {
        app.MapEventTypes();
        app.MapPollers();
        // The static token is checked here, not by an authentication scheme: it may come as a bearer token, in x-api-key
        // or api-key, or in the query, and it opens this one event type only.
        app.MapPost("/events/{nmsc}/{eventTypeId}", PostAsync)
            .AllowAnonymous()
            .WithTags("Inbound events (seed 001)")
            .WithName("PostEvents")
            .WithSummary($"Deliver one event (a JSON object) or an array of up to {EventIntake.MaxEvents}; the token comes as Authorization: Bearer, x-api-key or ?token=.")
            .Accepts<JsonElement>("application/json")
            .Produces<EventDeliveryView>(StatusCodes.Status202Accepted, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return app;
    }

    static async Task<IResult> PostAsync(
        string nmsc, string eventTypeId, HttpContext http, ConsentDb db, EventIntake intake, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var presented = PresentedTokens(http);
        if (presented.Count == 0)
            return Unauthorised("Send the event type's static token as Authorization: Bearer <token>, in the x-api-key header, or as ?token=<token>.");
        // An unknown type answers as a wrong token does: a caller without a token learns nothing of the organisation's types.
        var target = await intake.TargetAsync(nmsc, eventTypeId, ct);
        ApiKey? key = null;
        // A proxy in front of the sender may add an Authorization header of its own: any token presented that is in force will do.
        foreach (var candidate in presented)
        {
            if (target is null || key is not null) break;
            key = await ApiKeys.FindActiveAsync(db, candidate, ct, target.Type.Id);
        }
        if (target is null || key is null || key.SourceSystemId != target.System.Id)
            return Unauthorised("The token is not in force for this event type: it is unknown, revoked, of another event type, or its source system is deactivated.");
        await ApiKeys.MarkUsedAsync(db, key, time.Now(), ct);

        var body = await JsonBody.ReadAsync<JsonDocument>(http.Request, ct, MaxBodyBytes);
        if (body.Error is not null) return body.Error;
        using var document = body.Value!;
        var root = document.RootElement;
        List<JsonElement> events;
        if (root.ValueKind == JsonValueKind.Array)
        {
            var count = root.GetArrayLength();
            if (count == 0) return Problems.Invalid("body", "required", "The array holds no event; send one event (an object) or an array of them.");
            if (count > EventIntake.MaxEvents)
                return Problems.Invalid("body", "max-events", $"At most {EventIntake.MaxEvents} events in one delivery; got {count}.");
            events = [.. root.EnumerateArray()];
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            events = [root];
        }
        else
        {
            return Problems.Invalid("body", "json", "Send one event (a JSON object) or an array of events.");
        }

        var outcomes = new List<EventOutcome>(events.Count);
        for (var i = 0; i < events.Count; i++)
            outcomes.Add(await intake.ApplyAsync(target, events[i], i, "post", ct));
        var view = new EventDeliveryView(target.Type.Name, outcomes.Count,
            outcomes.Count(o => o.Status == EventStatuses.Accepted), outcomes.Count(o => o.Status == EventStatuses.Duplicate),
            outcomes.Count(o => o.Status == EventStatuses.Rejected), outcomes,
            new Dictionary<string, HalLink> { ["self"] = new(PathOf(target.Type.Nmsc, target.Type.Name)) });
        return Hal.Raw(StatusCodes.Status202Accepted, Hal.Serialize(view), null);
    }

    /// <summary>The tokens presented, as the seed allows them: a bearer token, the x-api-key (or api-key) header, the query (taken off it already).</summary>
    static List<string> PresentedTokens(HttpContext http)
    {
        var candidates = new[]
        {
            BearerAuthentication.TokenOf(http.Request.Headers.Authorization.FirstOrDefault()),
            http.Request.Headers[TokenHeader].FirstOrDefault(),
            http.Request.Headers[ApiKeyAuthentication.Header].FirstOrDefault(),
            http.Features.Get<QueryTokenFeature>()?.Token,
        };
        return [.. candidates.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t!.Trim()).Distinct().Take(4)];
    }

    static IResult Unauthorised(string detail) => Problems.Problem(StatusCodes.Status401Unauthorized, "The event token is missing or not valid.", detail, "event-token");
}
