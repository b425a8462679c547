using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Validation;

/// <summary>The whole double opt-in in Debian's Chromium: the email's link, the Confirm button, the thank-you page.</summary>
public sealed class ValidationBrowserTests
{
    [ProviderTheory, Providers]
    public async Task A_person_confirms_in_a_real_browser_and_the_change_is_applied(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var port = HubApp.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["ConsentHub:Smtp:Host"] = "127.0.0.1",
            ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
            ["ConsentHub:Smtp:TlsMode"] = "None",
            ["ConsentHub:Validation:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
        };
        await using var app = await HubApp.StartAsync(provider, settings, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var admin = await app.AdminAsync())
        {
            var branding = await admin.PutAsync("/admin/contexts/toyota/branding", new StringContent(
                """{"displayName":"Toyota","primaryColour":"#b00020","senderName":"Toyota Great Britain"}""",
                System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, branding.StatusCode);
        }
        using var client = await app.AsAsync(crm);
        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));
        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal("Toyota Great Britain", mail.Message.From.Mailboxes.Single().Name);
        var link = new Uri(new Uri($"http://127.0.0.1:{port}"), ValidationFlowTests.LinkPath(mail.Message));

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var shown = await page.GotoAsync(link.ToString());
        Assert.Equal(200, shown!.Status);
        await Assertions.Expect(page.GetByText("I agree to OFFERS")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Thank");
        await Browser.SaveScreenshotAsync(page, $"validation-confirmed-{provider}");

        var change = await Json.ReadAsync(await client.GetAsync(posted.Headers.Location));
        Assert.Equal("APPLIED", change["status"]!.GetValue<string>());

        // The same link again: a friendly page that says it was used, and nothing changes.
        var again = await page.GotoAsync(link.ToString());
        Assert.Equal(410, again!.Status);
        await Browser.SaveScreenshotAsync(page, $"validation-used-{provider}");
    }
}
