using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's operations page in Debian's Chromium: the admin sees an upload's counts, a validation email waiting in
/// the mail queue (the worker is off) and the destination's waiting messages; another organisation's DPO sees none of
/// them; no WCAG 2.2 A or AA violation.
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

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{port}/console/login");
        await page.GetByLabel("Username").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync(HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
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
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-operations-{provider}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out admin" }).ClickAsync();
        await page.GetByLabel("Username").FillAsync(otherDpo.Username);
        await page.GetByLabel("Password").FillAsync(otherDpo.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Operations" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No upload has been sent.")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#mail tbody tr", new() { HasText = "Validation emails" }).Locator("td").Nth(0)).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("tgb");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Ledger" })).ToHaveCountAsync(0);
    }
}
