using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Consents;

/// <summary>Issue 2 §5 "Idempotency": a retried POST with an Idempotency-Key gets the first answer and stores nothing twice.</summary>
public sealed class IdempotencyTests
{
    [ProviderTheory, Providers]
    public async Task Retry_with_the_same_key_and_body_replays_the_first_answer_and_stores_one_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var key = Guid.NewGuid().ToString();

        var first = await HubApp.SubmitAsync(client, crm, "c1", Seed.Customer123, key);
        var retry = await HubApp.SubmitAsync(client, crm, "c1", Seed.Customer123, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.NotNull(first.Headers.Location);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(first.Content.Headers.ContentType?.MediaType, retry.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        var history = await HistoryAsync(client, crm, "c1");
        var change = Assert.Single(history);
        Assert.Equal(first.Headers.Location!.OriginalString, $"/change-requests/{change!["id"]}");
    }

    [ProviderTheory, Providers]
    public async Task Retry_of_a_pending_change_replays_202_and_stores_one_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true, validated: false).ToJsonString();

        var first = await HubApp.SubmitAsync(client, crm, "c1", body, "pending-1");
        var retry = await HubApp.SubmitAsync(client, crm, "c1", body, "pending-1");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("PENDING_VALIDATION", Assert.Single(await HistoryAsync(client, crm, "c1"))!["status"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Same_key_with_a_different_body_is_422_and_changes_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var first = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true), "key-1");
        var reused = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", false, "2024-02-01T10:00:00Z"), "key-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.Content.Headers.ContentType?.MediaType);
        Assert.Null(reused.Headers.Location);
        var problem = await Json.ReadAsync(reused);
        Assert.Equal(422, problem["status"]!.GetValue<int>());
        Assert.EndsWith("/idempotency-key-reused", problem["type"]!.GetValue<string>());
        Assert.Single(await HistoryAsync(client, crm, "c1"));
        var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        Assert.True(data["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task Same_key_and_body_for_another_customer_is_not_answered_with_the_first_customers_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true).ToJsonString();

        var first = await HubApp.SubmitAsync(client, crm, "c1", body, "key-1");
        var other = await HubApp.SubmitAsync(client, crm, "c2", body, "key-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        // A replay here would acknowledge c2's change with c1's Location while storing nothing for c2.
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c2"))).StatusCode);
        Assert.Single(await HistoryAsync(client, crm, "c1"));
    }

    [ProviderTheory, Providers]
    public async Task Keys_belong_to_their_caller_so_two_source_systems_may_use_the_same_key(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var web = await app.RegisterSourceSystemAsync(nmsc, "toyota", "web");
        using var crmClient = await app.AsAsync(crm);
        using var webClient = await app.AsAsync(web);
        var body = Seed.Consent("OFFERS", true).ToJsonString();

        var fromCrm = await HubApp.SubmitAsync(crmClient, crm, "c1", body, "shared-key");
        var fromWeb = await HubApp.SubmitAsync(webClient, web, "c1", body, "shared-key");

        Assert.Equal(HttpStatusCode.Created, fromCrm.StatusCode);
        Assert.Equal(HttpStatusCode.Created, fromWeb.StatusCode);
        Assert.NotEqual(fromCrm.Headers.Location, fromWeb.Headers.Location);
        Assert.Equal("crm", (await Json.ReadAsync(fromCrm))["sourceSystem"]!.GetValue<string>());
        Assert.Equal("web", (await Json.ReadAsync(fromWeb))["sourceSystem"]!.GetValue<string>());
        Assert.Single(await HistoryAsync(crmClient, crm, "c1"));
        Assert.Single(await HistoryAsync(webClient, web, "c1"));

        // Each caller's retry still replays its own first answer.
        var crmRetry = await HubApp.SubmitAsync(crmClient, crm, "c1", body, "shared-key");
        Assert.Equal(fromCrm.Headers.Location, crmRetry.Headers.Location);
        Assert.Single(await HistoryAsync(crmClient, crm, "c1"));
    }

    [ProviderTheory, Providers]
    public async Task Malformed_key_is_400_naming_the_header_and_changes_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true).ToJsonString();
        string[][] badKeys = [[new string('k', 300)], [new string('k', 256)], ["has space"], ["tab\tkey"], ["één"], ["one", "two"]];

        for (var i = 0; i < badKeys.Length; i++)
        {
            var customer = $"bad-{i}";
            using var request = new HttpRequestMessage(HttpMethod.Post, HubApp.SubscriptionDataPath(crm, customer))
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            Assert.True(request.Headers.TryAddWithoutValidation("Idempotency-Key", badKeys[i]), $"key {i}");
            var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"key {i}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var violation = Assert.Single(JsonNode.Parse(text)!["violations"]!.AsArray())!;
            Assert.Equal("Idempotency-Key", violation["field"]!.GetValue<string>());
            Assert.Equal("idempotency-key", violation["rule"]!.GetValue<string>());
            Assert.True(HttpStatusCode.NotFound == (await client.GetAsync(HubApp.SubscriptionDataPath(crm, customer))).StatusCode, $"key {i} stored a change");
        }

        var longest = await HubApp.SubmitAsync(client, crm, "ok", body, new string('k', 255));
        Assert.Equal(HttpStatusCode.Created, longest.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_refused_request_does_not_use_up_its_key(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var refused = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("NEWSLETTER", true), "key-1");
        var corrected = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true), "key-1");

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Created, corrected.StatusCode);
        Assert.Single(await HistoryAsync(client, crm, "c1"));
    }

    [ProviderTheory, Providers]
    public async Task Ten_concurrent_posts_with_one_key_store_exactly_one_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true).ToJsonString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => HubApp.SubmitAsync(client, crm, "c1", body, "concurrent-key"))));

        var answers = new List<string>();
        foreach (var response in responses)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {text}");
            answers.Add(text);
        }
        Assert.Single(responses.Select(r => r.Headers.Location!.OriginalString).Distinct());
        Assert.Single(answers.Distinct());
        var change = Assert.Single(await HistoryAsync(client, crm, "c1"));
        Assert.Equal(responses[0].Headers.Location!.OriginalString, $"/change-requests/{change!["id"]}");
    }

    static async Task<JsonArray> HistoryAsync(HttpClient client, SourceSystemCredentials system, string customerId)
    {
        var response = await client.GetAsync(HubApp.SubscriptionDataPath(system, customerId) + "/history");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Json.ReadAsync(response))["changes"]!.AsArray();
    }
}
