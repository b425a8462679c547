using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Clusters;

/// <summary>The past is read with the cluster as it was then; a record its cluster names reads as its cluster.</summary>
public sealed class ClusterHistoryTests
{
    static Dictionary<string, bool> Flags(JsonNode data) =>
        data["consent"]?["consentAttributes"]?.AsArray().ToDictionary(c => c!["consentCode"]!.GetValue<string>(), c => c!["consentFlag"]!.GetValue<bool>()) ?? [];

    static async Task<JsonNode> ReadAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        var body = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body.ToJsonString()}");
        return body;
    }

    [ProviderTheory, Providers]
    public async Task At_consolidates_with_the_cluster_membership_of_that_instant(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, "tgb"));
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-9", Seed.Consent("SURVEYS", true, "2024-01-02T10:00:00Z"))).StatusCode);
        string Instant() => clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");

        clock.Advance(TimeSpan.FromMinutes(1));
        var beforeJoin = Instant();
        clock.Advance(TimeSpan.FromMinutes(1));
        // t1: the record joins a cluster with the dms record.
        Assert.Equal(HttpStatusCode.Created, (await ClusterFeeds.PutAsync(feed, "tgb", "person-1",
            ClusterFeeds.Member("toyota", "crm", "c-1"), ClusterFeeds.Member("toyota", "dms", "d-9"))).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(1));
        var afterJoin = Instant();
        clock.Advance(TimeSpan.FromMinutes(1));
        // t2: the cluster is dissolved again.
        Assert.Equal(HttpStatusCode.NoContent, (await feed.DeleteAsync(ClusterFeeds.Path("tgb", "person-1"))).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(1));
        var afterSplit = Instant();

        var path = HubApp.SubscriptionDataPath(crm, "c-1");
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true }, Flags(await ReadAsync(asCrm, $"{path}?at={beforeJoin}")));
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true, ["SURVEYS"] = true }, Flags(await ReadAsync(asCrm, $"{path}?at={afterJoin}")));
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true }, Flags(await ReadAsync(asCrm, $"{path}?at={afterSplit}")));
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true }, Flags(await ReadAsync(asCrm, path)));
        // The proof of the past answer covers the changes of both records of the cluster of that instant.
        var proven = await ReadAsync(asCrm, $"{path}?at={afterJoin}&proof=true");
        Assert.Equal(2, proven["proof"]!["entries"]!.AsArray().Count);

        // The cluster's ledger entries name the records its propagation went to.
        using var admin = await app.AdminAsync();
        var entries = (await ReadAsync(admin, "/ledger/entries?limit=1000"))["entries"]!.AsArray();
        var updated = entries.Single(e => e!["type"]!.GetValue<string>() == "cluster-updated")!["payload"]!;
        var targets = updated["propagatedTo"]!.AsArray();
        // Each record gains the other's category: one message each, both in the feeds of their systems.
        Assert.Equal(["crm/c-1", "dms/d-9"], targets.Select(t => $"{t!["sourceSystem"]!.GetValue<string>()}/{t["sourceCustomerId"]!.GetValue<string>()}").Order());
        var dmsFeed = (await ReadAsync(asDms, "/contexts/toyota/nmscs/tgb/source-systems/dms/propagations"))["propagations"]!.AsArray();
        Assert.Contains(dmsFeed, m => m!["propagationId"]!.GetValue<string>() == targets.Single(t => t!["sourceSystem"]!.GetValue<string>() == "dms")!["propagationId"]!.GetValue<string>());
        // Dissolving it changes no value either record was sent (a value that disappears is not sent): nobody is told.
        var deleted = entries.Single(e => e!["type"]!.GetValue<string>() == "cluster-deleted")!["payload"]!;
        Assert.Empty(deleted["propagatedTo"]!.AsArray());
    }

    [ProviderTheory, Providers]
    public async Task A_record_named_by_its_cluster_that_never_sent_a_change_reads_the_clusters_data(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, nmsc));
        Assert.Equal(HttpStatusCode.Created, (await ClusterFeeds.PutAsync(feed, nmsc, "person-1",
            ClusterFeeds.Member("toyota", "crm", "c-1"), ClusterFeeds.Member("toyota", "dms", "d-9"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);

        // The hub sent dms a PROPAGATED message for d-9 (here, into its feed)...
        var message = Assert.Single((await ReadAsync(asDms, $"/contexts/toyota/nmscs/{nmsc}/source-systems/dms/propagations"))["propagations"]!.AsArray())!;
        Assert.Equal("d-9", message["sourceCustomerId"]!.GetValue<string>());
        // ...and d-9 reads what it was sent: the cluster's consolidated data, now and in the past.
        var data = await ReadAsync(asDms, HubApp.SubscriptionDataPath(dms, "d-9"));
        Assert.Equal("d-9", data["sourceCustomerId"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true }, Flags(data));
        Assert.Null(data["consent"]!["communicationAttributes"]);
        var at = DateTime.UtcNow.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true }, Flags(await ReadAsync(asDms, $"{HubApp.SubscriptionDataPath(dms, "d-9")}?at={at}")));
        var cluster = await ReadAsync(asDms, HubApp.SubscriptionDataPath(dms, "d-9").Replace("/subscription-data", "/cluster"));
        Assert.Equal("person-1", cluster["clusterId"]!.GetValue<string>());
        Assert.Equal(["c-1", "d-9"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()));
        Assert.Equal(0, (await ReadAsync(asDms, HubApp.SubscriptionDataPath(dms, "d-9") + "/history"))["count"]!.GetValue<int>());

        // A record no cluster names and that never sent anything is still unknown.
        Assert.Equal(HttpStatusCode.NotFound, (await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-10"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-10").Replace("/subscription-data", "/cluster"))).StatusCode);
    }
}
