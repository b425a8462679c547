using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Propagation;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Propagation;

/// <summary>
/// What the README promises about webhook delivery beyond the happy path: a slow receiver times out, a redirect is not
/// followed, a claim left by a stopped instance is taken over when its lease ends, one failing record holds up only
/// itself, and a rotated secret's overlap ends.
/// </summary>
public sealed class DeliveryPromiseTests
{
    static Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>(Propagations.Settings);
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    static async Task<JsonNode> PropagationAsync(HubApp app, string id)
    {
        using var admin = await app.AdminAsync();
        return await Json.ReadAsync(await admin.GetAsync($"/propagations/{id}"));
    }

    static DateTime Instant(JsonNode value) =>
        DateTime.Parse(value.GetValue<string>(), null, System.Globalization.DateTimeStyles.AdjustToUniversal);

    [ProviderTheory, Providers]
    public async Task A_receiver_slower_than_the_timeout_counts_as_a_timeout_and_gets_the_message_again_no_sooner_than_60_s(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider,
            Settings(("ConsentHub:Propagation:TimeoutSeconds", "1"), ("ConsentHub:Propagation:LeaseSeconds", "2")),
            s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        // The first call is answered after 3 s, when the hub has long given up; later ones at once.
        hook.Answer = (_, n) => n == 0 ? new ReceiverAnswer(200, Delay: TimeSpan.FromSeconds(3)) : new ReceiverAnswer(204);
        await Propagations.RegisterAsync(app, crm, hook);
        using (var client = await app.AsAsync(crm))
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        // Wait for the attempt to be recorded: the timed-out call is a failure with no status code.
        var id = (await WaitForCallsAsync(hook, 1))[0].PropagationId;
        var propagation = await AfterFirstAttemptAsync(app, id);
        Assert.Equal("PENDING", propagation["status"]!.GetValue<string>());
        Assert.Null(propagation["lastStatusCode"]);
        Assert.Equal("no answer within 1 s", propagation["lastError"]!.GetValue<string>());
        var attempt = Assert.Single(propagation["attemptLog"]!.AsArray())!;
        Assert.Equal("failed", attempt["outcome"]!.GetValue<string>());
        Assert.InRange(attempt["latencyMs"]!.GetValue<int>(), 900, 2900);
        var wait = Instant(propagation["nextAttemptAt"]!) - clock.GetUtcNow().UtcDateTime;
        Assert.InRange(wait.TotalSeconds, 59, 61);

        // Not before the minute: a pass claims nothing. After it, the message goes again and is delivered.
        clock.Advance(TimeSpan.FromSeconds(55));
        Assert.Equal(0, await Propagations.DeliverDueAsync(app));
        clock.Advance(TimeSpan.FromSeconds(6));
        await Propagations.AllDeliveredAsync(app, crm, 1);
        Assert.Equal(2, hook.Calls.Count);
        Assert.All(hook.Calls, c => Assert.Equal(id, c.WebhookId));
    }

    [ProviderTheory, Providers]
    public async Task A_redirect_is_not_followed_and_counts_as_a_failed_attempt(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var elsewhere = await WebhookReceiver.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync();
        // The receiver points somewhere else: 307 keeps the method and body, so a client that followed would post there.
        hook.Answer = (_, _) => new ReceiverAnswer(307, Location: elsewhere.Url);
        await Propagations.RegisterAsync(app, crm, hook);
        using (var client = await app.AsAsync(crm))
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        var id = (await WaitForCallsAsync(hook, 1))[0].PropagationId;
        var propagation = await AfterFirstAttemptAsync(app, id);
        Assert.Equal(307, propagation["lastStatusCode"]!.GetValue<int>());
        Assert.Equal("failed", propagation["attemptLog"]![0]!["outcome"]!.GetValue<string>());
        Assert.Equal("PENDING", propagation["status"]!.GetValue<string>());
        // The attempt is over (recorded), and the retry is minutes away on a clock that does not move: the other
        // address has not been called and cannot be until the hub tries again.
        Assert.Equal(0, await Propagations.DeliverDueAsync(app));
        Assert.Empty(elsewhere.Calls);
        Assert.Single(hook.Calls);
    }

    [PostgresOnly]
    public async Task A_claim_left_by_a_stopped_instance_is_taken_over_by_another_when_its_lease_ends()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // The first instance stands for one that claimed a message and stopped before recording anything: its
        // dispatcher is off, and the claim it made is written as a claim is (lease token and end).
        await using var stopped = await HubApp.StartAsync(DatabaseProvider.Postgres,
            Settings(("ConsentHub:Propagation:DispatcherEnabled", "false")), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await stopped.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(stopped, crm, hook);
        using (var client = await stopped.AsAsync(crm))
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        var leaseEnds = clock.GetUtcNow().UtcDateTime.AddSeconds(30);
        using (var scope = stopped.Scope())
        {
            var claimed = await stopped.Db(scope).Propagations
                .Where(p => p.SourceSystemId == crm.Id && p.State == PropagationStates.Pending)
                .ExecuteUpdateAsync(u => u.SetProperty(p => p.LeaseToken, Guid.NewGuid()).SetProperty(p => p.LeaseUntil, leaseEnds));
            Assert.Equal(1, claimed);
        }

        await using var other = stopped.SecondInstance(Settings(("ConsentHub:Propagation:DispatcherEnabled", "false")), s => s.AddSingleton<TimeProvider>(clock));
        // While the lease runs, the other instance leaves the message alone.
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await Propagations.DeliverDueAsync(other));
        Assert.Empty(hook.Calls);
        // Once it has ended, the other instance claims and delivers it, once.
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await Propagations.DeliverDueAsync(other));
        Assert.Equal(0, await Propagations.DeliverDueAsync(other));
        var call = Assert.Single(hook.Calls);
        var propagation = await PropagationAsync(other, call.PropagationId);
        Assert.Equal("DELIVERED", propagation["status"]!.GetValue<string>());
        Assert.Equal(1, propagation["attempts"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task A_record_whose_messages_keep_failing_holds_up_only_itself(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        var failing = true;
        hook.Answer = (call, _) => failing && call.SourceCustomerId == "c-1" ? new ReceiverAnswer(500) : new ReceiverAnswer(204);
        await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"));
        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"));
        foreach (var n in Enumerable.Range(2, 5))
            await HubApp.AppliedAsync(client, crm, $"c-{n}", Seed.Consent("OFFERS", true, "2024-01-02T10:00:00Z"));

        // Every other record is delivered while c-1's first message fails and waits for its retry.
        await hook.WaitForAsync(a => a.Select(c => c.SourceCustomerId).Distinct().Count() == 5, what: "c-2 … c-6 delivered");
        // Nothing is due now: c-1's first message waits for its pause, and its second waits behind the first.
        Assert.Equal(0, await Propagations.DeliverDueAsync(app));
        var toFirst = hook.Calls.Where(c => c.SourceCustomerId == "c-1").ToList();
        Assert.Single(toFirst);
        Assert.True(toFirst[0].Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());

        // The receiver recovers; after the pause c-1's messages follow, in order.
        failing = false;
        clock.Advance(TimeSpan.FromSeconds(10));
        await Propagations.AllDeliveredAsync(app, crm, 7);
        var accepted = hook.AcceptedSnapshot().Where(c => c.SourceCustomerId == "c-1").ToList();
        Assert.Equal([true, false], accepted.Select(c => c.Json["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>()));
    }

    [ProviderTheory, Providers]
    public async Task When_the_overlap_after_a_secret_rotation_ends_only_the_new_secret_signs(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider,
            Settings(("ConsentHub:Propagation:SecretOverlapHours", "2")), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        var (_, old) = await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        var rotated = await client.PostAsync(Propagations.DestinationPath(crm) + "/rotate-secret", null);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var fresh = (await Json.ReadAsync(rotated))["signingSecret"]!.GetValue<string>();

        await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        var during = Assert.Single(await hook.WaitForCountAsync(1));
        Assert.Equal(2, during.WebhookSignature!.Split(' ').Length);
        Assert.True(StandardWebhooks.Verify(old, during));

        // Just before the end of the overlap both still sign; just after it, the new secret alone.
        clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1));
        await HubApp.AppliedAsync(client, crm, "c-2", Seed.Consent("OFFERS", true));
        var late = (await hook.WaitForCountAsync(2))[1];
        Assert.Equal(2, late.WebhookSignature!.Split(' ').Length);
        clock.Advance(TimeSpan.FromMinutes(2));
        await HubApp.AppliedAsync(client, crm, "c-3", Seed.Consent("OFFERS", true));
        var after = (await hook.WaitForCountAsync(3))[2];
        Assert.Equal("c-3", after.SourceCustomerId);
        Assert.Single(after.WebhookSignature!.Split(' '));
        Assert.True(StandardWebhooks.Verify(fresh, after));
        Assert.False(StandardWebhooks.Verify(old, after));
    }

    /// <summary>The message once its first attempt is recorded (the call has ended, one way or another).</summary>
    static async Task<JsonNode> AfterFirstAttemptAsync(HubApp app, string id)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var propagation = await PropagationAsync(app, id);
            if (propagation["attempts"]!.GetValue<int>() > 0) return propagation;
            Assert.True(DateTime.UtcNow < until, "the attempt was not recorded");
            await Task.Delay(50);
        }
    }

    static async Task<IReadOnlyList<ReceivedCall>> WaitForCallsAsync(WebhookReceiver hook, int count)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (hook.Calls.Count < count)
        {
            Assert.True(DateTime.UtcNow < until, $"{count} calls did not arrive");
            await Task.Delay(50);
        }
        return hook.Calls;
    }
}
