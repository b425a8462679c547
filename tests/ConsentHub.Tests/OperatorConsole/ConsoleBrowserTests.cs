using System.Globalization;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's overview in Debian's Chromium: the admin signs in, sees the changes of the last day and a failing
/// destination beside a working one, retries its failed calls once its receiver is back (the ledger names the admin);
/// a DPO sees only their organisation and no button; no page has a WCAG 2.2 A or AA violation.
/// </summary>
public sealed class ConsoleBrowserTests
{
    [ProviderTheory, Providers]
    public async Task The_admin_sees_the_days_changes_and_a_failing_destination_and_a_dpo_sees_only_their_organisation(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tfr", "toyota", "dms");
        await using var working = await WebhookReceiver.StartAsync();
        await using var failing = await WebhookReceiver.StartAsync();
        failing.Answer = (_, _) => new ReceiverAnswer(500);
        await Propagations.RegisterAsync(app, crm, working);
        await Propagations.RegisterAsync(app, dms, failing);
        using (var client = await app.AsAsync(crm))
        {
            await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
            await HubApp.AppliedAsync(client, crm, "c-2", Seed.Consent("OFFERS", false));
        }
        using (var client = await app.AsAsync(dms)) await HubApp.AppliedAsync(client, dms, "d-1", Seed.Consent("OFFERS", true));
        await Propagations.AllDeliveredAsync(app, crm, 2);
        // Its first attempt and the retry 5 s later both fail: the next retry is due in 5 minutes, so within this test
        // only the console's button can send the message again.
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(failing.Calls.Count), n => n >= 2, TimeSpan.FromSeconds(30)) >= 2,
            "dms's receiver was not called twice");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tgb");
        var site = $"http://127.0.0.1:{port}";

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{site}/console");
        Assert.EndsWith("/console/login", page.Url);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1, Name = "Sign in" })).ToBeVisibleAsync();
        await Browser.SignInAsync(page, "admin", "not-the-password");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("incorrect");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-login-failed-{provider}");

        await page.GetByLabel("Password").FillAsync(HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Overview");
        Assert.Equal(3, await SumAsync(page, "#changes-hourly-figures td"));
        Assert.Equal(3, await SumAsync(page, "#changes-daily-figures td"));
        await Assertions.Expect(page.Locator("#validations-pending")).ToHaveTextAsync("0");
        // The failing destination beside the working one, in the chart's words and in the table.
        await Assertions.Expect(page.Locator("#deliveries-day-description")).ToContainTextAsync("tfr / toyota / dms: 0 delivered,");
        await Assertions.Expect(page.Locator("#deliveries-day-description")).ToContainTextAsync("tgb / toyota / crm: 2 delivered, 0 failed");
        var failingRow = page.Locator("#destinations tbody tr", new() { HasText = "tfr / toyota / dms" });
        await Assertions.Expect(failingRow.Locator("td").Nth(0)).ToHaveTextAsync("100%");
        Assert.True(int.Parse(await failingRow.Locator("td").Nth(1).InnerTextAsync(), CultureInfo.InvariantCulture) >= 1);
        var workingRow = page.Locator("#destinations tbody tr", new() { HasText = "tgb / toyota / crm" });
        await Assertions.Expect(workingRow.Locator("td").Nth(0)).ToHaveTextAsync("0%");
        await Assertions.Expect(workingRow.Locator("td").Nth(2)).ToHaveTextAsync("none waiting");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-overview-{provider}");

        // The receiver is back; the admin retries dms's failed calls from the table, through the destination API.
        failing.Answer = (_, _) => new ReceiverAnswer(200);
        await page.GetByRole(AriaRole.Button, new() { Name = "Retry failed calls to tfr / toyota / dms (last 24 hours)" }).ClickAsync();
        await Assertions.Expect(page.Locator("#notice")).ToHaveTextAsync("1 failed message of tfr / toyota / dms will be tried again now.");
        await Propagations.AllDeliveredAsync(app, dms, 1);
        using (var scope = app.Scope())
        {
            var recovered = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(
                app.Db(scope).LedgerEntries.Where(e => e.Type == ConsentHub.Ledger.LedgerEvents.DeliveriesRecovered));
            var payload = System.Text.Json.Nodes.JsonNode.Parse(recovered.Payload)!;
            Assert.Equal("admin", payload["by"]!.GetValue<string>());
            Assert.Equal("dms", payload["sourceSystem"]!.GetValue<string>());
            Assert.Equal(1, payload["recovered"]!.GetValue<int>());
        }
        await page.GotoAsync($"{site}/console");
        await Assertions.Expect(failingRow.Locator("td").Nth(2)).ToHaveTextAsync("none waiting");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-overview-recovered-{provider}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out admin" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1, Name = "Sign in" })).ToBeVisibleAsync();
        await page.GotoAsync($"{site}/console");
        Assert.EndsWith("/console/login", page.Url);

        // The DPO of tgb: tgb's two changes and tgb's destination, nothing of tfr.
        await Browser.SignInAsync(page, dpo.Username, dpo.Password);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Overview");
        await Assertions.Expect(page.GetByText("DPO of the organisation tgb in the context toyota")).ToBeVisibleAsync();
        Assert.Equal(2, await SumAsync(page, "#changes-hourly-figures td"));
        await Assertions.Expect(page.Locator("#destinations tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("tfr");
        // The destination API lets a DPO act on no destination: no buttons are offered.
        await Assertions.Expect(page.Locator("#destinations button")).ToHaveCountAsync(0);
    }

    /// <summary>The sum of the numbers in these cells (a chart's figures table).</summary>
    static async Task<int> SumAsync(IPage page, string cells)
    {
        var texts = await page.Locator(cells).AllTextContentsAsync();
        Assert.NotEmpty(texts);
        return texts.Sum(t => int.Parse(t, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
    }
}
