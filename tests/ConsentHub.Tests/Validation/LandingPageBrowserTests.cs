using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Validation;

/// <summary>
/// The hub's own landing pages in a real Chromium, reached as a person reaches them: from the link of the email the hub
/// sent over SMTP, served by the hub on a real socket with its antiforgery and its pages' CSP. Every page a link can lead
/// to (confirm, thanks, already used, expired, unknown) is shown, fits a phone, and the confirm page works by keyboard.
/// </summary>
public sealed class LandingPageBrowserTests
{
    const string Long = "Toyota Motor Europe Customer Relations XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

    /// <summary>The brand's logo, on an origin of its own as a brand's CDN would be.</summary>
    static async Task<WebApplication> LogoServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var server = builder.Build();
        server.MapGet("/logo.svg", () => Results.Text(Logo, "image/svg+xml"));
        await server.StartAsync();
        return server;
    }

    [ProviderTheory, Providers]
    public async Task A_person_follows_the_emails_link_and_confirms_on_the_hubs_page_with_the_keyboard(DatabaseProvider provider)
    {
        await using var logo = await LogoServerAsync();
        await using var smtp = await SmtpListener.StartNewAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, hub) = await StartHubAsync(provider, smtp, clock);
        await using var _ = app;
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/contexts/toyota/branding", Body(new
        {
            displayName = "Toyota", primaryColour = "#eb0a1e", accentColour = "#f4f4f5", logoUrl = $"{logo.Urls.Single()}/logo.svg",
            senderName = "Toyota Customer Care",
        }))).StatusCode);
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true, validated: false);
        body["consent"]!["consentAttributes"]![0]!["consentDescription"] = "I give consent to receiving OFFERS";
        body["consent"]!["consentAttributes"]![0]!["consentLongDescription"] = "Offers on new cars, servicing and accessories from Toyota and your dealer.";
        var posted = await HubApp.PendingAsync(client, crm, "c1", body);
        Assert.Equal(1, await ValidationFlowTests.ProcessAsync(app));
        var link = hub + ValidationFlowTests.LinkPath((await smtp.WaitForMessageAsync()).Message);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var shown = await page.GotoAsync(link);
        Assert.Equal(200, shown!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Please confirm your choices");
        await Assertions.Expect(page.GetByText("I give consent to receiving OFFERS")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("Offers on new cars, servicing and accessories", new() { Exact = false })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Img)).ToHaveCountAsync(0); // the logo is decorative: alt=""
        Assert.True(await page.EvalOnSelectorAsync<bool>("header img", "img => img.complete && img.naturalWidth > 0"), "the logo did not load");
        var buttons = page.GetByRole(AriaRole.Button);
        await Assertions.Expect(buttons).ToHaveCountAsync(1);
        await Assertions.Expect(buttons).ToHaveAccessibleNameAsync("Confirm");
        Assert.Equal(0, await page.Locator("input:not([type=hidden]), select, textarea").CountAsync());
        await Browser.SaveScreenshotAsync(page, $"validation-confirm-{provider}");
        await FitsAPhoneAsync(page, $"validation-confirm-375-{provider}");

        // The form's request token alone, without the browser's antiforgery cookie, confirms nothing.
        var field = page.Locator("form input[type=hidden]");
        using (var forger = new HttpClient())
        {
            var forged = await forger.PostAsync(link, new FormUrlEncodedContent(
                [new((await field.GetAttributeAsync("name"))!, (await field.GetAttributeAsync("value"))!)]));
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }
        Assert.Equal("PENDING_VALIDATION", (await Json.ReadAsync(await client.GetAsync($"/change-requests/{posted["id"]!.GetValue<string>()}")))["status"]!.GetValue<string>());

        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(buttons).ToBeFocusedAsync();
        Assert.Equal("solid 3px", await buttons.EvaluateAsync<string>("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth"));
        await Browser.SaveScreenshotAsync(page, $"validation-confirm-focused-{provider}");
        var confirmed = page.WaitForResponseAsync(r => r.Request.Method == "POST");
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal(200, (await confirmed).Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Thank you, your choices are confirmed");
        await Assertions.Expect(page.GetByText("Toyota will respect your choices")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await FitsAPhoneAsync(page, $"validation-thanks-375-{provider}");
        Assert.Equal("APPLIED", (await Json.ReadAsync(await client.GetAsync($"/change-requests/{posted["id"]!.GetValue<string>()}")))["status"]!.GetValue<string>());

        // The same link again, and a link that was never sent.
        Assert.Equal(410, (await page.GotoAsync(link))!.Status);
        await FitsAPhoneAsync(page, $"validation-used-375-{provider}");
        Assert.Equal(404, (await page.GotoAsync($"{hub}/validation/{new string('x', 43)}"))!.Status);
        await FitsAPhoneAsync(page, $"validation-not-found-375-{provider}");
    }

    [ProviderTheory, Providers]
    public async Task The_email_the_hub_sent_leads_to_its_page_and_every_page_fits_a_phone_even_with_long_words(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, hub) = await StartHubAsync(provider, smtp, clock);
        await using var _ = app;
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/contexts/toyota/branding", Body(new { displayName = Long }))).StatusCode);
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true, validated: false);
        body["consent"]!["communicationAttributes"]!["language"] = "de";
        body["consent"]!["consentAttributes"]![0]!["consentDescription"] = new string('A', 200);
        body["consent"]!["consentAttributes"]![0]!["consentLongDescription"] = "https://example.com/" + new string('b', 200);
        var pending = await HubApp.PendingAsync(client, crm, "c1", body);
        Assert.Equal(1, await ValidationFlowTests.ProcessAsync(app));
        var mail = (await smtp.WaitForMessageAsync()).Message;
        var link = hub + ValidationFlowTests.LinkPath(mail);

        await using var browser = await Browser.LaunchAsync(width: 800, height: 900);
        var page = await browser.NewPageAsync();
        await page.SetContentAsync(mail.HtmlBody!);
        // The confirm button, and at the foot the way to all of the person's choices (the preference centre).
        var allLinks = page.GetByRole(AriaRole.Link);
        await Assertions.Expect(allLinks).ToHaveCountAsync(2);
        await Assertions.Expect(allLinks.Nth(1)).ToHaveAccessibleNameAsync("Ihre gesamte Auswahl an einem Ort ansehen und ändern");
        var links = allLinks.First;
        await Assertions.Expect(links).ToHaveAccessibleNameAsync("Bestätigen");
        await Browser.SaveScreenshotAsync(page, $"validation-email-{provider}");
        await FitsAPhoneAsync(page, $"validation-email-375-{provider}", landingPage: false);

        await page.SetViewportSizeAsync(800, 900);
        await links.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Bestätigen" })).ToBeVisibleAsync();
        Assert.Equal(link, page.Url);
        await FitsAPhoneAsync(page, $"validation-long-words-375-{provider}");

        // A day on the person is reminded; a day after the reminder the link has expired: the page says so, in the
        // person's language, and fits too.
        clock.Advance(TimeSpan.FromHours(25));
        Assert.Equal(1, await ValidationFlowTests.ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);
        clock.Advance(TimeSpan.FromHours(25));
        Assert.Equal(1, await ValidationFlowTests.ProcessAsync(app));
        using var reader = await app.AsAsync(crm); // a token issued now: the one from two days ago has expired
        Assert.Equal("EXPIRED", (await Json.ReadAsync(await reader.GetAsync($"/change-requests/{pending["id"]!.GetValue<string>()}")))["status"]!.GetValue<string>());
        Assert.Equal(410, (await page.GotoAsync(link))!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await FitsAPhoneAsync(page, $"validation-expired-375-{provider}");
    }

    /// <summary>The hub on a real socket, mailing through <paramref name="smtp"/>, its validation worker driven by the test.</summary>
    static async Task<(HubApp App, string Url)> StartHubAsync(DatabaseProvider provider, SmtpListener smtp, FakeTimeProvider clock)
    {
        var port = HubApp.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var settings = ValidationFlowTests.Smtp(smtp, worker: false);
        settings["ConsentHub:Validation:PublicBaseUrl"] = url;
        var app = await HubApp.StartAsync(provider, settings, s => s.AddSingleton<TimeProvider>(clock), kestrelPort: port);
        return (app, url);
    }

    /// <summary>
    /// The page scrolls no wider than a 375-pixel phone screen; a landing page also has one heading and a main region.
    /// </summary>
    static async Task FitsAPhoneAsync(IPage page, string screenshot, bool landingPage = true)
    {
        await page.SetViewportSizeAsync(375, 740);
        if (landingPage)
        {
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveCountAsync(1);
            await Assertions.Expect(page.GetByRole(AriaRole.Main)).ToBeVisibleAsync();
        }
        var width = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(width <= 375, $"{screenshot}: {width}px wide on a 375px screen");
        await Browser.SaveScreenshotAsync(page, screenshot);
        await page.SetViewportSizeAsync(1280, 900);
    }

    static StringContent Body(object value) =>
        new(System.Text.Json.JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    const string Logo = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 40" width="64" height="40">
          <ellipse cx="32" cy="20" rx="30" ry="18" fill="none" stroke="#fff" stroke-width="3.5"/>
          <ellipse cx="32" cy="15" rx="16" ry="8" fill="none" stroke="#fff" stroke-width="3.5"/>
          <ellipse cx="32" cy="20" rx="6.5" ry="16.5" fill="none" stroke="#fff" stroke-width="3.5"/>
        </svg>
        """;
}
