using System.Net;
using System.Net.Http.Json;
using System.Text;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Inbound;

/// <summary>The shortest path through a poller: one page served over real HTTP, polled by hand, its item applied once.</summary>
public sealed class PollerSmokeTests
{
    [ProviderTheory, Providers]
    public async Task A_poller_run_by_hand_takes_the_window_in_and_moves_its_watermark(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true", ["ConsentHub:Pollers:Enabled"] = "false" },
            s => s.AddSingleton<TimeProvider>(clock));
        var nmsc = HubApp.Unique("po");
        var (admin, _) = await Inbound.FormBuilderAsync(app, nmsc);

        var port = HubApp.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var requests = new List<string>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync(); } catch (Exception) { return; }
                lock (requests) requests.Add(context.Request.Url!.PathAndQuery + " " + context.Request.Headers["x-token"]);
                var body = Encoding.UTF8.GetBytes("""{ "changes": [ { "id": "p-1", "mail": "paul@example.org", "newsletter": "no", "confirmed": true } ] }""");
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });

        await Inbound.ExpectAsync(admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/pollers/tool", new
        {
            url = $"http://127.0.0.1:{port}/changes", token = "remote-secret", tokenIn = "header", tokenName = "x-token", interval = "PT1M",
            windowStart = "from", windowEnd = "to", itemsPointer = "/changes", eventType = "form-builder", safetyLag = "PT0S", since = "2026-01-01T00:00:00Z",
        }), HttpStatusCode.Created);
        var run = await Inbound.ExpectAsync(admin.PostAsync($"/admin/organisations/{nmsc}/pollers/tool:run", null), HttpStatusCode.OK);
        Assert.True(run["succeeded"]!.GetValue<bool>(), run.ToJsonString());
        Assert.Equal(1, run["applied"]!.GetValue<int>());
        clock.Advance(TimeSpan.FromMinutes(2));
        var again = await Inbound.ExpectAsync(admin.PostAsync($"/admin/organisations/{nmsc}/pollers/tool:run", null), HttpStatusCode.OK);
        Assert.Equal(run["windowEnd"]!.GetValue<string>(), again["windowStart"]!.GetValue<string>());
        Assert.Equal(1, again["duplicates"]!.GetValue<int>());
        listener.Stop();
        Assert.StartsWith("/changes?from=2026-01-01T00%3A00%3A00Z&to=", requests[0]);
        Assert.EndsWith(" remote-secret", requests[0]);
        var runs = await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/pollers/tool/runs"), HttpStatusCode.OK);
        Assert.Equal(2, runs["count"]!.GetValue<int>());
    }
}
