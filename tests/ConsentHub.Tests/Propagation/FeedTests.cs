using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Propagation;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Propagation;

/// <summary>A system without a webhook pulls its PROPAGATED messages from the feed and acknowledges them there.</summary>
public sealed class FeedTests
{
    static string FeedPath(SourceSystemCredentials s) => $"/contexts/{s.Context}/nmscs/{s.Nmsc}/source-systems/{s.Name}/propagations";

    static async Task PutClusterAsync(HubApp app, string nmsc, string clusterId, params (string System, string Id)[] members)
    {
        using var admin = await app.AdminAsync();
        var response = await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/{clusterId}", new
        {
            members = members.Select(m => new { context = "toyota", sourceSystem = m.System, sourceCustomerId = m.Id }).ToArray(),
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    static async Task<JsonNode> PullAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        var body = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.Equal("application/hal+json", response.Content.Headers.ContentType?.MediaType);
        return body;
    }

    static List<JsonNode> Items(JsonNode page) => [.. page["propagations"]!.AsArray().Select(i => i!)];

    static bool Flag(JsonNode item) => item["payload"]!["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>();

    [ProviderTheory, Providers]
    public async Task A_system_without_destination_pulls_in_order_acknowledges_and_the_next_pull_leaves_the_acknowledged_out(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await PutClusterAsync(app, "tgb", "person-1", ("crm", "c-1"), ("dms", "d-9"));
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        foreach (var (flag, day) in new[] { (true, 1), (false, 2), (true, 3) })
        {
            var posted = await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", flag, $"2024-01-0{day}T10:00:00Z"));
            Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        }

        // Page by page, in ledger order, following next.
        var first = await PullAsync(asDms, FeedPath(dms) + "?limit=2");
        Assert.Equal(FeedPath(dms) + "?limit=2", first["_links"]!["self"]!["href"]!.GetValue<string>());
        var firstItems = Items(first);
        Assert.Equal(2, first["count"]!.GetValue<int>());
        Assert.All(firstItems, i => Assert.Equal("d-9", i["sourceCustomerId"]!.GetValue<string>()));
        Assert.All(firstItems, i => Assert.Equal("FEED", i["status"]!.GetValue<string>()));
        Assert.Equal([true, false], firstItems.Select(Flag));
        Assert.Equal("PROPAGATED", firstItems[0]["payload"]!["commandType"]!.GetValue<string>());
        Assert.Equal(firstItems[0]["propagationId"]!.GetValue<string>(), firstItems[0]["payload"]!["propagationId"]!.GetValue<string>());
        var next = first["_links"]!["next"]!["href"]!.GetValue<string>();
        Assert.Equal($"{FeedPath(dms)}?after={firstItems[1]["propagationId"]!.GetValue<string>()}&limit=2", next);
        var second = await PullAsync(asDms, next);
        var secondItems = Items(second);
        Assert.True(Flag(Assert.Single(secondItems)));
        Assert.True(secondItems[0]["ledgerIndex"]!.GetValue<long>() > firstItems[1]["ledgerIndex"]!.GetValue<long>());
        var end = await PullAsync(asDms, second["_links"]!["next"]!["href"]!.GetValue<string>());
        Assert.Equal(0, end["count"]!.GetValue<int>());
        Assert.Equal(second["_links"]!["next"]!["href"]!.GetValue<string>(), end["_links"]!["next"]!["href"]!.GetValue<string>());
        // The originator, without a destination too, has its own three in its own feed.
        Assert.Equal(3, (await PullAsync(asCrm, FeedPath(crm)))["count"]!.GetValue<int>());

        // Nothing is ever sent: the dispatcher has nothing to claim, and no attempt is logged.
        await Propagations.DrainAsync(app);
        var shown = await Json.ReadAsync(await asDms.GetAsync($"/propagations/{firstItems[0]["propagationId"]!.GetValue<string>()}"));
        Assert.Equal("FEED", shown["status"]!.GetValue<string>());
        Assert.Equal(0, shown["attempts"]!.GetValue<int>());
        Assert.Null(shown["nextAttemptAt"]);
        Assert.Empty(shown["attemptLog"]!.AsArray());
        Assert.Equal(HttpStatusCode.Conflict, (await asDms.PostAsync($"/propagations/{firstItems[0]["propagationId"]!.GetValue<string>()}/redeliver", null)).StatusCode);

        // The system acknowledges the first two with PROCESSED; a pull from the start then lists only the third.
        foreach (var item in firstItems)
        {
            var ack = await HubApp.SubmitAsync(asDms, dms, "d-9", new JsonObject
            {
                ["commandType"] = "PROCESSED", ["propagationId"] = item["propagationId"]!.GetValue<string>(),
            });
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
            Assert.Equal("PROCESSED", (await Json.ReadAsync(ack))["status"]!.GetValue<string>());
        }
        var left = Items(await PullAsync(asDms, FeedPath(dms)));
        Assert.Equal(secondItems[0]["propagationId"]!.GetValue<string>(), Assert.Single(left)["propagationId"]!.GetValue<string>());
        // processed=true shows them all, with their status.
        var all = Items(await PullAsync(asDms, FeedPath(dms) + "?processed=true"));
        Assert.Equal(["PROCESSED", "PROCESSED", "FEED"], all.Select(i => i["status"]!.GetValue<string>()));
        Assert.NotNull(all[0]["processedAt"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task A_long_poll_answers_as_soon_as_a_message_arrives(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);

        // With nothing to read, it waits the time asked and answers an empty page.
        var clock = Stopwatch.StartNew();
        var empty = await PullAsync(asCrm, FeedPath(crm) + "?wait=1");
        Assert.Equal(0, empty["count"]!.GetValue<int>());
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {clock.Elapsed}");

        clock.Restart();
        var polling = PullAsync(asCrm, FeedPath(crm) + "?wait=30");
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);
        var page = await polling;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"answered after {clock.Elapsed}");
        Assert.Equal("c-1", Assert.Single(Items(page))["sourceCustomerId"]!.GetValue<string>());
        Assert.Contains("wait=30", page["_links"]!["next"]!["href"]!.GetValue<string>());
    }

    [PostgresOnly]
    public async Task A_long_poll_on_one_instance_sees_a_message_committed_by_another()
    {
        await using var first = await HubApp.StartAsync(DatabaseProvider.Postgres, Propagations.Settings);
        await using var second = first.SecondInstance(Propagations.Settings);
        var crm = await first.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var viaFirst = await first.AsAsync(crm);
        using var viaSecond = second.WithToken(await second.TokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "client_credentials" }));

        var polling = PullAsync(viaSecond, FeedPath(crm) + "?wait=30");
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(viaFirst, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);
        Assert.Single(Items(await polling));
    }

    [ProviderTheory, Providers]
    public async Task Bad_feed_parameters_are_refused_with_the_field_and_rule(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-1", Seed.Consent("OFFERS", true))).StatusCode);
        var othersMessage = Assert.Single(Items(await PullAsync(asDms, FeedPath(dms))))["propagationId"]!.GetValue<string>();

        foreach (var (query, field, rule) in new[]
                 {
                     ("limit=0", "limit", "range"), ("limit=501", "limit", "range"), ("limit=ten", "limit", "range"),
                     ("wait=31", "wait", "range"), ("wait=-1", "wait", "range"), ("processed=yes", "processed", "boolean"),
                     ("after=-1", "after", "propagation-id"), ($"after={Guid.NewGuid()}", "after", "unknown-cursor"),
                     ($"after={othersMessage}", "after", "unknown-cursor"),
                 })
        {
            var response = await asCrm.GetAsync(FeedPath(crm) + "?" + query);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var violation = (await Json.ReadAsync(response))["violations"]![0]!;
            Assert.Equal((field, rule), (violation["field"]!.GetValue<string>(), violation["rule"]!.GetValue<string>()));
        }
        Assert.Equal(HttpStatusCode.OK, (await asCrm.GetAsync(FeedPath(crm) + "?limit=500&wait=0&processed=false")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_feed_is_read_by_its_system_and_the_admin_and_by_nobody_else(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);
        using var admin = await app.AdminAsync();
        using var sibling = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer"));
        using var stranger = await app.AsAsync(await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var anonymous = app.CreateClient();

        Assert.Equal(1, (await PullAsync(asCrm, FeedPath(crm)))["count"]!.GetValue<int>());
        Assert.Equal(1, (await PullAsync(admin, FeedPath(crm)))["count"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Forbidden, (await sibling.GetAsync(FeedPath(crm))).StatusCode);
        // Another organisation's system learns nothing, not even that the system exists.
        var hidden = await stranger.GetAsync(FeedPath(crm));
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(FeedPath(crm with { Nmsc = HubApp.Unique("tgb") }))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(FeedPath(crm))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_destination_registered_later_is_sent_only_new_messages_while_the_feed_keeps_the_older_ones(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"))).StatusCode);

        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"))).StatusCode);

        var sent = Assert.Single(await hook.WaitForCountAsync(1));
        Assert.False(sent.Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());
        // Driven to the end, the dispatcher has sent nothing else: the older message stays in the feed only.
        await Propagations.DrainAsync(app);
        var until = DateTime.UtcNow.AddSeconds(20);
        List<JsonNode> items;
        while ((items = Items(await PullAsync(asCrm, FeedPath(crm))))[1]["status"]!.GetValue<string>() != "DELIVERED")
        {
            Assert.True(DateTime.UtcNow < until, "the delivery was not recorded");
            await Task.Delay(50);
        }
        Assert.Single(hook.Calls);
        Assert.Equal(["FEED", "DELIVERED"], items.Select(i => i["status"]!.GetValue<string>()));
        Assert.Equal(sent.PropagationId, items[1]["propagationId"]!.GetValue<string>());
    }
}
