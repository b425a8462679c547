using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's ledger page: the admin sees its size and signed checkpoints, verifies the whole ledger and downloads
/// its entries as the ledger API gives them; a DPO, whom the ledger API refuses, is refused here too and offered no link.
/// </summary>
public sealed class LedgerPageTests
{
    [ProviderTheory, Providers]
    public async Task The_admin_verifies_the_ledger_from_the_page_and_sees_its_checkpoints(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm)) await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        long size;
        using (var scope = app.Scope())
        {
            Assert.NotNull(await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(CancellationToken.None));
            size = await app.Db(scope).LedgerHeads.Select(h => h.NextIndex).SingleAsync();
        }

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{port}/console/login");
        await page.GetByLabel("Username").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync(HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Ledger" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Ledger");
        await Assertions.Expect(page.Locator("#ledger-size")).ToHaveTextAsync(size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#checkpoints tbody tr").First).ToContainTextAsync(size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#verifier-key")).ToContainTextAsync("+");

        await page.GetByRole(AriaRole.Button, new() { Name = "Verify now" }).ClickAsync();
        await Assertions.Expect(page.Locator("#verification")).ToContainTextAsync("The ledger verifies:");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-ledger-{provider}");
    }

    [ProviderTheory, Providers]
    public async Task The_download_is_the_ledger_export_and_a_dpo_is_refused_the_page_the_verification_and_the_download(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm)) await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        using var admin = await Operators.AdminAsync(app);
        var download = await admin.GetAsync("/console/ledger/export?from=0");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        var lines = (await download.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        for (var i = 0; i < lines.Length; i++)
        {
            var space = lines[i].IndexOf(' ');
            Assert.Equal(64, space);
            Assert.Equal(i, JsonNode.Parse(lines[i][(space + 1)..])!["index"]!.GetValue<long>());
        }
        using (var apiAdmin = await app.AdminAsync())
        {
            // Entries never change: the first lines of both downloads are the same, whatever was appended between them.
            var api = (await (await apiAdmin.GetAsync("/ledger/export?from=0")).Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var common = Math.Min(api.Length, lines.Length);
            Assert.True(common > 0);
            Assert.Equal(api[..common], lines[..common]);
        }

        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);
        using var session = await Operators.SignInAsync(app, dpo.Username, dpo.Password);
        var overview = await session.GetAsync("/console");
        var html = await overview.Content.ReadAsStringAsync();
        Assert.DoesNotContain("/console/ledger", html);
        var refused = await session.GetAsync("/console/ledger");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("The ledger is the administrator's", await refused.Content.ReadAsStringAsync());
        var verify = await session.PostAsync("/console/ledger/verify", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = Dpos.FormToken(html),
        }));
        Assert.Equal(HttpStatusCode.Forbidden, verify.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync("/console/ledger/export?from=0")).StatusCode);
    }
}
