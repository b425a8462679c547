using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Clusters;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Auth;

/// <summary>
/// The API keys of a source system (seed 002's api-key header): issued, listed and revoked by the admin, stored as
/// SHA-256 only, accepted only on the routes that take API keys (here the tests' own <see cref="ApiKeyProbe"/>).
/// </summary>
public sealed class ApiKeyTests
{
    static readonly ConcurrentDictionary<DatabaseProvider, Lazy<Task<HubApp>>> ProbeApps = new();

    /// <summary>One app per provider with the probe route, shared by the tests that only add their own organisations.</summary>
    static Task<HubApp> AppAsync(DatabaseProvider provider) =>
        ProbeApps.GetOrAdd(provider, p => new Lazy<Task<HubApp>>(() => HubApp.StartAsync(p, services: HubApp.WithApiKeyProbe))).Value;

    static string KeysPath(SourceSystemCredentials s) => HubApp.ApiKeysPath(s.Context, s.Nmsc, s.Name);

    static async Task<JsonNode> IssueAsync(HttpClient admin, SourceSystemCredentials system, string label = "unsubscribe page")
    {
        var response = await admin.PostAsJsonAsync(KeysPath(system), new { label });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await Json.ReadAsync(response);
    }

    static async Task<HttpResponseMessage> ProbeAsync(HubApp app, string? key, string header = "api-key")
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, ApiKeyProbe.Path);
        if (key is not null) request.Headers.Add(header, key);
        return await client.SendAsync(request);
    }

    /// <summary>The seed's failure: 401 problem details with <c>"status": false</c>.</summary>
    static async Task AssertRefusedKeyAsync(HttpResponseMessage response, string because)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{because}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!;
        Assert.False(body["status"]!.GetValue<bool>());
        Assert.Equal("https://consenthub.dev/problems/api-key", body["type"]!.GetValue<string>());
    }

    static async Task<List<JsonNode>> LedgerAsync(HubApp app, string type, string nmsc)
    {
        using var scope = app.Scope();
        var payloads = await app.Db(scope).LedgerEntries.AsNoTracking().Where(e => e.Type == type && e.Payload.Contains($"\"{nmsc}\""))
            .OrderBy(e => e.Index).Select(e => e.Payload).ToListAsync();
        return [.. payloads.Select(p => JsonNode.Parse(p)!)];
    }

    /// <summary>Every value of every row of api_keys, as text, read past EF so nothing is mapped away.</summary>
    static async Task<List<string>> ApiKeysTableAsync(HubApp app)
    {
        using var scope = app.Scope();
        var connection = app.Db(scope).Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM api_keys";
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
            for (var i = 0; i < reader.FieldCount; i++)
                values.Add(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "");
        return values;
    }

    [ProviderTheory, Providers]
    public async Task An_issued_key_is_shown_once_and_the_hub_keeps_only_its_sha256(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();

        var response = await admin.PostAsJsonAsync(KeysPath(crm), new { label = "unsubscribe page" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/hal+json", response.Content.Headers.ContentType?.MediaType);
        var issued = await Json.ReadAsync(response);
        var id = issued["id"]!.GetValue<string>();
        var key = issued["key"]!.GetValue<string>();
        Assert.Equal("unsubscribe page", issued["label"]!.GetValue<string>());
        Assert.NotNull(issued["createdAt"]);
        Assert.Equal($"{KeysPath(crm)}/{id}", response.Headers.Location!.OriginalString);
        // chk_ and 32 random bytes in base64url.
        Assert.StartsWith("chk_", key, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(key["chk_".Length..].Replace('-', '+').Replace('_', '/') + "=").Length);

        // Never shown again: not in the list, not in the key's own view, not in the ledger.
        var list = await admin.GetAsync(KeysPath(crm));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var listText = await list.Content.ReadAsStringAsync();
        var listed = JsonNode.Parse(listText)!;
        Assert.Equal(1, listed["count"]!.GetValue<int>());
        var entry = listed["apiKeys"]![0]!;
        Assert.Equal(id, entry["id"]!.GetValue<string>());
        Assert.Equal("unsubscribe page", entry["label"]!.GetValue<string>());
        Assert.Equal(issued["createdAt"]!.GetValue<string>(), entry["createdAt"]!.GetValue<string>());
        Assert.Null(entry["lastUsedAt"]);
        Assert.Null(entry["revokedAt"]);
        Assert.Equal(KeysPath(crm), listed["_links"]!["self"]!["href"]!.GetValue<string>());
        var one = await admin.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var oneText = await one.Content.ReadAsStringAsync();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        foreach (var shown in new[] { listText, oneText })
        {
            Assert.DoesNotContain(key["chk_".Length..], shown);
            Assert.DoesNotContain(hash, shown);
            Assert.DoesNotContain("keyHash", shown, StringComparison.OrdinalIgnoreCase);
        }
        var ledgered = Assert.Single(await LedgerAsync(app, "api-key-issued", crm.Nmsc));
        Assert.Equal(id, ledgered["id"]!.GetValue<string>());
        Assert.Equal("unsubscribe page", ledgered["label"]!.GetValue<string>());
        Assert.Equal("crm", ledgered["sourceSystem"]!.GetValue<string>());
        Assert.DoesNotContain(key["chk_".Length..], ledgered.ToJsonString());
        Assert.DoesNotContain(hash, ledgered.ToJsonString());

        // The row holds the SHA-256 of the key, and the key itself appears nowhere in the table.
        using (var scope = app.Scope())
        {
            var row = await app.Db(scope).ApiKeys.AsNoTracking().SingleAsync(k => k.Id == Guid.Parse(id));
            Assert.Equal(hash, row.KeyHash);
            Assert.Equal(crm.Id, row.SourceSystemId);
        }
        var table = await ApiKeysTableAsync(app);
        Assert.Contains(hash, table);
        Assert.DoesNotContain(table, value => value.Contains(key["chk_".Length..], StringComparison.Ordinal));
    }

    [ProviderTheory, Providers]
    public async Task A_key_authenticates_as_its_source_system_and_a_revoked_key_is_refused_at_once_on_every_instance(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        await using var second = app.SecondInstance(services: HubApp.WithApiKeyProbe);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var key = await app.IssueApiKeyAsync(crm);
        var other = await app.IssueApiKeyAsync(crm, "call centre");
        using var admin = await app.AdminAsync();
        var id = (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["apiKeys"]!.AsArray()
            .Single(k => k!["label"]!.GetValue<string>() == "test")!["id"]!.GetValue<string>();

        // Both instances take the key (also in x-api-key), as the key's source system.
        foreach (var (instance, header) in new[] { (app, "api-key"), (second, "api-key"), (second, "x-api-key") })
        {
            var admitted = await ProbeAsync(instance, key, header);
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
            var claims = await Json.ReadAsync(admitted);
            Assert.Equal("api-key", claims["role"]!.GetValue<string>());
            Assert.Equal(crm.Nmsc, claims["nmsc"]!.GetValue<string>());
            Assert.Equal("toyota", claims["context"]!.GetValue<string>());
            Assert.Equal("crm", claims["source_system"]!.GetValue<string>());
            Assert.Equal(id, claims["api_key_id"]!.GetValue<string>());
        }

        var revoked = await admin.DeleteAsync($"{KeysPath(crm)}/{id}");

        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        foreach (var instance in new[] { app, second })
            await AssertRefusedKeyAsync(await ProbeAsync(instance, key), "the revoked key");
        // The system's other key is untouched.
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(second, other)).StatusCode);
        var listed = (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["apiKeys"]!.AsArray();
        Assert.NotNull(listed.Single(k => k!["id"]!.GetValue<string>() == id)!["revokedAt"]);
        Assert.Null(listed.Single(k => k!["id"]!.GetValue<string>() != id)!["revokedAt"]);
        // Revoking again changes nothing: 204, as deactivating a system twice, and one ledger entry.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{KeysPath(crm)}/{id}")).StatusCode);
        var ledgered = Assert.Single(await LedgerAsync(app, "api-key-revoked", crm.Nmsc));
        Assert.Equal(id, ledgered["id"]!.GetValue<string>());
        Assert.Equal("test", ledgered["label"]!.GetValue<string>());
        await AssertRefusedKeyAsync(await ProbeAsync(app, key), "the key revoked twice");
    }

    [ProviderTheory, Providers]
    public async Task A_missing_unknown_or_malformed_key_is_refused_with_401_problem_details_and_status_false(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var key = await app.IssueApiKeyAsync(crm);

        var missing = await ProbeAsync(app, null);
        await AssertRefusedKeyAsync(missing, "no key");
        Assert.Contains("api-key header", (await Json.ReadAsync(missing))["detail"]!.GetValue<string>());
        await AssertRefusedKeyAsync(await ProbeAsync(app, "   "), "a blank key");
        await AssertRefusedKeyAsync(await ProbeAsync(app, "abc345kk8sdfsdf"), "the seed's sample key");
        await AssertRefusedKeyAsync(await ProbeAsync(app, "chk_" + new string('A', 43)), "a well-formed unknown key");
        await AssertRefusedKeyAsync(await ProbeAsync(app, key + "x"), "the key with one more character");
        await AssertRefusedKeyAsync(await ProbeAsync(app, key[..^1]), "the key less its last character");
        await AssertRefusedKeyAsync(await ProbeAsync(app, new string('k', 5000)), "an oversized key");
        // Control: the key itself is accepted.
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(app, key)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Deactivating_a_source_system_refuses_its_keys_at_once_and_it_gets_no_new_one(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        await using var second = app.SecondInstance(services: HubApp.WithApiKeyProbe);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var key = await app.IssueApiKeyAsync(crm);
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(second, key)).StatusCode);
        using var admin = await app.AdminAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/source-systems/{crm.Id}")).StatusCode);

        foreach (var instance in new[] { app, second })
            await AssertRefusedKeyAsync(await ProbeAsync(instance, key), "the key of a deactivated system");
        var refused = await admin.PostAsJsonAsync(KeysPath(crm), new { label = "another" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("deactivated", (await Json.ReadAsync(refused))["detail"]!.GetValue<string>());
        // The admin still sees the key, and still revokes it.
        var listed = await Json.ReadAsync(await admin.GetAsync(KeysPath(crm)));
        Assert.Equal(1, listed["count"]!.GetValue<int>());
        Assert.Single(await LedgerAsync(app, "api-key-issued", crm.Nmsc));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{KeysPath(crm)}/{listed["apiKeys"]![0]!["id"]!.GetValue<string>()}")).StatusCode);
        Assert.Single(await LedgerAsync(app, "api-key-revoked", crm.Nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_bearer_token_is_not_accepted_on_an_api_key_route_and_a_key_is_not_accepted_on_a_bearer_route(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var key = await app.IssueApiKeyAsync(crm);
        using var system = await app.AsAsync(crm);
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(system, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);

        foreach (var (who, client) in new[] { ("source system", system), ("admin", admin) })
            await AssertRefusedKeyAsync(await client.GetAsync(ApiKeyProbe.Path), $"the {who}'s bearer token");
        // A token beside the key changes nothing: the key's route judges the key alone.
        using (var both = await app.AsAsync(crm))
        {
            both.DefaultRequestHeaders.Add("api-key", key);
            Assert.Equal(HttpStatusCode.OK, (await both.GetAsync(ApiKeyProbe.Path)).StatusCode);
        }

        using var withKey = app.WithApiKey(key);
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        foreach (var response in new[]
                 {
                     await withKey.GetAsync(path),
                     await HubApp.SubmitAsync(withKey, crm, "c1", Seed.Consent("OFFERS", false)),
                     await withKey.GetAsync(KeysPath(crm)),
                     await withKey.PostAsJsonAsync(KeysPath(crm), new { label = "self-issued" }),
                     await withKey.GetAsync($"/admin/source-systems/{crm.Id}"),
                 })
        {
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized,
                $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode}");
            Assert.Equal("invalid_token", (await Json.ReadAsync(response))["error"]!.GetValue<string>());
        }
        // Nothing was written with the key: one change, one key.
        Assert.Equal(1, (await Json.ReadAsync(await admin.GetAsync(path + "/history")))["count"]!.GetValue<int>());
        Assert.Equal(1, (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["count"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task Only_the_admin_manages_keys_every_other_caller_is_refused_403_and_nothing_changes(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var id = (await IssueAsync(admin, crm))["id"]!.GetValue<string>();
        using var itself = await app.AsAsync(crm);
        using var sibling = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer"));
        using var stranger = await app.AsAsync(await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var apiUser = await Tenancy.ApiUsers.AsAsync(app, await Tenancy.ApiUsers.CreateAsync(app, nmsc));
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, nmsc));
        using var dpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", "toyota", nmsc));

        foreach (var (who, client) in new[]
                 {
                     ("the system itself", itself), ("a sibling system", sibling), ("another organisation's system", stranger),
                     ("the organisation's API user", apiUser), ("the organisation's cluster feed", feed), ("the organisation's DPO", dpo),
                 })
        {
            foreach (var response in new[]
                     {
                         await client.PostAsJsonAsync(KeysPath(crm), new { label = "mine" }),
                         await client.GetAsync(KeysPath(crm)),
                         await client.GetAsync($"{KeysPath(crm)}/{id}"),
                         await client.DeleteAsync($"{KeysPath(crm)}/{id}"),
                     })
            {
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden,
                    $"{who}: {response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        var listed = await Json.ReadAsync(await admin.GetAsync(KeysPath(crm)));
        Assert.Equal(1, listed["count"]!.GetValue<int>());
        Assert.Null(listed["apiKeys"]![0]!["revokedAt"]);
        Assert.Empty(await LedgerAsync(app, "api-key-revoked", nmsc));
    }

    [ProviderTheory, Providers]
    public async Task Another_systems_key_id_is_not_found_and_stays_in_force(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dealer = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer");
        var stranger = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        var issued = await IssueAsync(admin, crm);
        var id = issued["id"]!.GetValue<string>();

        foreach (var path in new[]
                 {
                     $"{KeysPath(dealer)}/{id}", $"{KeysPath(stranger)}/{id}", $"{KeysPath(crm)}/{Guid.NewGuid()}", $"{KeysPath(crm)}/not-a-key-id",
                     $"{HubApp.ApiKeysPath("toyota", nmsc, "nothing")}/{id}",
                 })
        {
            foreach (var response in new[] { await admin.DeleteAsync(path), await admin.GetAsync(path) })
            {
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{response.RequestMessage!.Method} {path}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        Assert.Equal(0, (await Json.ReadAsync(await admin.GetAsync(KeysPath(dealer))))["count"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(app, issued["key"]!.GetValue<string>())).StatusCode);
        Assert.Empty(await LedgerAsync(app, "api-key-revoked", nmsc));
    }

    [ProviderTheory, Providers]
    public async Task Issuing_refuses_a_bad_label_and_an_unknown_system_and_changes_nothing(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();

        foreach (var (json, rule) in new[]
                 {
                     ("{}", "required"), ("""{"label":null}""", "required"), ("""{"label":""}""", "required"), ("""{"label":"   "}""", "required"),
                     ($$"""{"label":"{{new string('x', 101)}}"}""", "max-length"), ("""{"label":"line\nbreak"}""", "control-characters"),
                     ("""{"label":"bell\u0007"}""", "control-characters"), ("""{"label":5}""", "json"), ("""{"label":["a"]}""", "json"),
                 })
        {
            var response = await admin.PostAsync(KeysPath(crm), new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{json}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var violations = (await Json.ReadAsync(response))["violations"]!.AsArray();
            Assert.Contains(violations, v => v!["field"]!.GetValue<string>() == "label" && v["rule"]!.GetValue<string>() == rule);
        }
        var notJson = await admin.PostAsync(KeysPath(crm), new StringContent("label=x", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        // 100 characters is the most.
        Assert.Equal(new string('x', 100), (await IssueAsync(admin, crm, new string('x', 100)))["label"]!.GetValue<string>());

        foreach (var path in new[] { HubApp.ApiKeysPath("toyota", nmsc, "nothing"), HubApp.ApiKeysPath("lexus", nmsc, "crm"), HubApp.ApiKeysPath("toyota", HubApp.Unique("tgb"), "crm") })
        {
            foreach (var response in new[] { await admin.PostAsJsonAsync(path, new { label = "x" }), await admin.GetAsync(path) })
            {
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{response.RequestMessage!.Method} {path}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        Assert.Equal(1, (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["count"]!.GetValue<int>());
        Assert.Single(await LedgerAsync(app, "api-key-issued", nmsc));
    }

    [ProviderTheory, Providers]
    public async Task Control_characters_and_overlong_values_in_key_routes_are_not_found_and_change_nothing(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var overlong = new string('x', 5_000);

        foreach (var path in new[]
                 {
                     HubApp.ApiKeysPath("toy%01ota", nmsc, "crm"), HubApp.ApiKeysPath(overlong, nmsc, "crm"),
                     $"/contexts/toyota/nmscs/{nmsc}/source-systems/c%01rm/api-keys", HubApp.ApiKeysPath("toyota", nmsc, overlong),
                 })
        {
            foreach (var response in new[] { await admin.GetAsync(path), await admin.PostAsJsonAsync(path, new { label = "x" }), await admin.DeleteAsync($"{path}/{Guid.NewGuid()}") })
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{response.RequestMessage!.Method} {path}: {(int)response.StatusCode}");
        }
        foreach (var id in new[] { overlong, "a%01b", "%20" })
            Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"{KeysPath(crm)}/{id}")).StatusCode);
        Assert.Equal(0, (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["count"]!.GetValue<int>());
        Assert.Empty(await LedgerAsync(app, "api-key-issued", nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_system_holds_at_most_20_unrevoked_keys(DatabaseProvider provider)
    {
        var app = await AppAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        var ids = new List<string>();
        for (var i = 0; i < 20; i++) ids.Add((await IssueAsync(admin, crm, $"key {i}"))["id"]!.GetValue<string>());

        var refused = await admin.PostAsJsonAsync(KeysPath(crm), new { label = "key 21" });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("20 unrevoked API keys", (await Json.ReadAsync(refused))["detail"]!.GetValue<string>());
        Assert.Equal(20, (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["count"]!.GetValue<int>());
        // A revoked key no longer counts.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{KeysPath(crm)}/{ids[3]}")).StatusCode);
        await IssueAsync(admin, crm, "key 21");
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync(KeysPath(crm), new { label = "key 22" })).StatusCode);
        var listed = await Json.ReadAsync(await admin.GetAsync(KeysPath(crm)));
        Assert.Equal(21, listed["count"]!.GetValue<int>());
        Assert.Equal(20, listed["apiKeys"]!.AsArray().Count(k => k!["revokedAt"] is null));
        Assert.Equal(21, (await LedgerAsync(app, "api-key-issued", crm.Nmsc)).Count);
    }

    [ProviderTheory, Providers]
    public async Task Last_used_is_written_when_a_key_authenticates_at_most_once_a_minute(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, services: s =>
        {
            HubApp.WithApiKeyProbe(s);
            s.AddSingleton<TimeProvider>(clock);
        });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var key = await app.IssueApiKeyAsync(crm);
        using var admin = await app.AdminAsync();
        async Task<string?> LastUsedAsync() =>
            (await Json.ReadAsync(await admin.GetAsync(KeysPath(crm))))["apiKeys"]![0]!["lastUsedAt"]?.GetValue<string>();
        Assert.Null(await LastUsedAsync());

        var first = clock.GetUtcNow().UtcDateTime;
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(app, key)).StatusCode);
        Assert.Equal(Published.Format(first), await LastUsedAsync());

        // Within the minute, further requests do not write.
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(app, key)).StatusCode);
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(app, key)).StatusCode);
        Assert.Equal(Published.Format(first), await LastUsedAsync());

        // A minute after the recorded use, the next request is recorded.
        clock.Advance(TimeSpan.FromSeconds(1));
        var later = clock.GetUtcNow().UtcDateTime;
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(app, key)).StatusCode);
        Assert.Equal(Published.Format(later), await LastUsedAsync());
        // A refused request is no use of the key.
        clock.Advance(TimeSpan.FromMinutes(5));
        await AssertRefusedKeyAsync(await ProbeAsync(app, key + "x"), "a wrong key");
        Assert.Equal(Published.Format(later), await LastUsedAsync());
    }

    /// <summary>The hub's published time format (UTC, milliseconds).</summary>
    static class Published
    {
        public static string Format(DateTime utc) => ConsentHub.Hosting.HubTime.Format(ConsentHub.Hosting.HubTime.Truncate(utc));
    }
}
