using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using static ConsentHub.Tests.Clusters.ClusterFeeds;

namespace ConsentHub.Tests.Clusters;

public sealed class ClusterFeedTests
{
    static string[] Members(JsonNode cluster) => cluster["members"]!.AsArray()
        .Select(m => $"{m!["context"]}/{m["sourceSystem"]}/{m["sourceCustomerId"]}").ToArray();

    static async Task<(string Nmsc, HttpClient Feed)> OrganisationWithFeedAsync(HubApp app, params (string Context, string System)[] systems)
    {
        var nmsc = HubApp.Unique("tgb");
        foreach (var (context, system) in systems) await app.RegisterSourceSystemAsync(nmsc, context, system);
        return (nmsc, await AsAsync(app, await RegisterAsync(app, nmsc)));
    }

    static StringContent Ndjson(string body) => new(body, Encoding.UTF8, "application/x-ndjson");

    [ProviderTheory, Providers]
    public async Task A_feed_creates_replaces_moves_and_deletes_clusters_and_each_change_is_in_the_ledger(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var (nmsc, feed) = await OrganisationWithFeedAsync(app, ("toyota", "crm"), ("toyota", "dealer"));
        using var _ = feed;

        var created = await PutAsync(feed, nmsc, "person-1", Member("toyota", "dealer", "d1"), Member("Toyota", "crm", "c1"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/nmscs/{nmsc}/clusters/person-1", created.Headers.Location?.OriginalString);
        var body = await Json.ReadAsync(created);
        Assert.Equal("person-1", body["clusterId"]!.GetValue<string>());
        Assert.Equal(["toyota/crm/c1", "toyota/dealer/d1"], Members(body));
        Assert.Equal($"/nmscs/{nmsc}/clusters/person-1", body["_links"]!["self"]!["href"]!.GetValue<string>());

        // The same membership again: 200, nothing new.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(feed, nmsc, "person-1", Member("toyota", "crm", "c1"), Member("toyota", "dealer", "d1"))).StatusCode);

        // c1 joins person-2 and so leaves person-1.
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(feed, nmsc, "person-2", Member("toyota", "crm", "c1"), Member("toyota", "dealer", "d2"))).StatusCode);
        Assert.Equal(["toyota/dealer/d1"], Members(await Json.ReadAsync(await feed.GetAsync(Path(nmsc, "person-1")))));
        Assert.Equal(["toyota/crm/c1", "toyota/dealer/d2"], Members(await Json.ReadAsync(await feed.GetAsync(Path(nmsc, "person-2")))));

        // Replacing drops the members not named again.
        var replaced = await PutAsync(feed, nmsc, "person-2", Member("toyota", "crm", "c3"));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal(["toyota/crm/c3"], Members(await Json.ReadAsync(replaced)));

        Assert.Equal(HttpStatusCode.NoContent, (await feed.DeleteAsync(Path(nmsc, "person-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await feed.GetAsync(Path(nmsc, "person-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await feed.DeleteAsync(Path(nmsc, "person-2"))).StatusCode);
        // c1, now in no cluster, may join any.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(feed, nmsc, "person-1", Member("toyota", "dealer", "d1"), Member("toyota", "crm", "c1"))).StatusCode);

        using var admin = await app.AdminAsync();
        var entries = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray()
            .Where(e => e!["type"]!.GetValue<string>().StartsWith("cluster", StringComparison.Ordinal)).ToList();
        Assert.Equal(["cluster-feed-registered", "cluster-updated", "cluster-updated", "cluster-updated", "cluster-updated", "cluster-deleted", "cluster-updated"],
            entries.Select(e => e!["type"]!.GetValue<string>()));
        var move = entries[3]!["payload"]!;
        Assert.Equal("person-2", move["clusterId"]!.GetValue<string>());
        Assert.Equal(2, move["memberCount"]!.GetValue<int>());
        Assert.Equal(["person-1"], move["movedFrom"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal("c1", move["members"]![0]!["sourceCustomerId"]!.GetValue<string>());
        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.True(verify["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task The_customers_cluster_link_resolves_to_the_members_of_its_context(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dealer = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer");
        await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        using var feed = await AsAsync(app, await RegisterAsync(app, nmsc));
        using var asCrm = await app.AsAsync(crm);
        using var asDealer = await app.AsAsync(dealer);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "alone", Seed.Consent("OFFERS", true))).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await PutAsync(feed, nmsc, "p-1",
            Member("toyota", "crm", "c1"), Member("toyota", "dealer", "d1"), Member("lexus", "crm", "l1"))).StatusCode);

        var data = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        var link = data["_links"]!["cluster"]!["href"]!.GetValue<string>();
        foreach (var reader in new[] { asCrm, asDealer })
        {
            var cluster = await Json.ReadAsync(await reader.GetAsync(link));
            Assert.Equal("p-1", cluster["clusterId"]!.GetValue<string>());
            // Clusters span contexts; what a customer's reader sees stays within the customer's.
            Assert.Equal(["toyota/crm/c1", "toyota/dealer/d1"], Members(cluster));
        }

        var alone = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "alone")[..^"/subscription-data".Length] + "/cluster"));
        Assert.Null(alone["clusterId"]);
        Assert.Equal(["toyota/crm/alone"], Members(alone));
    }

    [ProviderTheory, Providers]
    public async Task A_batch_applies_the_good_lines_and_reports_the_bad_ones(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (nmsc, feed) = await OrganisationWithFeedAsync(app, ("toyota", "crm"), ("toyota", "dealer"));
        using var _ = feed;
        var tooLong = $$"""{"clusterId":"b-long","members":[{"context":"toyota","sourceSystem":"crm","sourceCustomerId":"{{new string('x', 1024 * 1024)}}"}]}""";
        var lines = string.Join("\n",
            """{"clusterId":"b-1","members":[{"context":"toyota","sourceSystem":"crm","sourceCustomerId":"c1"},{"context":"toyota","sourceSystem":"dealer","sourceCustomerId":"d1"}]}""",
            """{"clusterId":"b-2","members":[""",
            """{"clusterId":"b-3","members":[{"context":"toyota","sourceSystem":"nowhere","sourceCustomerId":"c2"}]}""",
            "",
            tooLong,
            """{"clusterId":"b-4","members":[{"context":"toyota","sourceSystem":"crm","sourceCustomerId":"c1"}]}""" + "\r",
            """{"members":[{"context":"toyota","sourceSystem":"crm","sourceCustomerId":"c5"}]}""",
            """{"clusterId":"b-5","members":[{"context":"toyota","sourceSystem":"dealer","sourceCustomerId":"d5"}]}""");

        var response = await feed.PostAsync($"/nmscs/{nmsc}/clusters:batch", Ndjson(lines));
        var result = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, result.ToJsonString());
        Assert.Equal(3, result["applied"]!.GetValue<int>());
        var rejected = result["rejected"]!.AsArray().Select(r => $"{r!["line"]} {r["field"]} {r["rule"]}").ToList();
        Assert.Equal(4, rejected.Count);
        Assert.StartsWith("2 ", rejected[0]);
        Assert.Equal("3 members[0].sourceSystem must-exist", rejected[1]);
        Assert.Equal("5 body max-line-length", rejected[2]);
        Assert.Equal("7 clusterId cluster-id", rejected[3]);

        // b-4 took c1 from b-1, line by line in order.
        Assert.Equal(["toyota/dealer/d1"], Members(await Json.ReadAsync(await feed.GetAsync(Path(nmsc, "b-1")))));
        Assert.Equal(["toyota/crm/c1"], Members(await Json.ReadAsync(await feed.GetAsync(Path(nmsc, "b-4")))));
        Assert.Equal(["toyota/dealer/d5"], Members(await Json.ReadAsync(await feed.GetAsync(Path(nmsc, "b-5")))));
        foreach (var missing in new[] { "b-2", "b-3", "b-long" })
            Assert.Equal(HttpStatusCode.NotFound, (await feed.GetAsync(Path(nmsc, missing))).StatusCode);

        var json = await feed.PostAsync($"/nmscs/{nmsc}/clusters:batch", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Invalid_clusters_are_refused_with_problems_naming_the_field(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (nmsc, feed) = await OrganisationWithFeedAsync(app, ("toyota", "crm"));
        using var _ = feed;

        async Task AssertRefused(HttpResponseMessage response, string field, string rule)
        {
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem.ToJsonString());
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(problem["violations"]!.AsArray(), v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        }

        await AssertRefused(await PutAsync(feed, nmsc, "c"), "members", "count");
        await AssertRefused(await PutAsync(feed, nmsc, "c",
            Enumerable.Range(0, 1001).Select(i => Member("toyota", "crm", $"c{i}")).ToArray()), "members", "count");
        await AssertRefused(await PutAsync(feed, nmsc, "c", Member("toyota", "crm", "c1"), Member("toyota", "dms", "c1")), "members[1].sourceSystem", "must-exist");
        await AssertRefused(await PutAsync(feed, nmsc, "c", Member("lexus", "crm", "c1")), "members[0].sourceSystem", "must-exist");
        await AssertRefused(await PutAsync(feed, nmsc, "c", Member("toyota", "crm", "c1"), Member("toyota", "crm", "c1")), "members[1]", "duplicate");
        await AssertRefused(await PutAsync(feed, nmsc, "c", Member("toyota", "crm", " c1")), "members[0].sourceCustomerId", "source-customer-id");
        await AssertRefused(await PutAsync(feed, nmsc, "a b", Member("toyota", "crm", "c1")), "clusterId", "cluster-id");
        await AssertRefused(await PutAsync(feed, nmsc, new string('x', 101), Member("toyota", "crm", "c1")), "clusterId", "cluster-id");
        await AssertRefused(await feed.PutAsJsonAsync(Path(nmsc, "c"), new { clusterId = "other", members = new[] { Member("toyota", "crm", "c1") } }),
            "clusterId", "matches-route");
        await AssertRefused(await feed.PutAsync(Path(nmsc, "c"), new StringContent("""{"members":"all"}""", Encoding.UTF8, "application/json")), "members", "json");

        // Nothing was written; a valid id with a colon is fine.
        Assert.Equal(HttpStatusCode.NotFound, (await feed.GetAsync(Path(nmsc, "c"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(feed, nmsc, "crm:c1", Member("toyota", "crm", "c1"))).StatusCode);
        Assert.Equal("crm:c1", (await Json.ReadAsync(await feed.GetAsync(Path(nmsc, "crm:c1"))))["clusterId"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Only_the_admin_and_the_organisations_own_feed_may_write_its_clusters(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var (otherNmsc, otherFeed) = await OrganisationWithFeedAsync(app, ("toyota", "crm"));
        using var _ = otherFeed;
        using var anonymous = app.CreateClient();
        using var asCrm = await app.AsAsync(crm);
        using var admin = await app.AdminAsync();
        var member = Member("toyota", "crm", "c1");

        Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(anonymous, nmsc, "p", member)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(asCrm, nmsc, "p", member)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(otherFeed, nmsc, "p", member)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await otherFeed.PostAsync($"/nmscs/{nmsc}/clusters:batch", Ndjson("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(Path(nmsc, "p"))).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await PutAsync(admin, nmsc, "p", member)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await otherFeed.GetAsync(Path(nmsc, "p"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await otherFeed.DeleteAsync(Path(nmsc, "p"))).StatusCode);
        Assert.Equal(["toyota/crm/c1"], Members(await Json.ReadAsync(await admin.GetAsync(Path(nmsc, "p")))));
        // The other feed's own organisation has no such cluster.
        Assert.Equal(HttpStatusCode.NotFound, (await otherFeed.GetAsync(Path(otherNmsc, "p"))).StatusCode);

        // A feed's client has no password grant, and its secret is its own.
        using var register = await app.AdminAsync();
        var duplicate = await register.PostAsJsonAsync("/admin/cluster-feeds", new { nmsc = otherNmsc, name = "consumer-domain" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        var unknown = await register.PostAsJsonAsync("/admin/cluster-feeds", new { nmsc = HubApp.Unique("tgb"), name = "cd" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_feed_client_gets_a_cluster_feed_token_bound_to_its_organisation(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var feed = await RegisterAsync(app, nmsc);
        var token = await app.PostTokenAsync(feed.ClientId, feed.ClientSecret, new() { ["grant_type"] = "client_credentials" });
        var body = await Json.ReadAsync(token);
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        Assert.Equal(nmsc, body["nmsc"]!.GetValue<string>());
        Assert.Null(body["source_system"]);
        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(body["access_token"]!.GetValue<string>());
        Assert.Equal("cluster-feed", jwt.GetClaim("role").Value);
        Assert.Equal(nmsc, jwt.GetClaim("nmsc").Value);

        var password = await app.PostTokenAsync(feed.ClientId, feed.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = HubApp.AdminPassword });
        Assert.Equal(HttpStatusCode.BadRequest, password.StatusCode);
        var wrongSecret = await app.PostTokenAsync(feed.ClientId, "wrong", new() { ["grant_type"] = "client_credentials" });
        Assert.False(wrongSecret.IsSuccessStatusCode);
    }
}
