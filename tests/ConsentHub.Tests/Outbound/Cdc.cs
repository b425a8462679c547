using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Outbound;

/// <summary>Arranging change data capture subscriptions as an admin does.</summary>
public static class Cdc
{
    public static string Path(string nmsc, string name) => $"/admin/organisations/{nmsc}/cdc/{name}";

    public static JsonObject Body(string exchange, string[] fields, string[]? contexts = null, bool includePersonalData = false)
    {
        var body = new JsonObject
        {
            ["fields"] = new JsonArray([.. fields.Select(f => (JsonNode)f)]),
            ["exchange"] = exchange,
            ["includePersonalData"] = includePersonalData,
        };
        if (contexts is not null) body["contexts"] = new JsonArray([.. contexts.Select(c => (JsonNode)c)]);
        return body;
    }

    public static Task<JsonObject> PutAsync(HttpClient admin, string nmsc, string name, JsonObject body, HttpStatusCode status = HttpStatusCode.Created) =>
        Inbound.Inbound.ExpectAsync(admin.PutAsJsonAsync(Path(nmsc, name), body), status);

    public static Task<JsonObject> StatusAsync(HttpClient admin, string nmsc, string name) =>
        Inbound.Inbound.ExpectAsync(admin.GetAsync(Path(nmsc, name) + "/status"), HttpStatusCode.OK);

    /// <summary>
    /// The status once the subscription has caught up (no change owed) and counts at least <paramref name="published"/>
    /// events, 10 s at most; then the last status read, for the caller's exact assertions. The publisher stores its cursor
    /// and count after the broker confirms, so a consumer may hold an event a moment before the status shows it.
    /// </summary>
    public static Task<JsonObject> CaughtUpStatusAsync(HttpClient admin, string nmsc, string name, long published) =>
        Poll.UntilAsync(() => StatusAsync(admin, nmsc, name),
            s => s["lag"]!["changes"]!.GetValue<long>() == 0 && s["publishedCount"]!.GetValue<long>() >= published, TimeSpan.FromSeconds(10), 50);

    /// <summary>Submits a validated change of one consent for a record, asserting it applied (201).</summary>
    public static async Task SubmitAsync(HttpClient client, SourceSystemCredentials system, string customerId, JsonObject body)
    {
        using var response = await HubApp.SubmitAsync(client, system, customerId, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"submitting for {customerId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>A timestamp <paramref name="minutes"/> after a fixed start, so later changes are newer.</summary>
    public static string At(int minutes) => new DateTime(2024, 1, 1, 10, 0, 0, DateTimeKind.Utc).AddMinutes(minutes).ToString("yyyy-MM-ddTHH:mm:ssZ");

    public static string Exchange() => HubApp.Unique("cdc");
}
