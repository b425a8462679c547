using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Inbound;

/// <summary>Assertions and small steps shared by the event type, mapping, token and delivery tests.</summary>
public static class InboundChecks
{
    /// <summary>An event type of toyota/forms: the mapping given, or one that reads /id and /newsletter (a JSON boolean).</summary>
    public static string TypeBody(string? mapping = null, string? idPointer = null, string context = "toyota", string sourceSystem = "forms")
    {
        var body = new JsonObject
        {
            ["context"] = context,
            ["sourceSystem"] = sourceSystem,
            ["mapping"] = JsonNode.Parse(mapping ?? """{ "sourceCustomerId": "/id", "email": "/mail", "validated": "/ok", "consents": { "OFFERS": "/newsletter" } }"""),
        };
        if (idPointer is not null) body["idPointer"] = idPointer;
        return body.ToJsonString();
    }

    /// <summary>An organisation with toyota/forms and an event type of it; returns the admin client.</summary>
    public static async Task<(HttpClient Admin, SourceSystemCredentials Forms)> TypeAsync(HubApp app, string nmsc, string eventTypeId = "signup", string? body = null)
    {
        var forms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "forms");
        var admin = await app.AdminAsync();
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, eventTypeId), Inbound.Json(body ?? TypeBody())), HttpStatusCode.Created);
        return (admin, forms);
    }

    /// <summary>Asserts a 400 problem whose violations include (<paramref name="field"/>, <paramref name="rule"/>); returns the violations.</summary>
    public static async Task<JsonArray> InvalidAsync(Task<HttpResponseMessage> call, string field, string rule, string? what = null)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: expected 400, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var violations = JsonNode.Parse(text)!["violations"]!.AsArray();
        Assert.True(violations.Any(v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule),
            $"{what}: expected a violation ({field}, {rule}); got {violations.ToJsonString()}");
        return violations;
    }

    /// <summary>Asserts a problem of <paramref name="status"/>; returns its body.</summary>
    public static async Task<JsonObject> ProblemAsync(Task<HttpResponseMessage> call, HttpStatusCode status, string? what = null)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{what}: expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>POST /events with the token in the given place (bearer, x-api-key, api-key or query).</summary>
    public static Task<HttpResponseMessage> PostEventsAsync(HttpClient client, string nmsc, string eventTypeId, string? token, string body, string how = "bearer",
        string mediaType = "application/json")
    {
        var path = Inbound.EventsPath(nmsc, eventTypeId) + (how == "query" && token is not null ? "?token=" + Uri.EscapeDataString(token) : "");
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        if (token is not null)
        {
            switch (how)
            {
                case "bearer": request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token); break;
                case "x-api-key": request.Headers.Add("x-api-key", token); break;
                case "api-key": request.Headers.Add("api-key", token); break;
                case "query": break;
                default: throw new ArgumentOutOfRangeException(nameof(how), how, null);
            }
        }
        return client.SendAsync(request);
    }

    /// <summary>Asserts a 401 with the event-token problem.</summary>
    public static async Task UnauthorisedAsync(Task<HttpResponseMessage> call, string what)
    {
        var problem = await ProblemAsync(call, HttpStatusCode.Unauthorized, what);
        Assert.EndsWith("/event-token", problem["type"]!.GetValue<string>());
    }

    /// <summary>The ledger entries of <paramref name="type"/> whose payload names the organisation, oldest first.</summary>
    public static async Task<List<JsonObject>> LedgerAsync(HubApp app, string nmsc, string type)
    {
        using var scope = app.Scope();
        var rows = await app.Db(scope).LedgerEntries.AsNoTracking().Where(e => e.Type == type).OrderBy(e => e.Index).ToListAsync();
        return [.. rows.Select(e => JsonNode.Parse(e.Payload)!.AsObject()).Where(p => p["nmsc"]?.GetValue<string>() == nmsc)];
    }

    /// <summary>The record's customer row id, or null when the record does not exist.</summary>
    public static async Task<long?> CustomerIdAsync(HubApp app, string nmsc, string sourceSystem, string sourceCustomerId)
    {
        using var scope = app.Scope();
        return await app.Db(scope).Customers.AsNoTracking()
            .Where(c => c.Nmsc == nmsc && c.SourceSystem == sourceSystem && c.SourceCustomerId == sourceCustomerId)
            .Select(c => (long?)c.Id).SingleOrDefaultAsync();
    }

    public static int Int(JsonNode? node) => node!.GetValue<int>();

    public static string Str(JsonNode? node) => node!.GetValue<string>();
}
