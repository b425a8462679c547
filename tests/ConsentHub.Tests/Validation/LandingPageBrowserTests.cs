using System.Text;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Validation;

/// <summary>
/// The landing pages in a real Chromium, served by a real Kestrel with real antiforgery and the pages' CSP, so what is
/// checked here is what a person gets: visible choices, one button reachable by keyboard, a thank-you page.
/// </summary>
public sealed class LandingPageBrowserTests : IAsyncLifetime
{
    static readonly ValidationItem[] Items =
    [
        new(ValidationItemKind.Consent, "OFFERS", true, "I give consent to receiving OFFERS",
            "Offers on new cars, servicing and accessories from Toyota and your dealer, by the channels you choose below."),
        new(ValidationItemKind.Consent, "SURVEYS", false, "I do not give consent to receiving SURVEYS", ""),
        new(ValidationItemKind.Channel, "EMAIL", true, null, null),
        new(ValidationItemKind.Channel, "SMS", false, null, null),
    ];

    WebApplication server = null!;
    string baseUrl = "";

    Branding Brand => new("Toyota", "#eb0a1e", "#f4f4f5", $"{baseUrl}/logo.svg", "Toyota Customer Care");

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddAntiforgery();
        server = builder.Build();
        server.Use((context, next) =>
        {
            context.Response.Headers.ContentSecurityPolicy = LandingPages.ContentSecurityPolicy;
            return next(context);
        });

        var texts = DefaultTexts.For("en");
        server.MapGet("/validation/token", (HttpContext context, IAntiforgery antiforgery) =>
        {
            var tokens = antiforgery.GetAndStoreTokens(context);
            return Html(LandingPages.Confirm(Brand, texts, Items, "/validation/token", tokens.FormFieldName, tokens.RequestToken!));
        });
        server.MapPost("/validation/token", async (HttpContext context, IAntiforgery antiforgery) =>
        {
            try { await antiforgery.ValidateRequestAsync(context); }
            catch (AntiforgeryValidationException) { return Results.BadRequest(); }
            return Html(LandingPages.Thanks(Brand, texts));
        }).DisableAntiforgery();
        server.MapGet("/thanks", () => Html(LandingPages.Thanks(Brand, texts)));
        server.MapGet("/not-found", () => Html(LandingPages.NotFound(DefaultTexts.For("de")), StatusCodes.Status404NotFound));
        server.MapGet("/expired", () => Html(LandingPages.Gone(Brand, DefaultTexts.For("fr"), GoneReason.Expired), StatusCodes.Status410Gone));
        server.MapGet("/used", () => Html(LandingPages.Gone(Brand, DefaultTexts.For("nl"), GoneReason.AlreadyUsed), StatusCodes.Status410Gone));
        server.MapGet("/long", () => Html(LandingPages.Confirm(
            Brand with { DisplayName = "Toyota Motor Europe Customer Relations " + new string('X', 80) }, DefaultTexts.For("de"),
            [new(ValidationItemKind.Consent, new string('A', 200), true, null, "https://example.com/" + new string('b', 200)),
             new(ValidationItemKind.Channel, "CARRIER_PIGEON_" + new string('C', 120), false, null, null)],
            "/long", "__RequestVerificationToken", new string('t', 300))));
        server.MapGet("/email", () => Html(EmailRenderer.Render("person@example.com", Brand, texts, Items, $"{baseUrl}/validation/token", reminder: false).Html));
        server.MapGet("/logo.svg", () => Results.Text(Logo, "image/svg+xml"));

        await server.StartAsync();
        baseUrl = server.Urls.Single();
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Person_sees_their_choices_and_confirms_with_the_keyboard()
    {
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var response = await page.GotoAsync($"{baseUrl}/validation/token");
        Assert.Equal(200, response!.Status);

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Please confirm your choices");
        foreach (var text in new[]
        {
            "I give consent to receiving OFFERS", "I do not give consent to receiving SURVEYS",
            "Offers on new cars, servicing and accessories", "Email", "Text message (SMS)",
        })
            await Assertions.Expect(page.GetByText(text, new() { Exact = false }).First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Img)).ToHaveCountAsync(0); // the logo is decorative: alt=""
        Assert.True(await page.EvalOnSelectorAsync<bool>("header img", "img => img.complete && img.naturalWidth > 0"), "the logo did not load");

        var buttons = page.GetByRole(AriaRole.Button);
        await Assertions.Expect(buttons).ToHaveCountAsync(1);
        await Assertions.Expect(buttons).ToHaveAccessibleNameAsync("Confirm");
        Assert.Equal(0, await page.Locator("input:not([type=hidden]), select, textarea").CountAsync());
        await Browser.SaveScreenshotAsync(page, "validation-confirm");

        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(buttons).ToBeFocusedAsync();
        var outline = await buttons.EvaluateAsync<string>("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth");
        Assert.Equal("solid 3px", outline);
        await Browser.SaveScreenshotAsync(page, "validation-confirm-focused");

        var posted = page.WaitForResponseAsync(r => r.Request.Method == "POST");
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal(200, (await posted).Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Thank you, your choices are confirmed");
        await Assertions.Expect(page.GetByText("Toyota will respect your choices")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await Browser.SaveScreenshotAsync(page, "validation-thanks");
    }

    [Fact]
    public async Task Confirm_button_posts_the_antiforgery_token_and_a_click_works_too()
    {
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{baseUrl}/validation/token");

        // The form carries the request token; without the browser's antiforgery cookie beside it, a POST is refused.
        var field = page.Locator("form input[type=hidden]");
        var name = await field.GetAttributeAsync("name");
        var token = await field.GetAttributeAsync("value");
        Assert.False(string.IsNullOrEmpty(token));
        using var http = new HttpClient();
        var forged = await http.PostAsync($"{baseUrl}/validation/token", new FormUrlEncodedContent([new(name!, token!)]));
        Assert.Equal(400, (int)forged.StatusCode);

        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Thank you, your choices are confirmed");
    }

    [Theory]
    [InlineData("validation/token", "validation-confirm-375")]
    [InlineData("thanks", "validation-thanks-375")]
    [InlineData("not-found", "validation-not-found-375")]
    [InlineData("expired", "validation-expired-375")]
    [InlineData("used", "validation-used-375")]
    [InlineData("long", "validation-long-words-375")]
    public async Task Pages_fit_a_375_pixel_phone_screen(string path, string screenshot)
    {
        await using var browser = await Browser.LaunchAsync(width: 375, height: 740);
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{baseUrl}/{path}");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByRole(AriaRole.Main)).ToBeVisibleAsync();

        var scrollWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(scrollWidth <= 375, $"{path} is {scrollWidth}px wide on a 375px screen");
        await Browser.SaveScreenshotAsync(page, screenshot);
    }

    [Fact]
    public async Task Email_opened_in_a_browser_has_one_link_and_it_leads_to_the_confirm_page()
    {
        await using var browser = await Browser.LaunchAsync(width: 800, height: 900);
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{baseUrl}/email");
        var links = page.GetByRole(AriaRole.Link);
        await Assertions.Expect(links).ToHaveCountAsync(1);
        await Assertions.Expect(links).ToHaveAccessibleNameAsync("Confirm");
        await Browser.SaveScreenshotAsync(page, "validation-email");

        await page.SetViewportSizeAsync(375, 740);
        var scrollWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(scrollWidth <= 375, $"the email is {scrollWidth}px wide on a 375px screen");
        await Browser.SaveScreenshotAsync(page, "validation-email-375");

        await links.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Confirm" })).ToBeVisibleAsync();
    }

    static IResult Html(string html, int status = StatusCodes.Status200OK) =>
        Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    const string Logo = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 40" width="64" height="40">
          <ellipse cx="32" cy="20" rx="30" ry="18" fill="none" stroke="#fff" stroke-width="3.5"/>
          <ellipse cx="32" cy="15" rx="16" ry="8" fill="none" stroke="#fff" stroke-width="3.5"/>
          <ellipse cx="32" cy="20" rx="6.5" ry="16.5" fill="none" stroke="#fff" stroke-width="3.5"/>
        </svg>
        """;
}
