using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Propagation;

/// <summary>Validated changes reach every system of the cluster over real HTTP, signed, in order, until acknowledged.</summary>
public sealed class PropagationTests
{
    static async Task PutClusterAsync(HubApp app, string nmsc, string clusterId, params (string System, string Id)[] members)
    {
        using var admin = await app.AdminAsync();
        var response = await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/{clusterId}", new
        {
            members = members.Select(m => new { context = "toyota", sourceSystem = m.System, sourceCustomerId = m.Id }).ToArray(),
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    static string[] Codes(JsonNode? list, string name) =>
        list is null ? [] : [.. list.AsArray().Select(a => a![name]!.GetValue<string>())];

    [ProviderTheory, Providers]
    public async Task A_change_reaches_every_system_of_the_cluster_signed_with_its_own_id_and_only_what_changed(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        var web = await app.RegisterSourceSystemAsync("tgb", "toyota", "web");
        await using var crmHook = await WebhookReceiver.StartAsync();
        await using var dmsHook = await WebhookReceiver.StartAsync();
        await using var webHook = await WebhookReceiver.StartAsync();
        var hooks = new[] { (crm, crmHook, "c-1", await Propagations.RegisterAsync(app, crm, crmHook)),
                            (dms, dmsHook, "d-9", await Propagations.RegisterAsync(app, dms, dmsHook)),
                            (web, webHook, "w-3", await Propagations.RegisterAsync(app, web, webHook)) };
        await PutClusterAsync(app, "tgb", "person-1", ("crm", "c-1"), ("dms", "d-9"), ("web", "w-3"));

        using var asCrm = await app.AsAsync(crm);
        var posted = await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Customer123);
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var postedBody = await Json.ReadAsync(posted);
        var changeId = postedBody["id"]!.GetValue<string>();
        Assert.Equal(44, postedBody["leafHash"]!.GetValue<string>().Length);

        foreach (var (system, hook, customerId, (apiKey, secret)) in hooks)
        {
            var call = Assert.Single(await hook.WaitForCountAsync(1));
            Assert.Equal("/hooks/consent", call.Path);
            Assert.StartsWith("application/json", call.ContentType);
            Assert.Equal(apiKey, call.ApiKey);
            Assert.True(StandardWebhooks.Verify(secret, call, tolerance: TimeSpan.FromMinutes(5)), $"signature of {system.Name} does not verify");
            Assert.False(StandardWebhooks.Verify(hooks[0].Item4.Secret == secret ? hooks[1].Item4.Secret : hooks[0].Item4.Secret, call));
            Assert.Equal(call.PropagationId, call.WebhookId);

            // Seed 004 §7, member for member, then the hub's own two.
            var body = call.Json.AsObject();
            Assert.Equal(["commandType", "commandTimestamp", "sourceCustomerId", "consent", "channel", "propagationId", "ledgerIndex", "leafHash"],
                body.Select(p => p.Key));
            // The entry that caused it is in the ledger under that index and leaf hash.
            using (var auditor = await app.AdminAsync())
            {
                var entry = await Json.ReadAsync(await auditor.GetAsync($"/ledger/entries/{call.LedgerIndex}"));
                Assert.Equal(entry["leafHash"]!.GetValue<string>(), body["leafHash"]!.GetValue<string>());
                Assert.Contains("\"type\":\"change-applied\"", entry["canonical"]!.GetValue<string>());
            }
            Assert.Equal("PROPAGATED", body["commandType"]!.GetValue<string>());
            Assert.Equal("2018-04-23T14:10:44.000Z", body["commandTimestamp"]!.GetValue<string>());
            Assert.Equal(customerId, body["sourceCustomerId"]!.GetValue<string>());
            var consent = body["consent"]!.AsObject();
            Assert.Equal(["gdprCompliant", "consentAttributes", "validated", "notify", "communicationAttributes"], consent.Select(p => p.Key));
            Assert.True(consent["validated"]!.GetValue<bool>());
            Assert.Null(consent["communicationAttributes"]);
            Assert.Equal(["OFFERS", "REMINDERS"], Codes(consent["consentAttributes"], "consentCode"));
            var offers = consent["consentAttributes"]![0]!.AsObject();
            Assert.Equal(["consentCode", "consentFlag", "consentDescription", "consentLongDescription", "requestedTimestamp", "validatedTimestamp",
                "validationReference", "originSourceSystem", "modifiedByOrganization", "modifiedByUser"], offers.Select(p => p.Key));
            Assert.Equal("crm", offers["originSourceSystem"]!.GetValue<string>());
            Assert.Equal(["EMAIL", "SMS"], Codes(body["channel"]!["channelAttributes"], "channelCode"));
        }

        // The next change carries only what changed: one channel, no consent part.
        var second = await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Channel("SMS", false, "2024-05-01T10:00:00Z"));
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        foreach (var (system, hook, customerId, _) in hooks)
        {
            var calls = await hook.WaitForCountAsync(2);
            var body = calls[1].Json;
            Assert.Null(body["consent"]);
            Assert.Null(body["commandTimestamp"]);
            var channel = Assert.Single(body["channel"]!["channelAttributes"]!.AsArray());
            Assert.Equal("SMS", channel!["channelCode"]!.GetValue<string>());
            Assert.False(channel["channelFlag"]!.GetValue<bool>());
            Assert.True(calls[1].LedgerIndex > calls[0].LedgerIndex);

            // Each system acknowledges its own message; the propagation becomes PROCESSED.
            using var client = await app.AsAsync(system);
            var ack = await Propagations.AcknowledgeAsync(client, system, calls[1]);
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
            Assert.Equal("PROCESSED", (await Json.ReadAsync(ack))["status"]!.GetValue<string>());
            // The attempt is logged once the dispatcher has recorded the receiver's answer.
            JsonNode shown;
            var until = DateTime.UtcNow.AddSeconds(20);
            while ((shown = await Json.ReadAsync(await client.GetAsync($"/propagations/{calls[1].PropagationId}")))["attemptLog"]!.AsArray().Count == 0)
            {
                Assert.True(DateTime.UtcNow < until, "the attempt was not logged");
                await Task.Delay(50);
            }
            Assert.Equal("PROCESSED", shown["status"]!.GetValue<string>());
            Assert.Equal(customerId, shown["sourceCustomerId"]!.GetValue<string>());
            var attempt = Assert.Single(shown["attemptLog"]!.AsArray());
            Assert.Equal(204, attempt!["statusCode"]!.GetValue<int>());
            Assert.Equal("delivered", attempt["outcome"]!.GetValue<string>());
            Assert.Equal("DELIVERED", (await Json.ReadAsync(await client.GetAsync($"/propagations/{calls[0].PropagationId}")))["status"]!.GetValue<string>());
            // A second acknowledgement changes nothing.
            Assert.Equal(HttpStatusCode.OK, (await Propagations.AcknowledgeAsync(client, system, calls[1])).StatusCode);
        }
        Assert.Equal(2, crmHook.Calls.Count);

        using var admin = await app.AdminAsync();
        var entries = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray();
        Assert.Equal(3, entries.Count(e => e!["type"]!.GetValue<string>() == "propagation-processed"));
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
        var change = await Json.ReadAsync(await admin.GetAsync($"/change-requests/{changeId}"));
        Assert.Equal("APPLIED", change["status"]!.GetValue<string>());
        Assert.Equal(postedBody["leafHash"]!.GetValue<string>(), change["leafHash"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Acknowledgements_name_a_message_sent_to_that_customer(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true));
        var call = Assert.Single(await hook.WaitForCountAsync(1));

        async Task<JsonNode> RefusedAsync(HttpClient client, SourceSystemCredentials system, string customer, JsonObject body, HttpStatusCode status)
        {
            var response = await HubApp.SubmitAsync(client, system, customer, body);
            Assert.Equal(status, response.StatusCode);
            return await Json.ReadAsync(response);
        }
        var missing = await RefusedAsync(asCrm, crm, "c-1", new JsonObject { ["commandType"] = "PROCESSED" }, HttpStatusCode.BadRequest);
        Assert.Equal("propagationId", missing["violations"]![0]!["field"]!.GetValue<string>());
        Assert.Equal("required", missing["violations"]![0]!["rule"]!.GetValue<string>());
        var malformed = await RefusedAsync(asCrm, crm, "c-1", new JsonObject { ["commandType"] = "PROCESSED", ["propagationId"] = "x" }, HttpStatusCode.BadRequest);
        Assert.Equal("uuid", malformed["violations"]![0]!["rule"]!.GetValue<string>());
        var unknown = new JsonObject { ["commandType"] = "PROCESSED", ["propagationId"] = Guid.NewGuid().ToString() };
        Assert.Equal("unknown-propagation", (await RefusedAsync(asCrm, crm, "c-1", unknown, HttpStatusCode.BadRequest))["violations"]![0]!["rule"]!.GetValue<string>());
        // Another customer of the same system, and another system, cannot acknowledge it.
        var other = new JsonObject { ["commandType"] = "PROCESSED", ["propagationId"] = call.PropagationId };
        await RefusedAsync(asCrm, crm, "c-2", other.DeepClone().AsObject(), HttpStatusCode.BadRequest);
        await RefusedAsync(asDms, dms, "c-1", other.DeepClone().AsObject(), HttpStatusCode.BadRequest);
        // A REQUESTED change carries no propagationId.
        var requested = Seed.Consent("OFFERS", false);
        requested["propagationId"] = call.PropagationId;
        Assert.Equal("propagationId", (await RefusedAsync(asCrm, crm, "c-1", requested, HttpStatusCode.BadRequest))["violations"]![0]!["field"]!.GetValue<string>());

        using var reader = await app.AsAsync(crm);
        var until = DateTime.UtcNow.AddSeconds(20);
        while ((await Json.ReadAsync(await reader.GetAsync($"/propagations/{call.PropagationId}")))["status"]!.GetValue<string>() != "DELIVERED")
        {
            Assert.True(DateTime.UtcNow < until, "none of the refused acknowledgements may change the message; it ends DELIVERED");
            await Task.Delay(50);
        }
    }

    [ProviderTheory, Providers]
    public async Task A_failing_receiver_is_retried_on_the_schedule_and_gets_the_message_once(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        // 429 (at least 60 s), 503 asking for an hour, 500 (third step of the schedule: 30 min ± 20%), then 200.
        hook.Answer = (_, n) => n switch
        {
            0 => new ReceiverAnswer(429),
            1 => new ReceiverAnswer(503, RetryAfter: "3600"),
            2 => new ReceiverAnswer(500, Body: new string('x', 3000)),
            _ => new ReceiverAnswer(200, Body: "ok"),
        };
        var (_, secret) = await Propagations.RegisterAsync(app, crm, hook);
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);

        async Task<JsonNode> AfterAttemptAsync(int calls)
        {
            var until = DateTime.UtcNow.AddSeconds(20);
            while (true)
            {
                using var admin = await app.AdminAsync();
                var log = await Json.ReadAsync(await admin.GetAsync(Propagations.DestinationPath(crm) + "/deliveries"));
                if (log["count"]!.GetValue<int>() >= calls)
                {
                    var id = log["deliveries"]![0]!["propagationId"]!.GetValue<string>();
                    return await Json.ReadAsync(await admin.GetAsync($"/propagations/{id}"));
                }
                Assert.True(DateTime.UtcNow < until, $"attempt {calls} did not happen");
                await Task.Delay(50);
            }
        }
        DateTime NextAt(JsonNode p) => DateTime.Parse(p["nextAttemptAt"]!.GetValue<string>(), null, System.Globalization.DateTimeStyles.AdjustToUniversal);
        DateTime Now() => clock.GetUtcNow().UtcDateTime;

        var p = await AfterAttemptAsync(1);
        Assert.Equal(429, p["lastStatusCode"]!.GetValue<int>());
        Assert.InRange((NextAt(p) - Now()).TotalSeconds, 59, 61);
        clock.Advance(TimeSpan.FromSeconds(30));
        // Halfway through the pause nothing is due: a pass claims nothing, so no worker can have sent it either.
        Assert.Equal(0, await Propagations.DeliverDueAsync(app));
        Assert.Single(hook.Calls);
        clock.Advance(TimeSpan.FromSeconds(31));

        p = await AfterAttemptAsync(2);
        Assert.Equal(503, p["lastStatusCode"]!.GetValue<int>());
        Assert.InRange((NextAt(p) - Now()).TotalMinutes, 59.9, 60.1);
        clock.Advance(TimeSpan.FromMinutes(61));

        p = await AfterAttemptAsync(3);
        Assert.Equal("PENDING", p["status"]!.GetValue<string>());
        Assert.InRange((NextAt(p) - Now()).TotalMinutes, 24 - 0.1, 36 + 0.1);
        clock.Advance(TimeSpan.FromMinutes(37));

        p = await AfterAttemptAsync(4);
        Assert.Equal("DELIVERED", p["status"]!.GetValue<string>());
        Assert.Null(p["nextAttemptAt"]);
        Assert.Equal(4, p["attempts"]!.GetValue<int>());
        var log = p["attemptLog"]!.AsArray();
        Assert.Equal([429, 503, 500, 200], log.Select(a => a!["statusCode"]!.GetValue<int>()));
        Assert.Equal([1, 2, 3, 4], log.Select(a => a!["number"]!.GetValue<int>()));
        Assert.Equal(500, log[2]!["response"]!.GetValue<string>().Length);
        Assert.Equal("ok", log[3]!["response"]!.GetValue<string>());

        var accepted = Assert.Single(hook.AcceptedSnapshot());
        Assert.Equal(4, hook.Calls.Count);
        // The same webhook-id on every attempt, each attempt signed afresh.
        Assert.Single(hook.Calls.Select(c => c.WebhookId).Distinct());
        Assert.All(hook.Calls, c => Assert.True(StandardWebhooks.Verify(secret, c)));
        Assert.Equal(hook.Calls[0].Body, accepted.Body);
    }

    [ProviderTheory, Providers]
    public async Task A_message_outliving_the_schedule_is_parked_and_tried_daily_until_delivered(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        hook.Answer = (_, _) => new ReceiverAnswer(500);
        await Propagations.RegisterAsync(app, crm, hook);
        using (var client = await app.AsAsync(crm))
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        async Task<JsonNode> AttemptedAsync(int calls)
        {
            await hook.WaitForAsync(_ => hook.Calls.Count >= calls, what: $"{calls} calls");
            while (true)
            {
                using var admin = await app.AdminAsync();
                var log = await Json.ReadAsync(await admin.GetAsync(Propagations.DestinationPath(crm) + "/deliveries?limit=1000"));
                if (log["count"]!.GetValue<int>() >= calls)
                    return await Json.ReadAsync(await admin.GetAsync($"/propagations/{log["deliveries"]![0]!["propagationId"]!.GetValue<string>()}"));
                await Task.Delay(50);
            }
        }

        // Ten failures: the first attempt and the nine retries of the schedule.
        JsonNode p = await AttemptedAsync(1);
        for (var retry = 1; retry <= 9; retry++)
        {
            Assert.Equal("PENDING", p["status"]!.GetValue<string>());
            clock.Advance(TimeSpan.FromHours(30));
            p = await AttemptedAsync(retry + 1);
        }
        Assert.Equal("PARKED", p["status"]!.GetValue<string>());
        var wait = DateTime.Parse(p["nextAttemptAt"]!.GetValue<string>(), null, System.Globalization.DateTimeStyles.AdjustToUniversal) - clock.GetUtcNow().UtcDateTime;
        Assert.InRange(wait.TotalHours, 23.9, 24.1);

        clock.Advance(TimeSpan.FromHours(25));
        p = await AttemptedAsync(11);
        Assert.Equal("PARKED", p["status"]!.GetValue<string>());
        hook.Answer = (_, _) => new ReceiverAnswer(204);
        clock.Advance(TimeSpan.FromHours(25));
        p = await AttemptedAsync(12);
        Assert.Equal("DELIVERED", p["status"]!.GetValue<string>());
        Assert.Single(hook.AcceptedSnapshot());
        Assert.Equal(12, p["attempts"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task A_receiver_that_is_down_gets_everything_in_order_once_it_is_back(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync(start: false);
        await Propagations.RegisterAsync(app, crm, hook);
        var since = DateTime.UtcNow.AddSeconds(-1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        using var client = await app.AsAsync(crm);
        string[] customers = ["c-1", "c-2", "c-3", "c-4"];
        for (var round = 0; round < 3; round++)
        {
            foreach (var customer in customers)
            {
                var response = await HubApp.SubmitAsync(client, crm, customer, Seed.Consent("OFFERS", round % 2 == 0, $"2024-01-0{round + 1}T10:00:00Z"));
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }
        }
        // Each customer's first message fails; the later ones wait behind it.
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var log = await Json.ReadAsync(await client.GetAsync(Propagations.DestinationPath(crm) + "/deliveries"));
            var failed = log["deliveries"]!.AsArray().Where(d => d!["outcome"]!.GetValue<string>() == "failed").ToList();
            if (failed.Select(d => d!["sourceCustomerId"]!.GetValue<string>()).Distinct().Count() == customers.Length)
            {
                Assert.All(failed, d => Assert.Null(d!["statusCode"]));
                Assert.All(failed, d => Assert.False(string.IsNullOrEmpty(d!["error"]!.GetValue<string>())));
                break;
            }
            Assert.True(DateTime.UtcNow < until, "the first attempts did not fail");
            await Task.Delay(50);
        }
        Assert.Equal(customers.Length, (await Json.ReadAsync(await client.GetAsync(Propagations.DestinationPath(crm) + "/deliveries")))["count"]!.GetValue<int>());

        await hook.StartAsync();
        var recovered = await client.PostAsync(Propagations.DestinationPath(crm) + $"/recover?since={since}", null);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(customers.Length, (await Json.ReadAsync(recovered))["recovered"]!.GetValue<int>());
        using (var scope = app.Scope())
        {
            var entry = await app.Db(scope).LedgerEntries.AsNoTracking().SingleAsync(e => e.Type == ConsentHub.Ledger.LedgerEvents.DeliveriesRecovered);
            var payload = JsonNode.Parse(entry.Payload)!;
            Assert.Equal(customers.Length, payload["recovered"]!.GetValue<int>());
            Assert.Equal(crm.ClientId, payload["by"]!.GetValue<string>());
        }

        var accepted = await hook.WaitForCountAsync(12);
        await Propagations.AllDeliveredAsync(app, crm, 12);
        Assert.Equal(12, hook.Calls.Count);
        foreach (var customer in customers)
        {
            var mine = accepted.Where(c => c.SourceCustomerId == customer).ToList();
            Assert.Equal(3, mine.Count);
            Assert.Equal(mine.Select(c => c.LedgerIndex).Order(), mine.Select(c => c.LedgerIndex));
            Assert.Equal([true, false, true], mine.Select(c => c.Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>()));
        }
    }

    [ProviderTheory, Providers]
    public async Task A_410_disables_the_destination_and_enabling_it_replays_the_backlog_in_order(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        hook.Answer = (_, _) => new ReceiverAnswer(410);
        await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"));

        var until = DateTime.UtcNow.AddSeconds(20);
        JsonNode destination;
        while ((destination = await Json.ReadAsync(await client.GetAsync(Propagations.DestinationPath(crm))))["enabled"]!.GetValue<bool>())
        {
            Assert.True(DateTime.UtcNow < until, "the destination was not disabled");
            await Task.Delay(50);
        }
        Assert.Contains("410", destination["disabledReason"]!.GetValue<string>());

        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"));
        await HubApp.AppliedAsync(client, crm, "c-2", Seed.Consent("OFFERS", true, "2024-01-02T10:00:00Z"));
        // While the destination is disabled nothing for it can be claimed: a pass finds both new messages held back.
        Assert.Equal(0, await Propagations.DeliverDueAsync(app));
        using (var scope = app.Scope())
            Assert.Equal(3, await app.Db(scope).Propagations.CountAsync(p => p.SourceSystemId == crm.Id && p.State == ConsentHub.Propagation.PropagationStates.Pending));
        Assert.Single(hook.Calls);
        Assert.Empty(hook.AcceptedSnapshot());

        hook.Answer = (_, _) => new ReceiverAnswer(200);
        var enabled = await client.PostAsync(Propagations.DestinationPath(crm) + "/enable", null);
        Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        Assert.True((await Json.ReadAsync(enabled))["enabled"]!.GetValue<bool>());
        var accepted = await hook.WaitForCountAsync(3);
        var first = accepted.Where(c => c.SourceCustomerId == "c-1").ToList();
        Assert.Equal([true, false], first.Select(c => c.Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>()));
        Assert.Equal(hook.Calls[0].WebhookId, first[0].WebhookId);

        using var admin = await app.AdminAsync();
        var types = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("destination-disabled", types);
        Assert.Contains("destination-enabled", types);
        // The entry names who enabled it: here the source system's own client.
        var enabling = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray()
            .Single(e => e!["type"]!.GetValue<string>() == "destination-enabled")!;
        Assert.Equal(crm.ClientId, JsonNode.Parse(enabling["payload"]!.ToJsonString())!["by"]!.GetValue<string>());
        var log = (await Json.ReadAsync(await client.GetAsync(Propagations.DestinationPath(crm) + "/deliveries")))["deliveries"]!.AsArray();
        Assert.Equal("gone", log[0]!["outcome"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task An_operator_disables_a_destination_its_messages_wait_and_enabling_it_sends_them(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using var admin = await app.AdminAsync();

        var disabled = await admin.PostAsync(Propagations.DestinationPath(crm) + "/disable", null);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        var view = await Json.ReadAsync(disabled);
        Assert.False(view["enabled"]!.GetValue<bool>());
        Assert.StartsWith("Disabled by admin at ", view["disabledReason"]!.GetValue<string>());
        // Idempotent: a second call changes nothing and writes no second entry.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(Propagations.DestinationPath(crm) + "/disable", null)).StatusCode);

        using var client = await app.AsAsync(crm);
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        // The message is staged but no pass may claim it while the destination is disabled.
        Assert.Equal(0, await Propagations.DeliverDueAsync(app));
        using (var scope = app.Scope())
            Assert.Equal(1, await app.Db(scope).Propagations.CountAsync(p => p.SourceSystemId == crm.Id && p.State == ConsentHub.Propagation.PropagationStates.Pending));
        Assert.Empty(hook.Calls);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(Propagations.DestinationPath(crm) + "/enable", null)).StatusCode);
        var delivered = await hook.WaitForCountAsync(1);
        Assert.Equal("c-1", Assert.Single(delivered).SourceCustomerId);

        var entries = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray()
            .Where(e => e!["type"]!.GetValue<string>() == "destination-disabled").ToList();
        var entry = JsonNode.Parse(Assert.Single(entries)!["payload"]!.ToJsonString())!;
        Assert.Equal("admin", entry["by"]!.GetValue<string>());
        Assert.Equal("crm", entry["sourceSystem"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Redelivery_sends_the_same_message_again(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        var first = Assert.Single(await hook.WaitForCountAsync(1));
        // The receiver has it; wait until the hub has recorded the answer (while a call is in flight, redelivery is 409).
        var until = DateTime.UtcNow.AddSeconds(20);
        while ((await Json.ReadAsync(await client.GetAsync($"/propagations/{first.PropagationId}")))["status"]!.GetValue<string>() != "DELIVERED")
        {
            Assert.True(DateTime.UtcNow < until, "the delivery was not recorded");
            await Task.Delay(50);
        }

        var redelivered = await client.PostAsync($"/propagations/{first.PropagationId}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, redelivered.StatusCode);
        var calls = await hook.WaitForCountAsync(2);
        Assert.Equal(first.WebhookId, calls[1].WebhookId);
        Assert.Equal(first.Body, calls[1].Body);
        // The second attempt is logged once the dispatcher has recorded the receiver's answer.
        until = DateTime.UtcNow.AddSeconds(20);
        JsonNode shown;
        while ((shown = await Json.ReadAsync(await client.GetAsync($"/propagations/{first.PropagationId}")))["attemptLog"]!.AsArray().Count < 2)
        {
            Assert.True(DateTime.UtcNow < until, "the second attempt was not logged");
            await Task.Delay(50);
        }
        Assert.Equal(2, shown["attemptLog"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/propagations/{Guid.NewGuid()}/redeliver", null)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Operations_refuse_bad_input_with_the_field_and_rule(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync(Propagations.DestinationPath(crm) + "/enable", null)).StatusCode);
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        foreach (var (path, field, rule) in new[]
                 {
                     ("/recover", "since", "required"), ("/recover?since=yesterday", "since", "timestamp-format"),
                     ("/deliveries?limit=0", "limit", "range"), ("/deliveries?after=-3", "after", "non-negative-integer"),
                 })
        {
            var response = path.StartsWith("/recover", StringComparison.Ordinal)
                ? await client.PostAsync(Propagations.DestinationPath(crm) + path, null)
                : await client.GetAsync(Propagations.DestinationPath(crm) + path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var violation = (await Json.ReadAsync(response))["violations"]![0]!;
            Assert.Equal((field, rule), (violation["field"]!.GetValue<string>(), violation["rule"]!.GetValue<string>()));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/propagations/not-a-uuid")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/propagations/{Guid.NewGuid()}")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task During_a_secret_rotation_both_signatures_are_sent(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        var (_, old) = await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        var rotated = await Json.ReadAsync(await client.PostAsync(Propagations.DestinationPath(crm) + "/rotate-secret", null));
        var fresh = rotated["signingSecret"]!.GetValue<string>();
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        var call = Assert.Single(await hook.WaitForCountAsync(1));
        Assert.Equal(2, call.WebhookSignature!.Split(' ').Length);
        Assert.True(StandardWebhooks.Verify(fresh, call));
        Assert.True(StandardWebhooks.Verify(old, call));
        Assert.False(StandardWebhooks.Verify("whsec_" + Convert.ToBase64String(new byte[32]), call));
    }

    [ProviderTheory, Providers]
    public async Task A_destination_that_now_leads_to_a_link_local_address_is_not_called(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        // As if its name had resolved harmlessly at registration and to the metadata service since (DNS rebinding).
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var destination = db.Destinations.Single();
            destination.Uri = "http://169.254.169.254/latest/meta-data";
            await db.SaveChangesAsync();
        }
        using var client = await app.AsAsync(crm);
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        var until = DateTime.UtcNow.AddSeconds(20);
        JsonNode log;
        while ((log = await Json.ReadAsync(await client.GetAsync(Propagations.DestinationPath(crm) + "/deliveries")))["count"]!.GetValue<int>() == 0)
        {
            Assert.True(DateTime.UtcNow < until, "no attempt was made");
            await Task.Delay(50);
        }
        var attempt = log["deliveries"]![0]!;
        Assert.Equal("failed", attempt["outcome"]!.GetValue<string>());
        Assert.Contains("metadata", attempt["error"]!.GetValue<string>());
        Assert.True(attempt["latencyMs"]!.GetValue<int>() < 1000);
    }

    [ProviderTheory, Providers]
    public async Task Cluster_merge_and_split_send_each_record_what_its_consolidated_data_gained(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await using var crmHook = await WebhookReceiver.StartAsync();
        await using var dmsHook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, crmHook);
        await Propagations.RegisterAsync(app, dms, dmsHook);
        using (var asCrm = await app.AsAsync(crm))
            await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"));
        using (var asDms = await app.AsAsync(dms))
        {
            var both = Seed.Consent("OFFERS", false, "2024-02-01T10:00:00Z");
            both["consent"]!["consentAttributes"]!.AsArray().Add(Seed.Attribute("SURVEYS", true, "2024-02-01T10:00:00Z"));
            await HubApp.AppliedAsync(asDms, dms, "d-9", both);
        }
        await crmHook.WaitForCountAsync(1);
        await dmsHook.WaitForCountAsync(1);

        // Merge: the crm record gains the dms record's newer OFFERS and its SURVEYS; the dms record gains nothing.
        await PutClusterAsync(app, "tgb", "person-1", ("crm", "c-1"), ("dms", "d-9"));
        var merged = (await crmHook.WaitForCountAsync(2))[1].Json;
        Assert.Null(merged["commandTimestamp"]);
        Assert.Equal("c-1", merged["sourceCustomerId"]!.GetValue<string>());
        var attributes = merged["consent"]!["consentAttributes"]!.AsArray();
        Assert.Equal(["OFFERS", "SURVEYS"], Codes(attributes, "consentCode"));
        Assert.False(attributes[0]!["consentFlag"]!.GetValue<bool>());
        Assert.Equal("dms", attributes[0]!["originSourceSystem"]!.GetValue<string>());

        // Split: the crm record's own OFFERS is its consolidated value again, and it is told so.
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/nmscs/tgb/clusters/person-1")).StatusCode);
        var split = (await crmHook.WaitForCountAsync(3))[2].Json;
        var offers = Assert.Single(split["consent"]!["consentAttributes"]!.AsArray());
        Assert.Equal("OFFERS", offers!["consentCode"]!.GetValue<string>());
        Assert.True(offers["consentFlag"]!.GetValue<bool>());

        await Propagations.AllDeliveredAsync(app, dms, 1);
        await Propagations.AllDeliveredAsync(app, crm, 3);
        Assert.Single(dmsHook.Calls);
        Assert.Equal(3, crmHook.Calls.Count);
        Assert.True(split["ledgerIndex"]!.GetValue<long>() > merged["ledgerIndex"]!.GetValue<long>());
    }

    [ProviderTheory, Providers]
    public async Task A_parked_backlog_follows_the_first_successful_delivery_in_order(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        hook.Answer = (_, _) => new ReceiverAnswer(503);
        await Propagations.RegisterAsync(app, crm, hook);
        // Tokens are issued on the hub's clock, which the test moves by days: each step signs in afresh.
        var client = await app.AsAsync(crm);
        // c-1 has two messages (the second waits behind the first), c-2 one.
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-2", Seed.Consent("SURVEYS", true, "2024-01-02T10:00:00Z"))).StatusCode);

        async Task<List<JsonNode>> FeedAsync()
        {
            using var reader = await app.AsAsync(crm);
            return [.. (await Json.ReadAsync(await reader.GetAsync("/contexts/toyota/nmscs/tgb/source-systems/crm/propagations")))["propagations"]!.AsArray().Select(i => i!)];
        }
        async Task AttemptedAsync(int calls)
        {
            await hook.WaitForAsync(_ => hook.Calls.Count >= calls, what: $"{calls} calls");
            var until = DateTime.UtcNow.AddSeconds(20);
            using var reader = await app.AsAsync(crm);
            while ((await Json.ReadAsync(await reader.GetAsync(Propagations.DestinationPath(crm) + "/deliveries?limit=1000")))["count"]!.GetValue<int>() < calls)
            {
                Assert.True(DateTime.UtcNow < until, $"attempt {calls} was not recorded");
                await Task.Delay(50);
            }
        }

        // The receiver is down for the whole schedule: the first attempt and nine retries of each head message.
        await AttemptedAsync(2);
        for (var retry = 1; retry <= 9; retry++)
        {
            clock.Advance(TimeSpan.FromHours(30));
            await AttemptedAsync(2 * (retry + 1));
        }
        var parked = await FeedAsync();
        Assert.Equal(["PARKED", "PENDING", "PARKED"], parked.Select(p => p["status"]!.GetValue<string>()));
        Assert.Equal(20, hook.Calls.Count);

        // It is back. Minutes later (not a day), a new message is delivered, and the backlog follows it at once, in order.
        hook.Answer = (_, _) => new ReceiverAnswer(204);
        clock.Advance(TimeSpan.FromMinutes(6));
        client.Dispose();
        client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-3", Seed.Consent("EVENTS", true))).StatusCode);
        var accepted = await hook.WaitForCountAsync(4);
        Assert.Equal("c-3", accepted[0].SourceCustomerId);
        var first = accepted.Where(c => c.SourceCustomerId == "c-1").ToList();
        Assert.Equal([true, false], first.Select(c => c.Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>()));
        Assert.Single(accepted, c => c.SourceCustomerId == "c-2");
        Assert.Equal(parked[0]["propagationId"]!.GetValue<string>(), first[0].WebhookId);
        client.Dispose();
    }

    [ProviderTheory, Providers]
    public async Task Reposting_unchanged_data_sends_nothing(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Customer123)).StatusCode);
        await hook.WaitForCountAsync(1);

        var again = await HubApp.SubmitAsync(client, crm, "c-1", Seed.Customer123);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        var repostId = (await Json.ReadAsync(again))["id"]!.GetValue<string>();
        Assert.Equal("APPLIED", (await Json.ReadAsync(await client.GetAsync($"/change-requests/{repostId}")))["status"]!.GetValue<string>());
        // A change that does change something; a message for the repost would have to arrive before it (per-record order).
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Channel("SMS", false, "2024-05-01T10:00:00Z"))).StatusCode);
        var calls = await hook.WaitForCountAsync(2);
        await Propagations.DrainAsync(app);

        Assert.Equal(2, hook.Calls.Count);
        Assert.Null(calls[1].Json["consent"]);
        Assert.Equal("SMS", Assert.Single(calls[1].Json["channel"]!["channelAttributes"]!.AsArray())!["channelCode"]!.GetValue<string>());
        var feed = (await Json.ReadAsync(await client.GetAsync("/contexts/toyota/nmscs/tgb/source-systems/crm/propagations?processed=true")))["propagations"]!.AsArray();
        Assert.Equal(2, feed.Count);
        // The repost's change-applied entry names nobody it was propagated to; the others name the record.
        using var admin = await app.AdminAsync();
        var applied = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray()
            .Where(e => e!["type"]!.GetValue<string>() == "change-applied").Select(e => e!["payload"]!.ToJsonString()).ToList();
        Assert.Equal(3, applied.Count);
        Assert.Contains("propagatedTo", applied[0]);
        Assert.DoesNotContain("propagatedTo", applied[1]);
        Assert.Contains(calls[1].PropagationId, applied[2]);
    }
}

/// <summary>Several hub instances on one PostgreSQL database share the dispatching.</summary>
public sealed class PropagationInstancesTests
{
    [PostgresOnly]
    public async Task Two_instances_deliver_a_thousand_changes_each_once_and_in_order_per_customer()
    {
        var settings = new Dictionary<string, string?>(Propagations.Settings) { ["Logging:LogLevel:ConsentHub.Propagation"] = "Debug" };
        await using var first = await HubApp.StartAsync(DatabaseProvider.Postgres, settings);
        await using var second = first.SecondInstance(settings);
        var crm = await first.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(first, crm, hook);
        using var viaFirst = await first.AsAsync(crm);
        using var viaSecond = second.WithToken(await second.TokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "client_credentials" }));

        const int customers = 50, changesEach = 20;
        await Parallel.ForAsync(0, customers, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, _) =>
        {
            for (var n = 0; n < changesEach; n++)
            {
                var client = (c + n) % 2 == 0 ? viaFirst : viaSecond;
                var requested = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(n).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
                var response = await HubApp.SubmitAsync(client, crm, $"c-{c}", Seed.Consent("OFFERS", n % 2 == 0, requested));
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }
        });

        var accepted = await hook.WaitForCountAsync(customers * changesEach, TimeSpan.FromSeconds(90));
        await Propagations.AllDeliveredAsync(first, crm, customers * changesEach);
        Assert.Equal(customers * changesEach, hook.Calls.Count);
        Assert.Equal(customers * changesEach, accepted.Select(c => c.WebhookId).Distinct().Count());
        foreach (var group in accepted.GroupBy(c => c.SourceCustomerId))
        {
            var indices = group.Select(c => c.LedgerIndex).ToList();
            Assert.Equal(indices.Order(), indices);
            Assert.Equal(Enumerable.Range(0, changesEach).Select(n => n % 2 == 0),
                group.Select(c => c.Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>()));
        }
        // Both instances took part.
        static int Delivered(HubApp app) => app.Logs.Lines.Where(l => l.Contains("Dispatch pass:", StringComparison.Ordinal))
            .Sum(l => int.Parse(System.Text.RegularExpressions.Regex.Match(l, @"Delivered=(\d+)").Groups[1].Value));
        Assert.True(Delivered(first) > 0, "the first instance delivered nothing");
        Assert.True(Delivered(second) > 0, "the second instance delivered nothing");
        Assert.Equal(customers * changesEach, Delivered(first) + Delivered(second));
    }
}
