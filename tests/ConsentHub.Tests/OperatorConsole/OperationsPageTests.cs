using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Extracts;
using ConsentHub.Inbound;
using ConsentHub.OptOut;
using ConsentHub.Outbound;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's operations page in Debian's Chromium: the admin sees an upload's counts, a validation email waiting in
/// the mail queue (the worker is off) and the destination's waiting messages; another organisation's DPO sees none of
/// them, nor the tgb's extracts, suppression files, pollers, CDC subscriptions and replicas the admin sees (never with a
/// replica's connection string or a poller's address); no WCAG 2.2 A or AA violation.
/// </summary>
public sealed class OperationsPageTests
{
    [ProviderTheory, Providers]
    public async Task The_admin_sees_an_uploads_counts_the_mail_queue_and_waiting_messages_and_another_dpo_none(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await app.RegisterSourceSystemAsync("tfr", "toyota", "dms");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);
        using (var client = await app.AsAsync(crm))
            Assert.Equal(System.Net.HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, "c-1", Seed.Consent("OFFERS", true, validated: false))).StatusCode);
        using (var client = await Uploads.StreamingClientAsync(app, crm))
        {
            var lines = Uploads.AsLines(new List<JsonNode>
            {
                Uploads.Envelope(crm, "u-1", Seed.Consent("OFFERS", true)),
                Uploads.Envelope(crm, "u-2", Seed.Consent("SURVEYS", false)),
                Uploads.Envelope(crm, "u-3", Seed.Consent("NO-SUCH-CATEGORY", true)),
            });
            var (_, job) = await Uploads.PostAsync(client, crm, lines, "application/x-ndjson");
            Assert.Equal(("COMPLETED", 3, 2, 1), (job["status"]!.GetValue<string>(), Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected")));
        }
        var otherDpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tfr");
        // The later features' rows, as their runners leave them: stored directly, each held by a lease of another
        // instance or in a state no runner takes, so that the page is read against rows that stay as written.
        var now = DateTime.UtcNow;
        var lease = now.AddHours(1);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.ExtractRuns.Add(new ExtractRun
            {
                Id = Guid.NewGuid(), DefinitionId = Guid.NewGuid(), Nmsc = "tgb", Name = "weekly-optins", Slot = "manual", Trigger = "manual", Spec = "{}",
                State = ExtractRunStates.Completed, Rows = 1234, Bytes = 5 * 1024 * 1024, RequestedBy = "admin", RequestedAt = now.AddMinutes(-5), CompletedAt = now,
            });
            db.SuppressionFiles.Add(new SuppressionFile
            {
                Id = Guid.NewGuid(), Nmsc = "tgb", Slot = "daily:x", Frequency = "daily", Kind = "full", Format = "csv", PeriodStart = now.Date.AddDays(-1),
                PeriodEnd = now.Date, CutOff = now.Date, Lines = 42, ClaimedAt = now, CreatedAt = now,
            });
            db.Pollers.Add(new Poller
            {
                Id = Guid.NewGuid(), Nmsc = "tgb", Name = "shop-orders", EventTypeId = Guid.NewGuid(), EventType = "order-placed",
                Url = "https://shop.example/orders?key=poller-secret-in-address", ProtectedToken = "x", TokenIn = "header", TokenName = "key", Interval = "PT5M",
                WindowStart = "from", WindowEnd = "to", ItemsPointer = "/items", State = PollerStates.Paused, Watermark = now.AddMinutes(-10), NextRunAt = now.AddMinutes(5),
                CreatedAt = now, UpdatedAt = now,
            });
            db.CdcSubscriptions.Add(new CdcSubscription
            {
                Id = Guid.NewGuid(), Nmsc = "tgb", Name = "warehouse", Fields = "[]", Exchange = "consent-changes", CursorIndex = 7, PublishedCount = 3,
                LastPublishedAt = now, LeaseOwner = "another-instance", LeaseUntil = lease, CreatedAt = now, UpdatedAt = now,
            });
            db.Replicas.Add(new Replica
            {
                Id = Guid.NewGuid(), Nmsc = "tgb", Name = "crm-copy", ConnectionString = "Host=replica.example;Password=replica-secret-password", Schema = "public",
                Table = "consents", State = ReplicaStates.Live, AppliedIndex = 9, RowsApplied = 17, LastError = "connection refused", LastErrorAt = now,
                LeaseOwner = "another-instance", LeaseUntil = lease, CreatedAt = now, UpdatedAt = now,
            });
            Assert.Equal(5, await db.SaveChangesAsync());
        }

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{port}/console/login");
        await Browser.SignInAsync(page, "admin", HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Operations" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Operations");
        var upload = page.Locator("#uploads tbody tr").First;
        await Assertions.Expect(upload.Locator("th")).ToHaveTextAsync("tgb / toyota / crm");
        await Assertions.Expect(upload.Locator("td").Nth(0)).ToHaveTextAsync("COMPLETED");
        await Assertions.Expect(upload.Locator("td").Nth(1)).ToHaveTextAsync("3");
        await Assertions.Expect(upload.Locator("td").Nth(2)).ToHaveTextAsync("2");
        await Assertions.Expect(upload.Locator("td").Nth(3)).ToHaveTextAsync("1");
        var validations = page.Locator("#mail tbody tr", new() { HasText = "Validation emails" });
        await Assertions.Expect(validations.Locator("td").Nth(0)).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#messages tbody tr th")).ToHaveTextAsync("tgb / toyota / crm");
        var extract = page.Locator("#extracts tbody tr", new() { HasText = "tgb / weekly-optins" });
        await Assertions.Expect(extract.Locator("td").Nth(1)).ToHaveTextAsync("completed");
        await Assertions.Expect(extract.Locator("td").Nth(2)).ToHaveTextAsync("1,234");
        await Assertions.Expect(extract.Locator("td").Nth(3)).ToHaveTextAsync("5.0 MiB");
        await Assertions.Expect(page.Locator("#suppression tbody tr").Locator("td").Nth(4)).ToHaveTextAsync("42");
        await Assertions.Expect(page.Locator("#pollers tbody tr", new() { HasText = "tgb / shop-orders" }).Locator("td").Nth(2)).ToHaveTextAsync("paused");
        var cdc = page.Locator("#cdc tbody tr", new() { HasText = "tgb / warehouse" });
        await Assertions.Expect(cdc.Locator("td").Nth(1)).ToHaveTextAsync("7");
        await Assertions.Expect(cdc.Locator("td").Nth(2)).ToHaveTextAsync("3");
        var replica = page.Locator("#replicas tbody tr", new() { HasText = "tgb / crm-copy" });
        await Assertions.Expect(replica.Locator("td").Nth(0)).ToHaveTextAsync("public.consents");
        await Assertions.Expect(replica.Locator("td").Nth(3)).ToHaveTextAsync("17");
        await Assertions.Expect(replica.Locator("td").Nth(5)).ToContainTextAsync("connection refused");
        // Never a replica's connection string or a poller's address.
        var html = await page.ContentAsync();
        Assert.DoesNotContain("replica-secret-password", html);
        Assert.DoesNotContain("poller-secret-in-address", html);
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-operations-{provider}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out admin" }).ClickAsync();
        await Browser.SignInAsync(page, otherDpo.Username, otherDpo.Password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Operations" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No upload has been sent.")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#mail tbody tr", new() { HasText = "Validation emails" }).Locator("td").Nth(0)).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("tgb");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Ledger" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByText("No extract has run.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("No replica is registered.")).ToBeVisibleAsync();
    }

    [ProviderTheory, Providers]
    public async Task A_head_office_dpo_sees_the_features_of_the_organisations_in_their_context_only(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (inContext, elsewhere) = (HubApp.Unique("tgb"), HubApp.Unique("lex"));
        await app.RegisterSourceSystemAsync(inContext, "toyota", "crm");
        await app.RegisterSourceSystemAsync(elsewhere, "lexus", "crm");
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            foreach (var nmsc in new[] { inContext, elsewhere })
                db.ExtractRuns.Add(new ExtractRun
                {
                    Id = Guid.NewGuid(), DefinitionId = Guid.NewGuid(), Nmsc = nmsc, Name = $"extract-of-{nmsc}", Slot = "manual", Trigger = "manual", Spec = "{}",
                    State = ExtractRunStates.Completed, RequestedBy = "admin", RequestedAt = DateTime.UtcNow, CompletedAt = DateTime.UtcNow,
                });
            Assert.Equal(2, await db.SaveChangesAsync());
        }
        var dpo = await Dpos.CreateAsync(app, "head-office-dpo", "toyota", null);
        using var session = await Operators.SignInAsync(app, dpo.Username, dpo.Password);

        var page = await session.GetAsync("/console/operations");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains($"extract-of-{inContext}", html);
        Assert.DoesNotContain($"extract-of-{elsewhere}", html);
    }
}
