using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Inbound;

/// <summary>Arranging polling adapters (seed 001 §3) against a <see cref="ChangeFeedServer"/>.</summary>
public static class Pollers
{
    public static string PollerPath(string nmsc, string name) => $"/admin/organisations/{nmsc}/pollers/{name}";

    /// <summary>Settings for an instance that polls on schedule against loopback feeds, looking for due pollers every second.</summary>
    public static Dictionary<string, string?> Settings(bool enabled = true, int timeoutSeconds = 2) => new()
    {
        ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true",
        ["ConsentHub:Pollers:Enabled"] = enabled ? "true" : "false",
        ["ConsentHub:Pollers:SweepSeconds"] = "1",
        ["ConsentHub:Pollers:TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
    };

    /// <summary>A clock at a whole minute (so window bounds read plainly), a little before the real now.</summary>
    public static FakeTimeProvider Clock()
    {
        var now = DateTimeOffset.UtcNow;
        return new FakeTimeProvider(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddDays(-2));
    }

    public static Action<IServiceCollection> With(FakeTimeProvider clock) => s => s.AddSingleton<TimeProvider>(clock);

    public static Task<HubApp> StartAsync(DatabaseProvider provider, FakeTimeProvider clock, bool enabled = true, int timeoutSeconds = 2) =>
        HubApp.StartAsync(provider, Settings(enabled, timeoutSeconds), With(clock));

    /// <summary>The poller's body for <paramref name="feed"/>; <paramref name="change"/> adjusts it.</summary>
    public static JsonObject Body(ChangeFeedServer feed, string since, string interval = "PT1H", Action<JsonObject>? change = null)
    {
        var body = new JsonObject
        {
            ["url"] = feed.Url, ["token"] = feed.Token, ["tokenIn"] = feed.TokenIn, ["tokenName"] = feed.TokenName, ["interval"] = interval,
            ["windowStart"] = feed.WindowStart, ["windowEnd"] = feed.WindowEnd, ["timeFormat"] = feed.TimeFormat, ["itemsPointer"] = "/changes",
            ["eventType"] = "form-builder", ["safetyLag"] = "PT0S", ["since"] = since,
        };
        if (feed.Paging == FeedPaging.Body) body["nextPointer"] = "/next";
        change?.Invoke(body);
        return body;
    }

    public static Task<JsonObject> PutAsync(HttpClient admin, string nmsc, string name, JsonObject body, HttpStatusCode status = HttpStatusCode.Created) =>
        Inbound.ExpectAsync(admin.PutAsJsonAsync(PollerPath(nmsc, name), body), status);

    public static Task<JsonObject> RunAsync(HttpClient admin, string nmsc, string name, HttpStatusCode status = HttpStatusCode.OK) =>
        Inbound.ExpectAsync(admin.PostAsync(PollerPath(nmsc, name) + ":run", null), status);

    public static Task<JsonObject> GetAsync(HttpClient admin, string nmsc, string name) =>
        Inbound.ExpectAsync(admin.GetAsync(PollerPath(nmsc, name)), HttpStatusCode.OK);

    /// <summary>The stored runs, oldest first.</summary>
    public static async Task<List<JsonObject>> RunsAsync(HttpClient admin, string nmsc, string name)
    {
        var runs = await Inbound.ExpectAsync(admin.GetAsync(PollerPath(nmsc, name) + "/runs?limit=500"), HttpStatusCode.OK);
        return [.. runs["runs"]!.AsArray().Select(r => r!.AsObject()).Reverse()];
    }

    /// <summary>Waits until the poller has stored <paramref name="count"/> runs (or more); returns them oldest first.</summary>
    public static async Task<List<JsonObject>> WaitForRunsAsync(HttpClient admin, string nmsc, string name, int count, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var runs = await RunsAsync(admin, nmsc, name);
            if (runs.Count >= count) return runs;
            if (DateTime.UtcNow > until)
                throw new Xunit.Sdk.XunitException($"poller {name}: {runs.Count} runs, {count} expected: {string.Join(" | ", runs.Select(r => r.ToJsonString()))}");
            await Task.Delay(20);
        }
    }

    /// <summary>An instant the hub answered.</summary>
    public static DateTimeOffset Instant(JsonNode? value) =>
        DateTimeOffset.Parse(value!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);

    public static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Waits until the poller has stored <paramref name="count"/> runs (or more), reading the database: the admin's token
    /// would expire while the fake clock moves by hours.
    /// </summary>
    public static async Task WaitForStoredRunsAsync(HubApp app, string nmsc, string name, int count, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            int stored;
            using (var scope = app.Scope())
            {
                var db = app.Db(scope);
                var id = db.Pollers.Where(p => p.Nmsc == nmsc && p.Name == name).Select(p => p.Id).Single();
                stored = db.PollerRuns.Count(r => r.PollerId == id);
            }
            if (stored >= count) return;
            if (DateTime.UtcNow > until) throw new Xunit.Sdk.XunitException($"poller {name}: {stored} runs stored, {count} expected");
            await Task.Delay(20);
        }
    }

    /// <summary>A form builder event (the sample's shape) for person <paramref name="id"/>.</summary>
    public static JsonObject Item(string id, bool yes = true) => new()
    {
        ["id"] = id, ["mail"] = $"{id}@example.org", ["newsletter"] = yes ? "yes" : "no", ["lang"] = "de", ["confirmed"] = true,
    };

    /// <summary>The windows tile [<paramref name="start"/>, <paramref name="end"/>): each starts where the one before ended.</summary>
    public static void AssertTiled(IReadOnlyList<(DateTimeOffset From, DateTimeOffset To)> windows, DateTimeOffset start, DateTimeOffset end)
    {
        Assert.NotEmpty(windows);
        Assert.Equal(start, windows[0].From);
        for (var i = 0; i < windows.Count; i++)
        {
            Assert.True(windows[i].From < windows[i].To, $"window {i} is empty or reversed: {windows[i]}");
            if (i > 0) Assert.True(windows[i].From == windows[i - 1].To, $"window {i} starts at {windows[i].From:o}, the one before ended at {windows[i - 1].To:o}");
        }
        Assert.Equal(end, windows[^1].To);
    }

    /// <summary>
    /// What the organisation holds: the inbound events taken in (and their distinct dedup keys), and per customer
    /// (by source customer id) the change requests made for it.
    /// </summary>
    public static (int Events, int DistinctKeys, Dictionary<string, int> RequestsPerCustomer) Stored(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        var types = db.EventTypes.Where(t => t.Nmsc == nmsc).Select(t => t.Id).ToList();
        var keys = db.InboundEvents.Where(e => types.Contains(e.EventTypeId)).Select(e => e.DedupKey).ToList();
        var customers = db.Customers.Where(c => c.Nmsc == nmsc).Select(c => new { c.Id, c.SourceCustomerId }).ToList();
        var ids = customers.Select(c => c.Id).ToList();
        var requests = db.ChangeRequests.Where(r => ids.Contains(r.CustomerId)).Select(r => r.CustomerId).ToList();
        return (keys.Count, keys.Distinct().Count(), customers.ToDictionary(c => c.SourceCustomerId, c => requests.Count(r => r == c.Id)));
    }
}
