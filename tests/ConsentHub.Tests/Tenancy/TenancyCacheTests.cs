using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Tenancy;

/// <summary>
/// What every change reads of its organisation's set-up (categories, settings, source systems) is kept in memory on
/// PostgreSQL; an administrator's change to it applies at once on the instance that made it and moments later on every
/// other one, never only after a restart.
/// </summary>
public sealed class TenancyCacheTests
{
    /// <summary>Submits until the answer's status is <paramref name="expected"/> or 5 s have passed; returns the last answer.</summary>
    static Task<HttpResponseMessage> SubmitUntilAsync(
        HttpClient client, SourceSystemCredentials system, string customerId, JsonObject body, HttpStatusCode expected) =>
        Poll.UntilAsync(() => HubApp.SubmitAsync(client, system, customerId, body.DeepClone().AsObject()), a => a.StatusCode == expected,
            TimeSpan.FromSeconds(5));

    static JsonObject WithEmail(string code, string email)
    {
        var body = Seed.Consent(code, true);
        body["consent"]!["communicationAttributes"] = new JsonObject { ["email"] = email };
        return body;
    }

    [ProviderTheory, Providers]
    public async Task Hiding_a_category_and_switching_matching_on_apply_at_once_here_and_moments_later_on_another_instance(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        await using var second = app.SecondInstance();
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var here = await app.AsAsync(crm);
        using var there = second.WithToken(here.DefaultRequestHeaders.Authorization!.Parameter!);
        await app.NoticesHeardAsync();
        await second.NoticesHeardAsync();
        // Both instances have read the organisation's set-up (and, on PostgreSQL, keep it).
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(here, crm, "c1", Seed.Consent("EVENTS", true))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(there, crm, "c2", Seed.Consent("EVENTS", true))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(there, crm, "m1", WithEmail("OFFERS", "jane@example.com"))).StatusCode);

        // Matching first: notices arrive in commit order, so once the other instance refuses the hidden category it has
        // also heard of the matching switch.
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
        var hidden = await admin.PutAsync($"/admin/organisations/{nmsc}/categories",
            JsonContent.Create(new JsonObject { ["hidden"] = new JsonArray("EVENTS") }));
        Assert.Equal(HttpStatusCode.OK, hidden.StatusCode);

        // Here at once.
        var refusedHere = await HubApp.SubmitAsync(here, crm, "c1", Seed.Consent("EVENTS", false));
        Assert.Equal(HttpStatusCode.BadRequest, refusedHere.StatusCode);
        Assert.Contains("hidden-category", await refusedHere.Content.ReadAsStringAsync());
        // There when the notice arrives.
        var refusedThere = await SubmitUntilAsync(there, crm, "c2", Seed.Consent("EVENTS", false), HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.BadRequest, refusedThere.StatusCode);
        Assert.Contains("hidden-category", await refusedThere.Content.ReadAsStringAsync());
        // The other instance now links records by email: m2 joins m1 (applied by the instance that did not switch it on).
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(there, crm, "m2", WithEmail("OFFERS", "jane@example.com"))).StatusCode);
        var cluster = await Json.ReadAsync(await there.GetAsync(HubApp.SubscriptionDataPath(crm, "m2").Replace("/subscription-data", "/cluster")));
        Assert.Equal(["m1", "m2"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
    }
}
