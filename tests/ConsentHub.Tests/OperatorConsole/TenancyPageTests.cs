using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's tenancy page in Debian's Chromium: the admin sees every organisation and source system, with a
/// destination's host but never its path or query; a DPO sees only their organisation; no WCAG 2.2 A or AA violation.
/// </summary>
public sealed class TenancyPageTests
{
    [ProviderTheory, Providers]
    public async Task The_admin_sees_every_organisation_and_system_with_destination_hosts_only_and_a_dpo_only_theirs(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await app.RegisterSourceSystemAsync("tfr", "toyota", "dms");
        await using var receiver = await WebhookReceiver.StartAsync();
        using (var client = await app.AsAsync(crm))
        {
            var registered = await client.PutAsJsonAsync(Propagations.DestinationPath(crm), new { uri = receiver.Url + "?token=secret-in-the-address", version = "1.0" });
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tfr");

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{port}/console/login");
        await page.GetByLabel("Username").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync(HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Tenancy" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Tenancy");
        await Assertions.Expect(page.Locator("#organisations tbody tr")).ToHaveCountAsync(2);
        var crmRow = page.Locator("#systems tbody tr", new() { HasText = "tgb / toyota / crm" });
        await Assertions.Expect(crmRow.Locator("td").Nth(0)).ToHaveTextAsync(crm.ClientId);
        await Assertions.Expect(crmRow.Locator("td").Nth(2)).ToHaveTextAsync("active");
        await Assertions.Expect(crmRow.Locator("td").Nth(3)).ToHaveTextAsync($"{new Uri(receiver.Url).Authority}, enabled");
        await Assertions.Expect(page.Locator("#systems tbody tr", new() { HasText = "tfr / toyota / dms" }).Locator("td").Nth(3)).ToHaveTextAsync("none");
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("secret-in-the-address");
        Assert.DoesNotContain("secret-in-the-address", await page.ContentAsync());
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-tenancy-{provider}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out admin" }).ClickAsync();
        await page.GetByLabel("Username").FillAsync(dpo.Username);
        await page.GetByLabel("Password").FillAsync(dpo.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Tenancy" }).ClickAsync();
        await Assertions.Expect(page.Locator("#organisations tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#systems tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("tgb");
    }
}
