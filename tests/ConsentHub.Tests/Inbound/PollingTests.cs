using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Inbound;

/// <summary>
/// Polling on schedule (seed 001 §3) against a real change feed, on a fake clock moved step by step: the windows tile the
/// time line, every change is applied once, across restarts, crashes, failures and two instances on one database.
/// </summary>
public sealed class PollingTests
{
    const string Org = "pt";

    /// <summary>Events every <paramref name="every"/> from <paramref name="start"/> (offset by 17 s) up to <paramref name="span"/>.</summary>
    static List<string> Spread(ChangeFeedServer feed, DateTimeOffset start, TimeSpan span, TimeSpan every, string prefix = "e")
    {
        var ids = new List<string>();
        for (var at = start.AddSeconds(17); at < start + span; at += every)
        {
            var id = $"{prefix}-{ids.Count}";
            feed.Add(at, Pollers.Item(id, ids.Count % 3 != 0));
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>Moves the clock by <paramref name="step"/> and waits until the poller has stored <paramref name="runs"/> runs.</summary>
    static async Task StepAsync(HubApp app, FakeTimeProvider clock, TimeSpan step, string nmsc, string name, int runs)
    {
        clock.Advance(step);
        await Pollers.WaitForStoredRunsAsync(app, nmsc, name, runs);
    }

    /// <summary>The runs so far, oldest first, as the admin reads them (with a token of the clock's now: the fake clock moves by hours).</summary>
    static async Task<List<JsonObject>> RunsAsync(HubApp app, string nmsc, string name = "tool")
    {
        using var admin = await app.AdminAsync();
        return await Pollers.RunsAsync(admin, nmsc, name);
    }

    static List<(DateTimeOffset From, DateTimeOffset To)> Windows(IEnumerable<JsonObject> runs) =>
        [.. runs.Where(r => r["succeeded"]!.GetValue<bool>()).Select(r => (Pollers.Instant(r["windowStart"]), Pollers.Instant(r["windowEnd"])))];

    /// <summary>Every event applied once: one inbound event per id, one change request per person, and the runs' counts agree.</summary>
    /// <param name="unrecorded">Events applied by a run that never finished (its instance died): applied, but in no stored run.</param>
    static void AssertAppliedOnce(HubApp app, string nmsc, IReadOnlyCollection<string> ids, IEnumerable<JsonObject> runs, int unrecorded = 0)
    {
        var (events, keys, perCustomer) = Pollers.Stored(app, nmsc);
        Assert.True(ids.Count == events, $"{events} events of {ids.Count}; missing {string.Join(",", ids.Except(perCustomer.Keys))}; runs " +
            string.Join(" | ", runs.Select(r => r.ToJsonString())));
        Assert.Equal(ids.Count, keys);
        Assert.Equal(ids.Order(), perCustomer.Keys.Order());
        Assert.All(perCustomer, c => Assert.True(c.Value == 1, $"{c.Key} has {c.Value} change requests"));
        Assert.Equal(ids.Count - unrecorded, runs.Sum(r => r["applied"]!.GetValue<int>()));
    }

    [ProviderTheory, Providers]
    public async Task No_gap_and_no_overlap_over_a_simulated_day(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock);
        await using var feed = await ChangeFeedServer.StartAsync();
        feed.PageSize = 2;
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var start = clock.GetUtcNow();
        var ids = Spread(feed, start, TimeSpan.FromHours(24), TimeSpan.FromMinutes(35));
        // The default safety lag: each window ends 30 s before the run.
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start), "PT1H", b => b.Remove("safetyLag")));

        List<JsonObject> runs = [];
        for (var hour = 1; hour <= 24; hour++) await StepAsync(app, clock, TimeSpan.FromHours(1), nmsc, "tool", hour);
        runs = await RunsAsync(app, nmsc);

        Assert.Equal(24, runs.Count);
        Assert.All(runs, r => Assert.True(r["succeeded"]!.GetValue<bool>() && r["trigger"]!.GetValue<string>() == "schedule", r.ToJsonString()));
        var end = start.AddHours(24).AddSeconds(-30);
        Pollers.AssertTiled(feed.Windows(), start, end);
        Assert.Equal(Windows(runs), feed.Windows());
        Assert.Equal(0, runs.Sum(r => r["duplicates"]!.GetValue<int>()));
        Assert.Equal(feed.Requests.Count, runs.Sum(r => r["pages"]!.GetValue<int>()));
        Assert.Equal(ids.Count, feed.Requests.Sum(r => r.Items));
        AssertAppliedOnce(app, nmsc, ids, runs);
        // The token arrived in its header on every page, never in the query.
        Assert.All(feed.Requests, r => Assert.True(r.TokenOk && r.Status == 200 && !r.Query.Contains(feed.Token, StringComparison.Ordinal), r.Query));
        admin = await app.AdminAsync();
        var poller = await Pollers.GetAsync(admin, nmsc, "tool");
        Assert.Equal(end, Pollers.Instant(poller["watermark"]));
        Assert.Equal(start.AddHours(25), Pollers.Instant(poller["nextRunAt"]));
    }

    [ProviderTheory, Providers]
    public async Task A_restart_in_the_middle_of_the_day_leaves_no_gap_overlap_or_duplicate(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        // The first app only holds the database (and answers the admin); the instances that poll come and go.
        await using var holder = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(holder, nmsc);
        var start = clock.GetUtcNow();
        var ids = Spread(feed, start, TimeSpan.FromHours(24), TimeSpan.FromMinutes(50));
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start), "PT1H"));

        var before = holder.SecondInstance(Pollers.Settings(), Pollers.With(clock));
        for (var hour = 1; hour <= 10; hour++) await StepAsync(holder, clock, TimeSpan.FromHours(1), nmsc, "tool", hour);
        await before.DisposeAsync();

        // Down for three hours; the instance after the restart catches up in one window, then keeps the hour.
        clock.Advance(TimeSpan.FromHours(3));
        await using var after = holder.SecondInstance(Pollers.Settings(), Pollers.With(clock));
        await Pollers.WaitForStoredRunsAsync(holder, nmsc, "tool", 11);
        admin = await holder.AdminAsync();
        var runs = await Pollers.RunsAsync(admin, nmsc, "tool");
        Assert.Equal(start.AddHours(13), Pollers.Instant(runs[10]["windowEnd"]));
        // The catch-up run stood for the missed ones: the next keeps the hour (14:00), it is not due again at once.
        Assert.Equal(start.AddHours(14), Pollers.Instant((await Pollers.GetAsync(admin, nmsc, "tool"))["nextRunAt"]));
        for (var hour = 14; hour <= 24; hour++) await StepAsync(holder, clock, TimeSpan.FromHours(1), nmsc, "tool", hour - 2);
        runs = await RunsAsync(holder, nmsc);

        Assert.Equal(22, runs.Count);
        Assert.All(runs, r => Assert.True(r["succeeded"]!.GetValue<bool>(), r.ToJsonString()));
        Pollers.AssertTiled(feed.Windows(), start, start.AddHours(24));
        Assert.Equal(Windows(runs), feed.Windows());
        AssertAppliedOnce(holder, nmsc, ids, runs);
        Assert.Equal(0, runs.Sum(r => r["duplicates"]!.GetValue<int>()));
    }

    [ProviderTheory, Providers]
    public async Task A_marketing_tool_polled_every_minute_misses_and_repeats_no_change_across_a_crash_and_restart(DatabaseProvider provider)
    {
        // The issue's "done when": a tool that only exposes GET /changes?from=&to=, polled every minute; the instance dies
        // in the middle of a window (its second page in flight) and another takes over on the same database.
        var clock = Pollers.Clock();
        await using var holder = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var feed = await ChangeFeedServer.StartAsync();
        feed.PageSize = 1;
        feed.TokenIn = "query";
        feed.TokenName = "token";
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(holder, nmsc);
        var start = clock.GetUtcNow();
        var ids = Spread(feed, start, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(20));
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start), "PT1M"));

        var first = holder.SecondInstance(Pollers.Settings(timeoutSeconds: 60), Pollers.With(clock));
        for (var minute = 1; minute <= 8; minute++) await StepAsync(holder, clock, TimeSpan.FromMinutes(1), nmsc, "tool", minute);

        // Minute 9: the window has three events, so three pages; the second one hangs and the instance stops meanwhile.
        var seen = feed.Requests.Count;
        feed.Fail(seen + 2, new FeedFailure.Slow(TimeSpan.FromSeconds(60)));
        clock.Advance(TimeSpan.FromMinutes(1));
        await feed.WaitForAsync(r => r.Count >= seen + 2, "the second page of minute 9");
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await first.DisposeAsync();
        // It stops without waiting for the hanging page (60 s).
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"the instance took {stopping.Elapsed} to stop");
        Assert.Equal(8, (await Pollers.RunsAsync(admin, nmsc, "tool")).Count);
        Assert.Equal(1, Pollers.Stored(holder, nmsc).Events - 3 * 8);

        // The dead instance's lease runs out (300 s); the next instance asks the window again, from the same start.
        await using var second = holder.SecondInstance(Pollers.Settings(timeoutSeconds: 60), Pollers.With(clock));
        await StepAsync(holder, clock, TimeSpan.FromMinutes(6), nmsc, "tool", 9);
        var runs = await RunsAsync(holder, nmsc);
        var retried = runs[8];
        Assert.Equal(start.AddMinutes(8), Pollers.Instant(retried["windowStart"]));
        Assert.Equal(1, retried["duplicates"]!.GetValue<int>());
        for (var i = 10; i <= 16; i++) await StepAsync(holder, clock, TimeSpan.FromMinutes(1), nmsc, "tool", i);
        runs = await RunsAsync(holder, nmsc);

        Assert.All(runs, r => Assert.True(r["succeeded"]!.GetValue<bool>(), r.ToJsonString()));
        Pollers.AssertTiled(Windows(runs), start, start.AddMinutes(22));
        // On the feed's side: every window asked for starts where the last complete one ended; the crashed one was asked again from its start.
        var asked = feed.Requests.Where(r => r.FirstPage).Select(r => r.From!.Value).ToList();
        Assert.Equal(Windows(runs).Select(w => w.From).Prepend(start.AddMinutes(8)).Order(), asked.Order());
        AssertAppliedOnce(holder, nmsc, ids, runs, unrecorded: 1);
        Assert.Equal(1, runs.Sum(r => r["duplicates"]!.GetValue<int>()));
        Assert.All(feed.Requests, r => Assert.True(r.TokenOk, r.Query));
        Assert.DoesNotContain(holder.Logs.Lines, l => l.Contains(feed.Token, StringComparison.Ordinal));
    }

    [ProviderTheory, Providers]
    public async Task Two_instances_on_one_database_fetch_each_window_once(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var one = await Pollers.StartAsync(provider, clock);
        await using var two = one.SecondInstance(Pollers.Settings(), Pollers.With(clock));
        await using var feed = await ChangeFeedServer.StartAsync();
        feed.PageSize = 2;
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(one, nmsc);
        var start = clock.GetUtcNow();
        var ids = Spread(feed, start, TimeSpan.FromHours(12), TimeSpan.FromMinutes(13));
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start), "PT1H"));

        List<JsonObject> runs = [];
        for (var hour = 1; hour <= 12; hour++) await StepAsync(one, clock, TimeSpan.FromHours(1), nmsc, "tool", hour);
        runs = await RunsAsync(one, nmsc);

        Assert.Equal(12, runs.Count);
        var windows = feed.Requests.Where(r => r.FirstPage).Select(r => (r.From!.Value, r.To!.Value)).ToList();
        Assert.Equal(windows.Count, windows.Distinct().Count());
        Pollers.AssertTiled(windows, start, start.AddHours(12));
        Assert.Equal(Windows(runs), windows);
        Assert.Equal(feed.Requests.Count, feed.Requests.Select(r => r.Query).Distinct().Count());
        AssertAppliedOnce(one, nmsc, ids, runs);
        Assert.Equal(0, runs.Sum(r => r["duplicates"]!.GetValue<int>()));
    }

    [ProviderTheory, Providers]
    public async Task Pages_follow_the_next_pointer_or_the_link_header_on_the_same_origin_only(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var body = await ChangeFeedServer.StartAsync();
        await using var linked = await ChangeFeedServer.StartAsync();
        await using var elsewhere = await ChangeFeedServer.StartAsync();
        body.PageSize = 3;
        body.TimeFormat = "unix";
        linked.PageSize = 2;
        linked.Paging = FeedPaging.LinkHeader;
        linked.TimeFormat = "unix-ms";
        linked.TokenIn = "query";
        linked.TokenName = "api_token";
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var start = clock.GetUtcNow().AddHours(-1);
        var bodyIds = Spread(body, start, TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(5), "b");
        var linkIds = Spread(linked, start, TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(7), "l");
        await Pollers.PutAsync(admin, nmsc, "body", Pollers.Body(body, Pollers.Iso(start)));
        // The link poller's URL has a query of its own: the window's parameters and the token are added to it.
        await Pollers.PutAsync(admin, nmsc, "link", Pollers.Body(linked, Pollers.Iso(start), change: b => b["url"] = linked.Url + "?tenant=acme"));

        var bodyRun = await Pollers.RunAsync(admin, nmsc, "body");
        Assert.True(bodyRun["succeeded"]!.GetValue<bool>(), bodyRun.ToJsonString());
        Assert.Equal("manual", bodyRun["trigger"]!.GetValue<string>());
        Assert.Equal((bodyIds.Count + 2) / 3, bodyRun["pages"]!.GetValue<int>());
        Assert.Equal(bodyIds.Count, bodyRun["items"]!.GetValue<int>());
        Assert.Equal(bodyIds.Count, bodyRun["applied"]!.GetValue<int>());
        Assert.Equal(0, bodyRun["rejected"]!.GetValue<int>());
        Assert.Null(bodyRun["error"]);
        Assert.True(bodyRun["durationMs"]!.GetValue<long>() >= 0);
        Assert.Equal(start, Pollers.Instant(bodyRun["windowStart"]));
        Assert.Equal(clock.GetUtcNow(), Pollers.Instant(bodyRun["windowEnd"]));
        Assert.Equal(start.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), body.Requests[0].QueryValues["from"]);
        Assert.All(body.Requests, r => Assert.True(r.TokenOk && r.Status == 200));
        Assert.Equal(Enumerable.Range(1, (bodyIds.Count + 2) / 3), body.Requests.Select(r => r.Page));

        var linkRun = await Pollers.RunAsync(admin, nmsc, "link");
        Assert.True(linkRun["succeeded"]!.GetValue<bool>(), linkRun.ToJsonString());
        Assert.Equal((linkIds.Count + 1) / 2, linkRun["pages"]!.GetValue<int>());
        Assert.Equal(linkIds.Count, linkRun["applied"]!.GetValue<int>());
        Assert.Equal(start.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), linked.Requests[0].QueryValues["from"]);
        Assert.Equal("acme", linked.Requests[0].QueryValues["tenant"]);
        // The query token went on every page, once: added to the next page's URL, which did not carry it.
        Assert.All(linked.Requests, r => Assert.True(r.TokenOk && r.Status == 200 && r.Query.Split(linked.Token).Length == 2, r.Query));
        Assert.Equal(bodyIds.Count + linkIds.Count, Pollers.Stored(app, nmsc).Events);

        // A next page on another origin fails the run before the hub goes there, and the watermark stays.
        clock.Advance(TimeSpan.FromMinutes(10));
        var extra = Spread(body, clock.GetUtcNow().AddMinutes(-10), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1), "x");
        body.FailNext(new FeedFailure.ForeignNext(elsewhere.Url + "?page=2"));
        var foreign = await Pollers.RunAsync(admin, nmsc, "body");
        Assert.False(foreign["succeeded"]!.GetValue<bool>());
        Assert.Contains("origin", foreign["error"]!.GetValue<string>());
        Assert.Empty(elsewhere.Requests);
        Assert.Equal(bodyRun["windowEnd"]!.GetValue<string>(), (await Pollers.GetAsync(admin, nmsc, "body"))["watermark"]!.GetValue<string>());
        Assert.Equal("active", (await Pollers.GetAsync(admin, nmsc, "body"))["state"]!.GetValue<string>());
        var retry = await Pollers.RunAsync(admin, nmsc, "body");
        Assert.True(retry["succeeded"]!.GetValue<bool>(), retry.ToJsonString());
        Assert.Equal(foreign["windowStart"]!.GetValue<string>(), retry["windowStart"]!.GetValue<string>());
        Assert.Equal(extra.Count, retry["items"]!.GetValue<int>());
        Assert.Equal(extra.Count - 3, retry["applied"]!.GetValue<int>());
        Assert.Equal(3, retry["duplicates"]!.GetValue<int>());

        // An item the mapping refuses is counted as rejected; the window still succeeds.
        clock.Advance(TimeSpan.FromMinutes(1));
        body.Add(clock.GetUtcNow().AddSeconds(-30), new JsonObject { ["id"] = "bad", ["newsletter"] = "maybe", ["confirmed"] = true });
        var rejected = await Pollers.RunAsync(admin, nmsc, "body");
        Assert.True(rejected["succeeded"]!.GetValue<bool>(), rejected.ToJsonString());
        Assert.Equal(1, rejected["rejected"]!.GetValue<int>());
        Assert.Equal(rejected["windowEnd"]!.GetValue<string>(), (await Pollers.GetAsync(admin, nmsc, "body"))["watermark"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Failures_back_off_on_the_same_window_and_a_refusal_stops_the_poller_until_resumed(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, timeoutSeconds: 1);
        await using var feed = await ChangeFeedServer.StartAsync();
        feed.TokenIn = "query";
        feed.TokenName = "token";
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var start = clock.GetUtcNow();
        var ids = Spread(feed, start, TimeSpan.FromHours(3), TimeSpan.FromMinutes(20));
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start), "PT1H"));

        // Six failures in a row, each retried after the backoff (30 s, doubling), each asking from the same start.
        FeedFailure[] failures = [new FeedFailure.Status(503), new FeedFailure.MalformedJson(), new FeedFailure.Slow(TimeSpan.FromSeconds(5)), new FeedFailure.Status(429), new FeedFailure.Body("""{ "changes": { "id": "e-0" } }"""), new FeedFailure.Status(408)];
        string[] errors = ["503", "not JSON", "longer than 1 s", "429", "itemsPointer", "408"];
        var wait = TimeSpan.FromHours(1);
        List<JsonObject> runs = [];
        for (var i = 0; i < failures.Length; i++)
        {
            feed.FailNext(failures[i]);
            await StepAsync(app, clock, wait, nmsc, "tool", i + 1);
            runs = await RunsAsync(app, nmsc);
            var failed = runs[i];
            Assert.False(failed["succeeded"]!.GetValue<bool>(), failed.ToJsonString());
            Assert.Contains(errors[i], failed["error"]!.GetValue<string>());
            Assert.Equal(start, Pollers.Instant(failed["windowStart"]));
            admin = await app.AdminAsync();
            var poller = await Pollers.GetAsync(admin, nmsc, "tool");
            Assert.Equal("active", poller["state"]!.GetValue<string>());
            Assert.Equal(start, Pollers.Instant(poller["watermark"]));
            wait = TimeSpan.FromSeconds(30 << i);
            Assert.Equal(clock.GetUtcNow() + wait, Pollers.Instant(poller["nextRunAt"]));
        }
        await StepAsync(app, clock, wait, nmsc, "tool", failures.Length + 1);
        runs = await RunsAsync(app, nmsc);
        var success = runs[^1];
        Assert.True(success["succeeded"]!.GetValue<bool>(), success.ToJsonString());
        Assert.Equal(start, Pollers.Instant(success["windowStart"]));
        Assert.Equal(clock.GetUtcNow(), Pollers.Instant(success["windowEnd"]));
        Assert.All(feed.Requests.Where(r => r.FirstPage), r => Assert.Equal(start, r.From));
        // The events of [start, now): one every 20 minutes from 17 s past the start.
        var due = Enumerable.Range(0, ids.Count).Count(k => start.AddSeconds(17).AddMinutes(20 * k) < clock.GetUtcNow());
        Assert.Equal(due, success["applied"]!.GetValue<int>());

        // A refusal (401: the tool revoked the token) stops the poller with the reason; nothing polls it until resumed.
        var token = feed.Token;
        feed.Token = "revoked";
        await StepAsync(app, clock, TimeSpan.FromHours(1), nmsc, "tool", failures.Length + 2);
        runs = await RunsAsync(app, nmsc);
        Assert.False(runs[^1]["succeeded"]!.GetValue<bool>());
        admin = await app.AdminAsync();
        var stopped = await Pollers.GetAsync(admin, nmsc, "tool");
        Assert.Equal("failed", stopped["state"]!.GetValue<string>());
        Assert.Contains("401", stopped["failureReason"]!.GetValue<string>());
        Assert.DoesNotContain(token, stopped["failureReason"]!.GetValue<string>());
        var asked = feed.Requests.Count;
        clock.Advance(TimeSpan.FromHours(2));
        admin = await app.AdminAsync();
        Assert.Contains("resume", (await Pollers.RunAsync(admin, nmsc, "tool", HttpStatusCode.Conflict))["detail"]!.GetValue<string>());

        feed.Token = token;
        var resumed = await Inbound.ExpectAsync(admin.PutAsync(Pollers.PollerPath(nmsc, "tool") + ":resume", null), HttpStatusCode.OK);
        Assert.Equal("active", resumed["state"]!.GetValue<string>());
        Assert.Null(resumed["failureReason"]);
        Assert.Equal(asked, feed.Requests.Count);
        await StepAsync(app, clock, TimeSpan.FromSeconds(1), nmsc, "tool", failures.Length + 3);
        runs = await RunsAsync(app, nmsc);
        Assert.True(runs[^1]["succeeded"]!.GetValue<bool>(), runs[^1].ToJsonString());
        Assert.Equal(success["windowEnd"]!.GetValue<string>(), runs[^1]["windowStart"]!.GetValue<string>());
        Assert.Equal(asked + 1, feed.Requests.Count);

        // A 404 stops it as well.
        feed.FailNext(new FeedFailure.Status(404));
        await StepAsync(app, clock, TimeSpan.FromHours(1), nmsc, "tool", failures.Length + 4);
        runs = await RunsAsync(app, nmsc);
        admin = await app.AdminAsync();
        Assert.Contains("404", (await Pollers.GetAsync(admin, nmsc, "tool"))["failureReason"]!.GetValue<string>());
        Assert.Equal("failed", (await Pollers.GetAsync(admin, nmsc, "tool"))["state"]!.GetValue<string>());

        AssertAppliedOnce(app, nmsc, ids, runs);
        // The token went in the query; it is in no log line, not even the failures' warnings.
        Assert.Contains(app.Logs.Lines, l => l.Contains("503", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
    }

    [ProviderTheory, Providers]
    public async Task A_run_by_hand_while_another_holds_the_poller_answers_409_and_the_window_is_fetched_once(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, timeoutSeconds: 30);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var start = clock.GetUtcNow();
        var ids = Spread(feed, start, TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(10));
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start), "PT1H"));

        // The scheduled run's page takes four seconds: meanwhile the poller is held, and a run by hand is refused.
        feed.FailNext(new FeedFailure.Slow(TimeSpan.FromSeconds(4)));
        clock.Advance(TimeSpan.FromHours(1));
        await feed.WaitForAsync(r => r.Count == 1, "the scheduled run's request");
        admin = await app.AdminAsync();
        var busy = await Pollers.RunAsync(admin, nmsc, "tool", HttpStatusCode.Conflict);
        Assert.Contains("running", busy["detail"]!.GetValue<string>());
        await Pollers.WaitForStoredRunsAsync(app, nmsc, "tool", 1);

        var runs = await RunsAsync(app, nmsc);
        Assert.True(runs.Single()["succeeded"]!.GetValue<bool>(), runs.Single().ToJsonString());
        Assert.Equal("schedule", runs.Single()["trigger"]!.GetValue<string>());
        Assert.Single(feed.Requests);
        AssertAppliedOnce(app, nmsc, ids, runs);
    }

    [ProviderTheory, Providers]
    public async Task An_address_allowed_when_saved_is_checked_again_at_connect_and_stops_the_poller(DatabaseProvider provider)
    {
        // Saved where loopback is allowed; polled by an instance where it is not: the connection is refused, the poller stops.
        var clock = Pollers.Clock();
        await using var holder = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(holder, nmsc);
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(clock.GetUtcNow()), "PT1H"));
        var strict = Pollers.Settings();
        strict["ConsentHub:Propagation:AllowInsecureLoopback"] = "false";
        await using var polling = holder.SecondInstance(strict, Pollers.With(clock));

        await StepAsync(holder, clock, TimeSpan.FromHours(1), nmsc, "tool", 1);
        var run = (await RunsAsync(holder, nmsc)).Single();
        Assert.False(run["succeeded"]!.GetValue<bool>());
        admin = await holder.AdminAsync();
        var poller = await Pollers.GetAsync(admin, nmsc, "tool");
        Assert.Equal("failed", poller["state"]!.GetValue<string>());
        Assert.Contains("loopback", poller["failureReason"]!.GetValue<string>());
        Assert.Empty(feed.Requests);
    }

    [ProviderTheory, Providers]
    public async Task A_feed_that_cannot_be_reached_is_retried_after_the_backoff_and_the_poller_stays_active(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var since = clock.GetUtcNow().AddMinutes(-5);
        // Nothing listens on this port: the connection is refused.
        var down = $"http://127.0.0.1:{HubApp.FreePort()}/changes";
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(since), change: b => b["url"] = down));

        var run = await Pollers.RunAsync(admin, nmsc, "tool");
        Assert.False(run["succeeded"]!.GetValue<bool>());
        Assert.Contains("failed", run["error"]!.GetValue<string>());
        Assert.Equal(0, run["pages"]!.GetValue<int>());
        var poller = await Pollers.GetAsync(admin, nmsc, "tool");
        Assert.Equal("active", poller["state"]!.GetValue<string>());
        Assert.Null(poller["failureReason"]);
        Assert.Equal(since, Pollers.Instant(poller["watermark"]));
        Assert.Equal(clock.GetUtcNow().AddSeconds(30), Pollers.Instant(poller["nextRunAt"]));
        Assert.DoesNotContain(feed.Token, run.ToJsonString());
    }

    [ProviderTheory, Providers]
    public async Task A_since_set_while_a_run_is_in_flight_is_where_the_next_window_starts(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, enabled: false, timeoutSeconds: 30);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique(Org);
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var start = clock.GetUtcNow().AddMinutes(-30);
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(start)));

        // The admin asks for the last day again while a run is fetching its page.
        feed.FailNext(new FeedFailure.Slow(TimeSpan.FromSeconds(4)));
        var running = Pollers.RunAsync(admin, nmsc, "tool");
        await feed.WaitForAsync(r => r.Count == 1, "the run's request");
        var again = start.AddDays(-1);
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Pollers.Iso(again)), HttpStatusCode.OK);
        var run = await running;
        Assert.True(run["succeeded"]!.GetValue<bool>(), run.ToJsonString());

        Assert.Equal(again, Pollers.Instant((await Pollers.GetAsync(admin, nmsc, "tool"))["watermark"]));
        clock.Advance(TimeSpan.FromMinutes(1));
        var next = await Pollers.RunAsync(admin, nmsc, "tool");
        Assert.Equal(again, Pollers.Instant(next["windowStart"]));
    }
}
