using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Hosting;

/// <summary>Issue 2 §7: the `version` query parameter, `api-supported-versions`, and change-request lookups that leak nothing.</summary>
public sealed class VersioningTests
{
    const string SupportedVersions = "api-supported-versions";

    [ProviderTheory, Providers]
    public async Task Every_response_carries_api_supported_versions(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        using var anonymous = app.CreateClient();
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        var created = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true));

        var responses = new (string What, HttpStatusCode Status, HttpResponseMessage Response)[]
        {
            ("POST subscription data", HttpStatusCode.Created, created),
            ("GET subscription data", HttpStatusCode.OK, await client.GetAsync(path)),
            ("GET history", HttpStatusCode.OK, await client.GetAsync(path + "/history")),
            ("GET change request", HttpStatusCode.OK, await client.GetAsync(created.Headers.Location)),
            ("GET health", HttpStatusCode.OK, await anonymous.GetAsync("/health")),
            ("GET openapi", HttpStatusCode.OK, await anonymous.GetAsync("/openapi/v1.json")),
            ("token", HttpStatusCode.OK, await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "client_credentials" })),
            ("token with a wrong secret", HttpStatusCode.Unauthorized, await app.PostTokenAsync(crm.ClientId, "wrong", new() { ["grant_type"] = "client_credentials" })),
            ("invalid body", HttpStatusCode.BadRequest, await HubApp.SubmitAsync(client, crm, "c2", Seed.Consent("NEWSLETTER", true))),
            ("unsupported version", HttpStatusCode.BadRequest, await client.GetAsync(path + "?version=2")),
            ("no token", HttpStatusCode.Unauthorized, await anonymous.GetAsync(path)),
            ("admin API as a source system", HttpStatusCode.Forbidden, await client.GetAsync("/admin/source-systems")),
            ("unknown customer", HttpStatusCode.NotFound, await client.GetAsync(HubApp.SubscriptionDataPath(crm, "nobody"))),
            ("unknown path", HttpStatusCode.NotFound, await anonymous.GetAsync("/no-such-thing")),
            ("wrong method", HttpStatusCode.MethodNotAllowed, await client.DeleteAsync(path)),
            ("wrong media type", HttpStatusCode.UnsupportedMediaType,
                await client.PostAsync(path, new StringContent("{}", Encoding.UTF8, "text/plain"))),
        };

        foreach (var (what, status, response) in responses)
        {
            Assert.True(status == response.StatusCode, $"{what}: expected {(int)status}, got {(int)response.StatusCode}");
            Assert.True(response.Headers.TryGetValues(SupportedVersions, out var values), $"{what}: no {SupportedVersions} header");
            Assert.Equal("1.0, 1.1", string.Join(",", values!));
        }
    }

    [ProviderTheory, Providers]
    public async Task Every_1_x_up_to_the_seeds_1_1_0_answers_as_the_latest_version(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var path = HubApp.SubscriptionDataPath(crm, "c1");

        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true));
        var postedVersioned = await client.PostAsync(path + "?version=1",
            new StringContent(Seed.Consent("SURVEYS", true).ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Equal(HttpStatusCode.Created, postedVersioned.StatusCode);

        var latest = await client.GetStringAsync(path);
        foreach (var version in new[] { "1", "1.0", "1.0.3", "1.1", "1.1.0", "1.1.0-RC70" })
        {
            var response = await client.GetAsync($"{path}?version={version}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"version={version}: {(int)response.StatusCode}");
            Assert.Equal(latest, await response.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/change-requests/{(await Json.ReadAsync(posted))["id"]}?version={version}")).StatusCode);
        }
        var consents = JsonNode.Parse(latest)!["consent"]!["consentAttributes"]!.AsArray();
        Assert.Equal(["OFFERS", "SURVEYS"], consents.Select(c => c!["consentCode"]!.GetValue<string>()));
    }

    [ProviderTheory, Providers]
    public async Task Unsupported_version_is_400_naming_the_version_and_changes_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        using var anonymous = app.CreateClient();
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        await HubApp.AppliedAsync(client, crm, "c1", Seed.Consent("OFFERS", true));
        string[] queries = ["version=2", "version=abc", "version=2.0", "version=1.2", "version=1.2.0", "version=1.1.0-", "version=0", "version=", "Version=2", "version=1&version=1"];

        foreach (var query in queries)
        {
            // Reads, writes and anonymous endpoints alike.
            var requests = new (string What, Func<Task<HttpResponseMessage>> Send)[]
            {
                ("GET", () => client.GetAsync($"{path}?{query}")),
                ("POST", () => client.PostAsync($"{HubApp.SubscriptionDataPath(crm, "c2")}?{query}",
                    new StringContent(Seed.Consent("OFFERS", true).ToJsonString(), Encoding.UTF8, "application/json"))),
                ("health", () => anonymous.GetAsync($"/health?{query}")),
            };
            foreach (var (what, send) in requests)
            {
                var response = await send();
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what} ?{query}: {(int)response.StatusCode} {text}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.True(response.Headers.Contains(SupportedVersions), $"{what} ?{query}: no {SupportedVersions}");
                var violation = Assert.Single(JsonNode.Parse(text)!["violations"]!.AsArray())!;
                Assert.Equal("version", violation["field"]!.GetValue<string>());
                Assert.Equal("unsupported-version", violation["rule"]!.GetValue<string>());
            }
        }

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c2"))).StatusCode);
        var history = await Json.ReadAsync(await client.GetAsync(path + "/history"));
        Assert.Equal(1, history["count"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task A_retired_version_is_announced_with_Deprecation_and_Sunset_until_its_sunset_and_refused_after(DatabaseProvider provider)
    {
        var deprecated = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var sunset = new DateTimeOffset(2027, 6, 30, 23, 59, 59, TimeSpan.Zero);
        var clock = new FakeTimeProvider(sunset.AddDays(-30));
        await using var app = await HubApp.StartAsync(provider, new()
        {
            ["ConsentHub:Api:RetiredVersions:0:Version"] = "1.0",
            ["ConsentHub:Api:RetiredVersions:0:Deprecated"] = "2026-01-01T00:00:00Z",
            ["ConsentHub:Api:RetiredVersions:0:Sunset"] = "2027-06-30T23:59:59Z",
            ["ConsentHub:Api:RetiredVersions:0:Link"] = "https://consenthub.example/versions",
        }, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);

        // Before the sunset: 1.0 (in any spelling) answers, and says it is going away.
        foreach (var version in new[] { "1.0", "1.0.2" })
        {
            var old = await client.GetAsync($"{path}?version={version}");
            Assert.Equal(HttpStatusCode.OK, old.StatusCode);
            Assert.Equal($"@{deprecated.ToUnixTimeSeconds()}", Assert.Single(old.Headers.GetValues("Deprecation")));
            Assert.Equal("Wed, 30 Jun 2027 23:59:59 GMT", Assert.Single(old.Headers.GetValues("Sunset")));
            Assert.Contains("<https://consenthub.example/versions>; rel=\"deprecation\"", string.Join(",", old.Headers.GetValues("Link")));
        }
        // The current version, and no version, are not deprecated.
        foreach (var query in new[] { "?version=1.1", "?version=1", "" })
        {
            var current = await client.GetAsync(path + query);
            Assert.Equal(HttpStatusCode.OK, current.StatusCode);
            Assert.False(current.Headers.Contains("Deprecation"), query);
            Assert.False(current.Headers.Contains("Sunset"), query);
            Assert.Equal("1.0, 1.1", string.Join(",", current.Headers.GetValues(SupportedVersions)));
        }

        // After the sunset: refused like any unsupported version, and no longer listed.
        clock.Advance(TimeSpan.FromDays(31));
        var refused = await client.GetAsync($"{path}?version=1.0");
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("unsupported-version", JsonNode.Parse(text)!["violations"]![0]!["rule"]!.GetValue<string>());
        Assert.Contains("retired on 2027-06-30", text, StringComparison.Ordinal);
        Assert.Equal("1.1", string.Join(",", refused.Headers.GetValues(SupportedVersions)));
        using var later = await app.AsAsync(crm); // the first token has expired meanwhile
        Assert.Equal(HttpStatusCode.OK, (await later.GetAsync($"{path}?version=1.1")).StatusCode);
    }

    [Fact]
    public async Task A_retired_version_the_hub_does_not_answer_stops_the_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            HubApp.StartAsync(DatabaseProvider.Sqlite, new() { ["ConsentHub:Api:RetiredVersions:0:Version"] = "2.0" }));
        Assert.Contains("RetiredVersions", error.ToString(), StringComparison.Ordinal);
    }

    [ProviderTheory, Providers]
    public async Task Change_request_of_another_organisation_or_context_is_not_found_like_an_unknown_one(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var sibling = await app.RegisterSourceSystemAsync(nmsc, "toyota", "web");
        var otherContext = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        var otherOrganisation = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var crmClient = await app.AsAsync(crm);
        var posted = await HubApp.SubmitAsync(crmClient, crm, "c1", Seed.Consent("OFFERS", true));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var location = posted.Headers.Location!.OriginalString;

        // Control: the owner and a source system of the same organisation and context read it.
        Assert.Equal(HttpStatusCode.OK, (await crmClient.GetAsync(location)).StatusCode);
        using (var siblingClient = await app.AsAsync(sibling))
            Assert.Equal(HttpStatusCode.OK, (await siblingClient.GetAsync(location)).StatusCode);

        var unknown = await NotFoundAsync(crmClient, $"/change-requests/{Guid.NewGuid()}", "unknown id");
        foreach (var (what, system) in new[] { ("other organisation", otherOrganisation), ("other context", otherContext) })
        {
            using var client = await app.AsAsync(system);
            var problem = await NotFoundAsync(client, location, what);
            Assert.Equal(unknown["detail"]?.GetValue<string>(), problem["detail"]?.GetValue<string>());
            Assert.DoesNotContain(nmsc, problem.ToJsonString());
        }
    }

    [ProviderTheory, Providers]
    public async Task Malformed_change_request_id_is_not_found(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        foreach (var id in new[] { "not-a-guid", "123", "01a207bb-11b0-7243-8cc3", Guid.NewGuid() + "0", "%20", "null" })
            await NotFoundAsync(client, $"/change-requests/{id}", id);
    }

    static async Task<JsonNode> NotFoundAsync(HttpClient client, string path, string what)
    {
        var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(text)!;
    }
}
