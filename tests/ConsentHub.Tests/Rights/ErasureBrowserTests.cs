using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Consents;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Rights;

/// <summary>A DPO erases a person from Debian's Chromium: the form, the confirmation, the result; the data is gone after.</summary>
public sealed class ErasureBrowserTests
{
    [ProviderTheory, Providers]
    public async Task A_dpo_erases_a_person_from_the_browser_after_confirming(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm))
        {
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", People.Change("OFFERS", People.Email, People.Phone))).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-2", People.Change("OFFERS", "other@example.com"))).StatusCode);
        }
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tgb");
        var site = $"http://127.0.0.1:{port}";

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{site}/dpo/login");
        await Browser.SignInAsync(page, dpo.Username, dpo.Password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Erase a person" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Erase a person");

        // Naming nobody is refused on the page, and nothing is erased.
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Name the person");

        await page.GetByLabel("Email address").FillAsync("jane.doe@EXAMPLE.com");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Confirm the erasure");
        await Assertions.Expect(page.GetByText("1 record matches")).ToBeVisibleAsync();
        await Browser.SaveScreenshotAsync(page, $"dpo-erasure-confirm-{provider}");
        using (var admin = await app.AdminAsync())
        {
            // Until confirmed, nothing has happened.
            var before = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
            Assert.Equal(People.Email, before["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Erase this person" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Erased");
        await Assertions.Expect(page.GetByRole(AriaRole.Listitem)).ToContainTextAsync("c-1");
        var erasureId = await page.Locator("#erasure-id").TextContentAsync();
        await Browser.SaveScreenshotAsync(page, $"dpo-erasure-done-{provider}");

        using (var admin = await app.AdminAsync())
        {
            var shown = await Json.ReadAsync(await admin.GetAsync($"/nmscs/tgb/erasures/{erasureId}"));
            Assert.Equal(dpo.Username, shown["requestedBy"]!.GetValue<string>());
            Assert.Equal("c-1", Assert.Single(shown["records"]!.AsArray())!["sourceCustomerId"]!.GetValue<string>());
            var after = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
            Assert.Null(after["consent"]!["communicationAttributes"]!["email"]);
            var other = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(crm, "c-2")));
            Assert.Equal("other@example.com", other["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
            Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
        }
        using var scope = app.Scope();
        Assert.Empty(await PersonalDataTests.CellsContainingAsync(app.Db(scope), People.Traces));
        Assert.Equal(1, await app.Db(scope).LedgerEntries.CountAsync(e => e.Type == "erasure"));
    }
}
