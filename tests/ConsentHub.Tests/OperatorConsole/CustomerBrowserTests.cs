using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// Finding a customer in the console, in Debian's Chromium: the admin finds the records that carry an email address
/// (through the blind index) in every organisation and opens one; a DPO finds only their organisation's and is answered
/// "not found" for another's record; a search that names nothing says what to give; the record's ledger entries verify
/// against the signed checkpoint from its page; no page has a WCAG 2.2 A or AA violation.
/// </summary>
public sealed class CustomerBrowserTests
{
    static JsonObject WithEmail(string email, string code, bool flag)
    {
        var body = Seed.Consent(code, flag);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        return body;
    }

    [ProviderTheory, Providers]
    public async Task The_admin_finds_a_customer_by_email_in_every_organisation_and_a_dpo_only_in_theirs(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tfr", "toyota", "dms");
        using (var client = await app.AsAsync(crm))
        {
            await HubApp.AppliedAsync(client, crm, "c-1", WithEmail("Ada.Lovelace@Example.com", "OFFERS", true));
            await HubApp.AppliedAsync(client, crm, "c-2", WithEmail("someone.else@example.com", "OFFERS", false));
        }
        using (var client = await app.AsAsync(dms)) await HubApp.AppliedAsync(client, dms, "d-1", WithEmail("ada.lovelace@example.com", "SURVEYS", true));
        long otherOrganisationsRecord;
        using (var scope = app.Scope())
            otherOrganisationsRecord = await app.Db(scope).Customers.Where(c => c.SourceCustomerId == "d-1").Select(c => c.Id).SingleAsync();
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tgb");
        var site = $"http://127.0.0.1:{port}";

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{site}/console/login");
        await Browser.SignInAsync(page, "admin", HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Customers" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Customers");

        // Naming nothing: the form says what to give.
        await page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        await Assertions.Expect(page.Locator("#search-errors")).ToContainTextAsync("Name the person by email, by phone, or by one record");
        await Accessibility.NoViolationsAsync(page);

        // The address as written differently: the blind index finds both organisations' records, not the other person's.
        await page.GetByLabel("Email address").FillAsync("ADA.LOVELACE@example.com");
        await page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        await Assertions.Expect(page.Locator("#found tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#found")).ToContainTextAsync("c-1");
        await Assertions.Expect(page.Locator("#found")).ToContainTextAsync("d-1");
        await Assertions.Expect(page.Locator("#found")).Not.ToContainTextAsync("c-2");
        Assert.DoesNotContain("lovelace", page.Url, StringComparison.OrdinalIgnoreCase);
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-customers-{provider}");

        await page.GetByRole(AriaRole.Link, new() { Name = "c-1" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Customer c-1");
        await Assertions.Expect(page.Locator("#record-email")).ToHaveTextAsync("Ada.Lovelace@Example.com");
        var offers = page.Locator("#consents tbody tr", new() { HasText = "OFFERS" });
        await Assertions.Expect(offers.Locator("td").Nth(0)).ToHaveTextAsync("yes");
        await Assertions.Expect(offers.Locator("td").Nth(1)).ToHaveTextAsync("I agree to OFFERS");
        await Assertions.Expect(page.Locator("#changes tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#changes tbody tr td").Nth(1)).ToHaveTextAsync("APPLIED");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-customer-{provider}");

        // Its change's two ledger entries, checked against the signed checkpoint from the proofs anyone is given.
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify ledger entries" }).ClickAsync();
        await Assertions.Expect(page.Locator("#verification")).ToContainTextAsync("All 2 entries are included in the ledger's signed checkpoint");
        await Assertions.Expect(page.Locator("#verified tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#verified tbody tr", new() { HasText = "change-requested" })).ToContainTextAsync("verified:");
        await Assertions.Expect(page.Locator("#verified tbody tr", new() { HasText = "change-applied" })).ToContainTextAsync("verified:");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-customer-verified-{provider}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out admin" }).ClickAsync();
        await Browser.SignInAsync(page, dpo.Username, dpo.Password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Customers" }).ClickAsync();
        await page.GetByLabel("Email address").FillAsync("ada.lovelace@example.com");
        await page.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
        await Assertions.Expect(page.Locator("#found tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#found")).ToContainTextAsync("c-1");
        // Another organisation's record is answered as one that does not exist.
        var response = await page.GotoAsync($"{site}/console/customers/{otherOrganisationsRecord}");
        Assert.Equal(404, response!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Customer not found");
        await Assertions.Expect(page.Locator("body")).Not.ToContainTextAsync("d-1");
    }
}
