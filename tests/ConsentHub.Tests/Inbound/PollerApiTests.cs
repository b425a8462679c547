using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Inbound;

/// <summary>The pollers' admin routes (seed 001 §3): define, show, replace, list, delete, runs, pause and resume, and every rule of the body.</summary>
public sealed class PollerApiTests
{
    const string Since = "2026-01-01T00:00:00Z";

    [ProviderTheory, Providers]
    public async Task A_poller_is_defined_shown_listed_replaced_with_its_token_kept_and_deleted(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique("pa");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);

        var created = await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Since, "PT1M"));
        Assert.Equal("tool", created["name"]!.GetValue<string>());
        Assert.Equal(nmsc, created["nmsc"]!.GetValue<string>());
        Assert.Equal(feed.Url, created["url"]!.GetValue<string>());
        Assert.Equal("header", created["tokenIn"]!.GetValue<string>());
        Assert.Equal("x-api-key", created["tokenName"]!.GetValue<string>());
        Assert.Equal("PT1M", created["interval"]!.GetValue<string>());
        Assert.Equal("iso8601", created["timeFormat"]!.GetValue<string>());
        Assert.Equal("/changes", created["itemsPointer"]!.GetValue<string>());
        Assert.Equal("/next", created["nextPointer"]!.GetValue<string>());
        Assert.Equal("form-builder", created["eventType"]!.GetValue<string>());
        Assert.Equal("PT0S", created["safetyLag"]!.GetValue<string>());
        Assert.Equal("active", created["state"]!.GetValue<string>());
        Assert.Null(created["failureReason"]);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), Pollers.Instant(created["watermark"]));
        Assert.Equal(Pollers.PollerPath(nmsc, "tool"), created["_links"]!["self"]!["href"]!.GetValue<string>());
        Assert.Equal(Pollers.PollerPath(nmsc, "tool") + "/runs", created["_links"]!["runs"]!["href"]!.GetValue<string>());
        Assert.Equal(Inbound.TypePath(nmsc, "form-builder"), created["_links"]!["event-type"]!["href"]!.GetValue<string>());
        Assert.DoesNotContain(feed.Token, created.ToJsonString());
        Assert.Null(created["token"]);

        var shown = await Pollers.GetAsync(admin, nmsc, "tool");
        Assert.DoesNotContain(feed.Token, shown.ToJsonString());
        Assert.Equal(created["createdAt"]!.GetValue<string>(), shown["createdAt"]!.GetValue<string>());

        // Without a since, a poller starts at its creation (whole seconds).
        var second = await Pollers.PutAsync(admin, nmsc, "other", Pollers.Body(feed, Since, "*/5 * * * *", b => b.Remove("since")));
        Assert.Equal(clock.GetUtcNow(), Pollers.Instant(second["watermark"]));
        Assert.Equal("*/5 * * * *", second["interval"]!.GetValue<string>());
        Assert.Equal("PT30S", (await Pollers.PutAsync(admin, nmsc, "lagged", Pollers.Body(feed, Since, change: b => b.Remove("safetyLag"))))["safetyLag"]!.GetValue<string>());

        var list = await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/pollers"), HttpStatusCode.OK);
        Assert.Equal(3, list["count"]!.GetValue<int>());
        Assert.Equal(["lagged", "other", "tool"], list["pollers"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).Order());
        Assert.DoesNotContain(feed.Token, list.ToJsonString());

        // Replaced without a token: the stored one is kept, and the feed still gets it.
        var replaced = await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Since, "PT2M", b => b.Remove("token")), HttpStatusCode.OK);
        Assert.Equal("PT2M", replaced["interval"]!.GetValue<string>());
        Assert.Equal(created["createdAt"]!.GetValue<string>(), replaced["createdAt"]!.GetValue<string>());
        var run = await Pollers.RunAsync(admin, nmsc, "tool");
        Assert.True(run["succeeded"]!.GetValue<bool>(), run.ToJsonString());
        Assert.True(feed.Requests.Single().TokenOk);

        // Replaced with a new token: the feed gets the new one.
        feed.Token = "rotated-" + feed.Token;
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Since, "PT2M"), HttpStatusCode.OK);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True((await Pollers.RunAsync(admin, nmsc, "tool"))["succeeded"]!.GetValue<bool>());
        Assert.True(feed.Requests[^1].TokenOk);

        // Stored protected, and in no ledger entry.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var stored = db.Pollers.Where(p => p.Nmsc == nmsc && p.Name == "tool").Select(p => p.ProtectedToken).Single();
            Assert.DoesNotContain(feed.Token, stored);
            Assert.DoesNotContain(db.LedgerEntries.Select(e => e.Payload).ToList(), payload => payload.Contains(feed.Token, StringComparison.Ordinal));
        }

        using (var deleted = await admin.DeleteAsync(Pollers.PollerPath(nmsc, "tool"))) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var gone = await admin.GetAsync(Pollers.PollerPath(nmsc, "tool"))) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using (var again = await admin.DeleteAsync(Pollers.PollerPath(nmsc, "tool"))) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        using (var runs = await admin.GetAsync(Pollers.PollerPath(nmsc, "tool") + "/runs")) Assert.Equal(HttpStatusCode.NotFound, runs.StatusCode);
        Assert.Equal(2, (await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/pollers"), HttpStatusCode.OK))["count"]!.GetValue<int>());
    }

    static readonly (string Field, string Property, string? Value)[] Refusals =
    [
        // field, JSON property to set, its value (null removes it)
        ("url", "url", null),
        ("url", "url", "http://tool.example.com/changes"),
        ("url", "url", "https://169.254.169.254/latest/meta-data"),
        ("url", "url", "https://100.100.100.200/changes"),
        ("url", "url", "https://[fe80::1]/changes"),
        ("url", "url", "https://0.0.0.0/changes"),
        ("url", "url", "changes"),
        ("url", "url", "HOST/changes#here"),
        ("token", "token", null),
        ("token", "token", ""),
        ("tokenIn", "tokenIn", "cookie"),
        ("tokenIn", "tokenIn", null),
        ("tokenName", "tokenName", "x api key"),
        ("tokenName", "tokenName", null),
        ("interval", "interval", null),
        ("interval", "interval", "every minute"),
        ("interval", "interval", "PT5S"),
        ("interval", "interval", "* * * *"),
        ("windowStart", "windowStart", ""),
        ("windowEnd", "windowEnd", "from"),
        ("timeFormat", "timeFormat", "yyyy-MM-dd HH:mm"),
        ("timeFormat", "timeFormat", ""),
        ("itemsPointer", "itemsPointer", "changes"),
        ("itemsPointer", "itemsPointer", null),
        ("nextPointer", "nextPointer", "next"),
        ("eventType", "eventType", "no-such-type"),
        ("eventType", "eventType", null),
        ("safetyLag", "safetyLag", "soon"),
        ("safetyLag", "safetyLag", "-PT1M"),
        ("since", "since", "yesterday"),
    ];

    [ProviderTheory, Providers]
    public async Task Every_rule_of_the_body_answers_400_naming_its_field(DatabaseProvider provider)
    {
        var app = await LoopbackAppAsync(provider);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique("pv");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        foreach (var (field, property, value) in Refusals)
        {
            var body = Pollers.Body(feed, Since, "PT1M", b =>
            {
                if (value is null) b.Remove(property);
                else b[property] = value.Replace("HOST", feed.Origin, StringComparison.Ordinal);
            });
            var problem = await Pollers.PutAsync(admin, nmsc, "tool", body, HttpStatusCode.BadRequest);
            var fields = problem["violations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>()).ToList();
            Assert.True(fields.Contains(field), $"{property}={value ?? "(missing)"}: {problem.ToJsonString()}");
        }
        Assert.Equal(0, (await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/pollers"), HttpStatusCode.OK))["count"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task The_accepted_forms_of_interval_time_format_and_pointers_are_kept_as_given(DatabaseProvider provider)
    {
        var app = await LoopbackAppAsync(provider);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique("pk");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var cases = new (string Interval, string? Format, string? Next)[]
        {
            ("*/5 * * * *", "unix", null), ("0 3 * * 1-5", "unix-ms", "/paging/next"), ("PT10S", "yyyy-MM-dd HH:mm:ss", "/next"), ("P1D", null, null),
        };
        for (var i = 0; i < cases.Length; i++)
        {
            var (interval, format, next) = cases[i];
            var view = await Pollers.PutAsync(admin, nmsc, $"p{i}", Pollers.Body(feed, Since, interval, b =>
            {
                if (format is null) b.Remove("timeFormat"); else b["timeFormat"] = format;
                if (next is null) b.Remove("nextPointer"); else b["nextPointer"] = next;
                b["tokenIn"] = "query";
                b["tokenName"] = "token";
            }));
            Assert.Equal(interval, view["interval"]!.GetValue<string>());
            Assert.Equal(format ?? "iso8601", view["timeFormat"]!.GetValue<string>());
            Assert.Equal(next, view["nextPointer"]?.GetValue<string>());
            Assert.Equal("query", view["tokenIn"]!.GetValue<string>());
        }
        // A name of the allowed characters, up to 64; others are refused naming the name.
        await Pollers.PutAsync(admin, nmsc, "Tool_2.feed-" + new string('x', 52), Pollers.Body(feed, Since));
        foreach (var bad in new[] { "-tool", "tool%20x", new string('x', 65) })
        {
            var problem = await Pollers.PutAsync(admin, nmsc, bad, Pollers.Body(feed, Since), HttpStatusCode.BadRequest);
            Assert.Contains("name", problem["violations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>()));
        }
    }

    [ProviderTheory, Providers]
    public async Task A_loopback_url_is_refused_unless_insecure_loopback_is_allowed(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique("pl");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var problem = await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, Since), HttpStatusCode.BadRequest);
        Assert.Equal(["url"], problem["violations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>()));
        Assert.Contains("loopback", problem.ToJsonString());
        using var missing = await admin.PutAsJsonAsync(Pollers.PollerPath("no-such-org", "tool"), Pollers.Body(feed, Since));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Runs_page_newest_first_and_a_paused_poller_is_not_run_until_resumed(DatabaseProvider provider)
    {
        var clock = Pollers.Clock();
        await using var app = await Pollers.StartAsync(provider, clock, enabled: false);
        await using var feed = await ChangeFeedServer.StartAsync();
        var nmsc = HubApp.Unique("pr");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var since = clock.GetUtcNow().AddHours(-1);
        feed.Add(since.AddMinutes(10), Pollers.Item("r-1"));
        await Pollers.PutAsync(admin, nmsc, "tool", Pollers.Body(feed, since.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), "PT1M"));

        for (var i = 0; i < 3; i++)
        {
            if (i > 0) clock.Advance(TimeSpan.FromMinutes(1));
            var run = await Pollers.RunAsync(admin, nmsc, "tool");
            Assert.True(run["succeeded"]!.GetValue<bool>(), run.ToJsonString());
            Assert.Equal("manual", run["trigger"]!.GetValue<string>());
        }
        // Nothing new since the last run: an empty window answers 200, pages 0, and is not stored.
        var empty = await Pollers.RunAsync(admin, nmsc, "tool");
        Assert.Equal(0, empty["pages"]!.GetValue<int>());
        Assert.Equal(3, feed.Requests.Count);
        Assert.Equal(3, (await Pollers.RunsAsync(admin, nmsc, "tool")).Count);

        var first = await Inbound.ExpectAsync(admin.GetAsync(Pollers.PollerPath(nmsc, "tool") + "/runs?limit=2"), HttpStatusCode.OK);
        Assert.Equal(2, first["count"]!.GetValue<int>());
        var ids = first["runs"]!.AsArray().Select(r => r!["id"]!.GetValue<long>()).ToList();
        Assert.True(ids[0] > ids[1]);
        var next = first["_links"]!["next"]!["href"]!.GetValue<string>();
        var rest = await Inbound.ExpectAsync(admin.GetAsync(next), HttpStatusCode.OK);
        var restRuns = rest["runs"]!.AsArray();
        Assert.Single(restRuns);
        Assert.All(restRuns, r => Assert.True(r!["id"]!.GetValue<long>() < ids[1]));
        Assert.Null(rest["_links"]!["next"]);
        var oldest = restRuns[^1]!;
        Assert.Equal(1, oldest["items"]!.GetValue<int>());
        Assert.Equal(1, oldest["applied"]!.GetValue<int>());
        Assert.Equal(since, Pollers.Instant(oldest["windowStart"]));
        foreach (var bad in new[] { "?limit=0", "?limit=501", "?limit=x", "?after=x" })
            using (var refused = await admin.GetAsync(Pollers.PollerPath(nmsc, "tool") + "/runs" + bad))
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        var paused = await Inbound.ExpectAsync(admin.PutAsync(Pollers.PollerPath(nmsc, "tool") + ":pause", null), HttpStatusCode.OK);
        Assert.Equal("paused", paused["state"]!.GetValue<string>());
        var requests = feed.Requests.Count;
        clock.Advance(TimeSpan.FromMinutes(5));
        var conflict = await Pollers.RunAsync(admin, nmsc, "tool", HttpStatusCode.Conflict);
        Assert.Contains("resume", conflict["detail"]!.GetValue<string>());
        Assert.Equal(requests, feed.Requests.Count);

        var resumed = await Inbound.ExpectAsync(admin.PutAsync(Pollers.PollerPath(nmsc, "tool") + ":resume", null), HttpStatusCode.OK);
        Assert.Equal("active", resumed["state"]!.GetValue<string>());
        Assert.Equal(clock.GetUtcNow(), Pollers.Instant(resumed["nextRunAt"]));
        var after = await Pollers.RunAsync(admin, nmsc, "tool");
        Assert.True(after["succeeded"]!.GetValue<bool>());
        Assert.Equal(requests + 1, feed.Requests.Count);

        using (var unknown = await admin.PostAsync(Pollers.PollerPath(nmsc, "nope") + ":run", null)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var unknown = await admin.PutAsync(Pollers.PollerPath(nmsc, "nope") + ":pause", null)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Only_the_admin_may_use_the_poller_routes(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("pz");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);
        var system = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var anonymous = app.CreateClient();
        using var sourceSystem = await app.AsAsync(system);
        var body = new JsonObject { ["url"] = "https://tool.example.com/changes" };
        var calls = new Func<HttpClient, Task<HttpResponseMessage>>[]
        {
            c => c.GetAsync($"/admin/organisations/{nmsc}/pollers"),
            c => c.PutAsJsonAsync(Pollers.PollerPath(nmsc, "tool"), body),
            c => c.GetAsync(Pollers.PollerPath(nmsc, "tool")),
            c => c.DeleteAsync(Pollers.PollerPath(nmsc, "tool")),
            c => c.GetAsync(Pollers.PollerPath(nmsc, "tool") + "/runs"),
            c => c.PostAsync(Pollers.PollerPath(nmsc, "tool") + ":run", null),
            c => c.PutAsync(Pollers.PollerPath(nmsc, "tool") + ":pause", null),
            c => c.PutAsync(Pollers.PollerPath(nmsc, "tool") + ":resume", null),
        };
        foreach (var call in calls)
        {
            using (var response = await call(anonymous)) Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using (var response = await call(sourceSystem)) Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        Assert.Equal(0, (await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/pollers"), HttpStatusCode.OK))["count"]!.GetValue<int>());
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<DatabaseProvider, Lazy<Task<HubApp>>> LoopbackApps = new();

    /// <summary>One app per provider that allows loopback feeds and never polls on schedule, shared by the rule tests.</summary>
    static Task<HubApp> LoopbackAppAsync(DatabaseProvider provider) =>
        LoopbackApps.GetOrAdd(provider, p => new Lazy<Task<HubApp>>(() => HubApp.StartAsync(p, Pollers.Settings(enabled: false)))).Value;
}
