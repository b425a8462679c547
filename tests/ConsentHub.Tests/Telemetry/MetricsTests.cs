using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Telemetry;

/// <summary>
/// The Prometheus scrape endpoint (issue 21 §3): the admin reads requests by route and status and the changes applied
/// by organisation; nobody else reads it; switched off, it is not there.
/// </summary>
public sealed class MetricsTests
{
    [ProviderTheory, Providers]
    public async Task The_admin_scrapes_requests_by_route_and_status_and_changes_applied_by_organisation(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        // An organisation of this test alone: meters are per hub, but every hub of the test process is listened to.
        var nmsc = $"m{Guid.NewGuid():N}"[..12];
        var system = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var client = await app.AsAsync(system);
        for (var i = 1; i <= 3; i++)
        {
            var created = await HubApp.SubmitAsync(client, system, $"c{i}", Seed.Consent("OFFERS", true));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        var read = await client.GetAsync(HubApp.SubscriptionDataPath(system, "c1"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var missing = await client.GetAsync(HubApp.SubscriptionDataPath(system, "nobody"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var admin = await app.AdminAsync();
        var scraped = await admin.GetAsync("/metrics");
        var text = await scraped.Content.ReadAsStringAsync();
        Assert.True(HttpStatusCode.OK == scraped.StatusCode, $"{(int)scraped.StatusCode}: {text}");
        Assert.StartsWith("text/plain", scraped.Content.Headers.ContentType?.MediaType);

        // Three changes committed in this organisation, counted once each.
        var applied = Regex.Match(text, $@"^consenthub_changes_applied_total\{{[^}}]*nmsc=""{nmsc}""[^}}]*\}} (\d+)", RegexOptions.Multiline);
        Assert.True(applied.Success, $"no changes counted for {nmsc}:\n{text}");
        Assert.Equal("3", applied.Groups[1].Value);
        // Requests by route template (never a customer's id) and status.
        var route = "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/customers/{sourceCustomerId}/subscription-data";
        Assert.Matches(new Regex($@"^http_server_request_duration_seconds_count\{{[^}}]*http_request_method=""GET""[^}}]*http_response_status_code=""404""[^}}]*http_route=""{Regex.Escape(route)}""", RegexOptions.Multiline), text);
        Assert.DoesNotContain("nobody", text);
    }

    [ProviderTheory, Providers]
    public async Task Webhook_calls_are_counted_by_destination_and_outcome(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var nmsc = $"m{Guid.NewGuid():N}"[..12];
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        await using var working = await WebhookReceiver.StartAsync();
        await using var failing = await WebhookReceiver.StartAsync();
        failing.Answer = (_, _) => new ReceiverAnswer(500);
        await Propagations.RegisterAsync(app, crm, working);
        await Propagations.RegisterAsync(app, dms, failing);
        using (var client = await app.AsAsync(crm)) await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        using (var client = await app.AsAsync(dms)) await HubApp.AppliedAsync(client, dms, "d-1", Seed.Consent("OFFERS", true));
        await Propagations.AllDeliveredAsync(app, crm, 1);
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(failing.Calls.Count), n => n >= 1, TimeSpan.FromSeconds(20)) >= 1, "dms's receiver was never called");

        // Counted once the attempt is recorded, which follows the call: asked until both are there.
        using var admin = await app.AdminAsync();
        var delivered = Counter("delivered", "toyota/crm");
        var failed = Counter("failed", "toyota/dms");
        var text = await Poll.UntilAsync(() => admin.GetStringAsync("/metrics"),
            t => delivered.IsMatch(t) && failed.IsMatch(t), TimeSpan.FromSeconds(20));
        Assert.Equal("1", delivered.Match(text).Groups[1].Value);
        Assert.True(int.Parse(failed.Match(text).Groups[1].Value) >= 1, text);
        Assert.DoesNotMatch(Counter("failed", "toyota/crm"), text);

        Regex Counter(string outcome, string destination) => new(
            $@"^consenthub_deliveries_total\{{(?=[^}}]*destination=""{Regex.Escape(destination)}"")(?=[^}}]*nmsc=""{nmsc}"")(?=[^}}]*outcome=""{outcome}"")[^}}]*\}} (\d+)",
            RegexOptions.Multiline);
    }

    [ProviderTheory, Providers]
    public async Task Only_the_admin_reads_the_metrics_and_switched_off_they_are_not_served(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(system);
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/metrics")).StatusCode);

        await using var off = await HubApp.StartAsync(provider, new() { ["ConsentHub:Telemetry:MetricsEnabled"] = "false" });
        using var admin = await off.AdminAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/metrics")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task On_a_port_of_its_own_the_metrics_are_served_there_to_anyone_and_no_longer_on_the_hubs_port(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Telemetry:MetricsPort"] = port.ToString(CultureInfo.InvariantCulture) });
        var nmsc = $"m{Guid.NewGuid():N}"[..12];
        var system = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(system)) await HubApp.AppliedAsync(client, system, "c1", Seed.Consent("OFFERS", true));

        // Without sign-in: the port is for a scraper inside the operator's network.
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var scraped = await scraper.GetAsync("/metrics");
        var text = await scraped.Content.ReadAsStringAsync();
        Assert.True(HttpStatusCode.OK == scraped.StatusCode, $"{(int)scraped.StatusCode}: {text}");
        Assert.Matches(new Regex($@"^consenthub_changes_applied_total\{{[^}}]*nmsc=""{nmsc}""[^}}]*\}} 1$", RegexOptions.Multiline), text);
        // Only the metrics are there, and only read.
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.PostAsync("/metrics", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("/health")).StatusCode);
        // The hub's own port no longer serves them, not even to the admin.
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/metrics")).StatusCode);
    }
}
