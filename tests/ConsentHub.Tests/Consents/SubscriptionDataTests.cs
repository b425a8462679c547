using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Consents;

public sealed class SubscriptionDataTests
{
    [ProviderTheory, Providers]
    public async Task Seed_record_is_applied_and_read_back_consolidated_in_history_and_in_the_past(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var posted = await HubApp.SubmitAsync(client, crm, "cust-123", Seed.Customer123);

        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Equal("application/hal+json", posted.Content.Headers.ContentType!.MediaType);
        var change = await Json.ReadAsync(posted);
        Assert.Equal("APPLIED", change["status"]!.GetValue<string>());
        Assert.Equal($"/change-requests/{change["id"]}", posted.Headers.Location!.OriginalString);

        var read = await client.GetAsync(HubApp.SubscriptionDataPath(crm, "cust-123"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("application/hal+json", read.Content.Headers.ContentType!.MediaType);
        var data = await Json.ReadAsync(read);
        Assert.Equal("cust-123", data["sourceCustomerId"]!.GetValue<string>());
        var consents = data["consent"]!["consentAttributes"]!.AsArray();
        Assert.Equal(["OFFERS", "REMINDERS"], consents.Select(c => c!["consentCode"]!.GetValue<string>()));
        Assert.All(consents, c => Assert.True(c!["consentFlag"]!.GetValue<bool>()));
        Assert.Equal("2017-03-20T14:10:44.000Z", consents[1]!["requestedTimestamp"]!.GetValue<string>());
        Assert.Equal("2017-03-20T11:10:44.000Z", consents[1]!["validatedTimestamp"]!.GetValue<string>());
        Assert.Equal("valref-123", consents[1]!["validationReference"]!.GetValue<string>());
        Assert.Equal("test@toyota.com", data["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal(["EMAIL", "SMS"], data["channel"]!["channelAttributes"]!.AsArray().Select(c => c!["channelCode"]!.GetValue<string>()));
        Assert.NotNull(data["_links"]!["self"]);
        Assert.NotNull(data["_links"]!["history"]);
        Assert.NotNull(data["_links"]!["cluster"]);

        var history = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "cust-123") + "/history"));
        var entry = Assert.Single(history["changes"]!.AsArray());
        Assert.Equal("APPLIED", entry!["status"]!.GetValue<string>());
        Assert.Equal(crm.ClientId, entry["submittedBy"]!.GetValue<string>());
        Assert.Equal("REMINDERS", entry["data"]!["consent"]!["consentAttributes"]![0]!["consentCode"]!.GetValue<string>());

        var past = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "cust-123") + "?at=" + Uri.EscapeDataString(before.ToString("O"))));
        Assert.Null(past["consent"]);
        Assert.Null(past["channel"]);
        var now = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "cust-123") + "?at=" + Uri.EscapeDataString(DateTimeOffset.UtcNow.AddSeconds(1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff") + "+0000")));
        Assert.Equal(2, now["consent"]!["consentAttributes"]!.AsArray().Count);
    }

    [ProviderTheory, Providers]
    public async Task History_pages_follow_their_next_links_through_every_change_in_arrival_order_once(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var sent = new List<long>();
        for (var n = 0; n < 7; n++)
            sent.Add((await HubApp.AppliedAsync(client, crm, "c1", Seed.Consent("OFFERS", n % 2 == 0, $"2024-05-0{n + 1}T10:00:00Z")))["ledgerIndex"]!.GetValue<long>());
        // Another record's changes never appear in this record's history.
        await HubApp.AppliedAsync(client, crm, "c2", Seed.Consent("OFFERS", true));

        var seen = new List<long>();
        var sizes = new List<int>();
        string? next = HubApp.SubscriptionDataPath(crm, "c1") + "/history?limit=3";
        while (next is not null)
        {
            Assert.True(sizes.Count < 5, "the next links do not end");
            var page = await Json.ReadAsync(await client.GetAsync(next));
            var changes = page["changes"]!.AsArray();
            Assert.Equal(changes.Count, page["count"]!.GetValue<int>());
            sizes.Add(changes.Count);
            seen.AddRange(changes.Select(c => c!["ledgerIndex"]!.GetValue<long>()));
            next = page["_links"]?["next"]?["href"]?.GetValue<string>();
            if (next is not null) Assert.EndsWith($"?after={seen[^1]}&limit=3", next);
        }
        Assert.Equal([3, 3, 1], sizes);
        Assert.Equal(sent, seen);

        // Paging past the end gives an empty page; the limits are enforced with the field named.
        var beyond = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1") + $"/history?after={sent[^1]}"));
        Assert.Empty(beyond["changes"]!.AsArray());
        foreach (var (query, field) in new[] { ("limit=201", "limit"), ("limit=0", "limit"), ("after=-1", "after"), ("after=x", "after") })
        {
            var refused = await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1") + "/history?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(field, (await Json.ReadAsync(refused))["violations"]![0]!["field"]!.GetValue<string>());
        }
    }

    [ProviderTheory, Providers]
    public async Task A_change_that_sends_a_new_email_alone_keeps_the_stored_phone(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var first = Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z");
        first["consent"]!["communicationAttributes"]!["phone"] = "+44 7700 900123";
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", first)).StatusCode);

        var second = Seed.Consent("SURVEYS", true, "2024-01-02T10:00:00Z");
        second["consent"]!["communicationAttributes"]!["email"] = "new@example.com";
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", second)).StatusCode);
        // A change without communication attributes leaves both as they are.
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Channel("EMAIL", true))).StatusCode);

        var communication = (await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1"))))["consent"]!["communicationAttributes"]!;
        Assert.Equal("new@example.com", communication["email"]!.GetValue<string>());
        Assert.Equal("+44 7700 900123", communication["phone"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Unvalidated_change_is_pending_and_never_applied(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));

        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var status = await Json.ReadAsync(await client.GetAsync(posted.Headers.Location));
        Assert.Equal("PENDING_VALIDATION", status["status"]!.GetValue<string>());
        var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        Assert.Null(data["consent"]);
    }

    [ProviderTheory, Providers]
    public async Task Latest_requested_timestamp_wins_per_category_and_ties_go_to_the_later_arrival(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        await HubApp.AppliedAsync(client, crm, "c1", Seed.Consent("OFFERS", true, "2024-05-01T10:00:00+0200"));
        // Arrives later but was requested earlier: must not override.
        await HubApp.AppliedAsync(client, crm, "c1", Seed.Consent("OFFERS", false, "2024-05-01T07:59:59Z"));
        await HubApp.AppliedAsync(client, crm, "c1", Seed.Consent("SURVEYS", true, "2024-05-01T08:00:00Z"));
        // Same instant as the SURVEYS change, written in the other offset form: the later arrival wins.
        await HubApp.AppliedAsync(client, crm, "c1", Seed.Consent("SURVEYS", false, "2024-05-01T10:00:00+02:00"));
        await HubApp.AppliedAsync(client, crm, "c1", Seed.Channel("SMS", true));

        var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        var flags = data["consent"]!["consentAttributes"]!.AsArray().ToDictionary(c => c!["consentCode"]!.GetValue<string>(), c => c!["consentFlag"]!.GetValue<bool>());
        Assert.True(flags["OFFERS"]);
        Assert.False(flags["SURVEYS"]);
        Assert.True(data["channel"]!["channelAttributes"]![0]!["channelFlag"]!.GetValue<bool>());
        var history = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1") + "/history"));
        Assert.Equal(5, history["count"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task Unknown_customer_is_not_found(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var response = await client.GetAsync(HubApp.SubscriptionDataPath(crm, "nobody"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
