using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Bulk;

/// <summary>A DPO in Debian's Chromium: sign in, see their links and the warning, download the file, sign out.</summary>
public sealed class DpoBrowserTests
{
    [ProviderTheory, Providers]
    public async Task A_dpo_signs_in_downloads_the_export_of_their_organisation_and_signs_out(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await app.RegisterSourceSystemAsync("tfr", "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "cust-123", Seed.Customer123)).StatusCode);
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tgb");
        var site = $"http://127.0.0.1:{port}";

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        // The landing page sends a stranger to the login page.
        await page.GotoAsync($"{site}/dpo");
        Assert.EndsWith("/dpo/login", page.Url);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1, Name = "Sign in" })).ToBeVisibleAsync();

        await Browser.SignInAsync(page, dpo.Username, "not-the-password");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("incorrect");
        await Browser.SaveScreenshotAsync(page, $"dpo-login-failed-{provider}");

        await page.GetByLabel("Password").FillAsync(dpo.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Bulk export of validated consent");
        await Assertions.Expect(page.GetByText("sensitive personal data")).ToBeVisibleAsync();
        // Their organisation's export only, not tfr's.
        var links = page.Locator("a[href^='/exports/']");
        await Assertions.Expect(links).ToHaveCountAsync(1);
        await Assertions.Expect(links).ToHaveAttributeAsync("href", "/exports/toyota/tgb");
        await Browser.SaveScreenshotAsync(page, $"dpo-landing-{provider}");

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Export tgb" }).ClickAsync());
        Assert.Matches("^consenthub-export-toyota-tgb-.+\\.json$", download.SuggestedFilename);
        var file = JsonNode.Parse(await File.ReadAllTextAsync(await download.PathAsync()))!.AsArray();
        var record = Assert.Single(file)!;
        Assert.Equal("crm", record["sourceSystemName"]!.GetValue<string>());
        Assert.Equal("cust-123", record["sourceCustomerId"]!.GetValue<string>());
        Assert.Equal("test@toyota.com", record["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal(2, record["data"]!["consent"]!["consentAttributes"]!.AsArray().Count);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1, Name = "Sign in" })).ToBeVisibleAsync();
        var again = await page.GotoAsync($"{site}/exports/toyota/tgb");
        Assert.EndsWith("/dpo/login", page.Url);
        Assert.Equal(200, again!.Status);
    }
}
