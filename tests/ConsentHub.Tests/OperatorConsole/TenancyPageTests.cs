using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's tenancy page in Debian's Chromium: the admin sees every organisation and source system, with a
/// destination's host but never its path or query, and acts through the API's handlers (credentials shown once, every
/// action in the ledger with their name); a DPO sees only their organisation and acts on nothing; no WCAG 2.2 A or AA
/// violation.
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
        await Browser.SignInAsync(page, "admin", HubApp.AdminPassword);
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

        // The admin registers a source system: its credentials are shown on the answer, work, and are never shown again.
        await page.Locator("#system-nmsc").SelectOptionAsync("tgb");
        await page.Locator("#system-context").SelectOptionAsync("toyota");
        await page.Locator("#system-name").FillAsync("web");
        await page.GetByRole(AriaRole.Button, new() { Name = "Register source system" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("tgb / toyota / web is registered.");
        var (clientId, secret) = await ShownClientAsync(page);
        Assert.Equal(HttpStatusCode.OK, (await ClientTokenAsync(app, clientId, secret)).StatusCode);
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-tenancy-credentials-{provider}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Tenancy" }).ClickAsync();
        await Assertions.Expect(page.Locator("#shown-once")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await page.ContentAsync());

        // Rotating the client secret shows the new one; the old one stops working at once.
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate client secret of tgb / toyota / web" }).ClickAsync();
        var (_, rotated) = await ShownClientAsync(page);
        Assert.NotEqual(secret, rotated);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ClientTokenAsync(app, clientId, secret)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ClientTokenAsync(app, clientId, rotated)).StatusCode);

        // Deactivated, it gets no token; reactivated, it does again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Deactivate tgb / toyota / web" }).ClickAsync();
        var webRow = page.Locator("#systems tbody tr", new() { HasText = "tgb / toyota / web" });
        await Assertions.Expect(webRow.Locator("td").Nth(2)).ToContainTextAsync("deactivated");
        Assert.Equal(HttpStatusCode.BadRequest, (await ClientTokenAsync(app, clientId, rotated)).StatusCode);
        await page.GetByRole(AriaRole.Button, new() { Name = "Reactivate tgb / toyota / web" }).ClickAsync();
        await Assertions.Expect(webRow.Locator("td").Nth(2)).ToHaveTextAsync("active");
        Assert.Equal(HttpStatusCode.OK, (await ClientTokenAsync(app, clientId, rotated)).StatusCode);

        // The crm's destination: disabled and enabled again, and its signing secret rotated (shown once).
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable destination of tgb / toyota / crm" }).ClickAsync();
        await Assertions.Expect(crmRow.Locator("td").Nth(3)).ToContainTextAsync("disabled: Disabled by admin");
        await page.GetByRole(AriaRole.Button, new() { Name = "Enable destination of tgb / toyota / crm" }).ClickAsync();
        await Assertions.Expect(crmRow.Locator("td").Nth(3)).ToHaveTextAsync($"{new Uri(receiver.Url).Authority}, enabled");
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate signing secret of tgb / toyota / crm's destination" }).ClickAsync();
        await Assertions.Expect(page.Locator("#shown-once dt")).ToHaveTextAsync("Signing secret");
        Assert.StartsWith("whsec_", await page.Locator("#shown-once dd code").TextContentAsync());

        // A cluster feed, registered with its client secret shown once.
        await page.Locator("#feed-nmsc").SelectOptionAsync("tgb");
        await page.Locator("#feed-name").FillAsync("matcher");
        await page.GetByRole(AriaRole.Button, new() { Name = "Register cluster feed" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("The cluster feed tgb / matcher is registered.");
        await Assertions.Expect(page.Locator("#feeds tbody tr", new() { HasText = "tgb / matcher" })).ToHaveCountAsync(1);

        // Every action is in the ledger, naming the operator.
        using (var scope = app.Scope())
        {
            var entries = await app.Db(scope).LedgerEntries.AsNoTracking().OrderBy(e => e.Index).Select(e => new { e.Type, e.Payload }).ToListAsync();
            string[] acted = ["source-system-registered", "source-system-client-secret-rotated", "source-system-deactivated", "source-system-reactivated",
                "destination-disabled", "destination-enabled", "destination-secret-rotated", "cluster-feed-registered"];
            foreach (var type in acted)
            {
                var entry = entries.Last(e => e.Type == type);
                Assert.True(JsonNode.Parse(entry.Payload)!["by"]?.GetValue<string>() == "admin", $"{type}: {entry.Payload}");
            }
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out admin" }).ClickAsync();
        await Browser.SignInAsync(page, dpo.Username, dpo.Password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Tenancy" }).ClickAsync();
        await Assertions.Expect(page.Locator("#organisations tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#systems tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("tgb");
        // A DPO acts on nothing here: no button, no form.
        await Assertions.Expect(page.Locator("main form")).ToHaveCountAsync(0);
    }

    /// <summary>The client id and secret the page shows once, read as the operator would copy them.</summary>
    static async Task<(string ClientId, string Secret)> ShownClientAsync(IPage page)
    {
        var shown = page.Locator("#shown-once");
        await Assertions.Expect(shown.Locator("dt").Nth(1)).ToHaveTextAsync("Client secret");
        var clientId = await shown.Locator("dd code").Nth(0).TextContentAsync();
        var secret = await shown.Locator("dd code").Nth(1).TextContentAsync();
        Assert.False(string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret), "no credentials shown");
        return (clientId!, secret!);
    }

    static Task<HttpResponseMessage> ClientTokenAsync(HubApp app, string clientId, string secret) =>
        app.PostTokenAsync(clientId, secret, new() { ["grant_type"] = "client_credentials" });
}
