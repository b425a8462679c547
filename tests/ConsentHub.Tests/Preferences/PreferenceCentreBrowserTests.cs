using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Preferences;

/// <summary>
/// The preference centre in Debian's Chromium, with axe-core checking every page against WCAG 2.2 A and AA: a person
/// opens it from a validation email, withdraws SMS, and every system of their cluster is sent the change.
/// </summary>
public sealed class PreferenceCentreBrowserTests
{
    const string Jane = "jane.doe@example.com";

    [ProviderTheory, Providers]
    public async Task A_person_opens_the_centre_from_a_validation_email_withdraws_SMS_and_every_system_of_the_cluster_receives_it(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var crmHook = await WebhookReceiver.StartAsync();
        await using var dmsHook = await WebhookReceiver.StartAsync();
        var port = HubApp.FreePort();
        var settings = PreferenceSteps.Settings(smtp, $"http://127.0.0.1:{port}");
        foreach (var (key, value) in Propagations.Settings.Where(s => s.Key != "ConsentHub:Validation:WorkerEnabled")) settings[key] = value;
        await using var app = await HubApp.StartAsync(provider, settings, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using (var admin = await app.AdminAsync())
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/organisations/tgb", new { builtInMatching = true })).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/contexts/toyota/branding",
                new { displayName = "Toyota", primaryColour = "#b00020", senderName = "Toyota Great Britain" })).StatusCode);
        }
        await Propagations.RegisterAsync(app, crm, crmHook);
        await Propagations.RegisterAsync(app, dms, dmsHook);
        // Jane is known to both systems under one address: built-in matching makes the two records one cluster.
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("OFFERS", true, Jane, channel: "SMS"));
        await PreferenceSteps.SubmitAsync(app, dms, "d-1", PreferenceSteps.Change("SURVEYS", true, Jane, "2024-01-02T10:00:00Z"));
        // A change she must confirm: its email carries the preference centre's link at its foot.
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("EVENTS", true, Jane, "2024-02-01T10:00:00Z", validated: false));
        var mail = await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20));
        var link = $"http://127.0.0.1:{port}{PreferenceSteps.LinkPath(mail.Message)}";

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        Assert.Equal(200, (await page.GotoAsync(link))!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Your choices are one step away");
        await Accessibility.NoViolationsAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Show my choices" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Your choices");
        Assert.EndsWith("/preferences/choices", page.Url);
        await Assertions.Expect(page.GetByLabel("I agree to OFFERS")).ToBeCheckedAsync();
        await Assertions.Expect(page.GetByLabel("I agree to SURVEYS")).ToBeCheckedAsync();
        await Assertions.Expect(page.GetByLabel("Text message (SMS)")).ToBeCheckedAsync();
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"preferences-choices-{provider}");

        await page.GetByLabel("Text message (SMS)").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save my choices" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Your choices are saved. Every system that holds your details is being updated.");
        await Assertions.Expect(page.GetByLabel("Text message (SMS)")).Not.ToBeCheckedAsync();
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"preferences-saved-{provider}");

        // Both systems of the cluster are sent the withdrawal, the originating record's system included.
        static bool WithdrawsSms(ReceivedCall call) => call.Json["channel"]?["channelAttributes"]?.AsArray()
            .Any(c => c!["channelCode"]!.GetValue<string>() == "SMS" && !c["channelFlag"]!.GetValue<bool>()) == true;
        await crmHook.WaitForAsync(calls => calls.Any(WithdrawsSms), TimeSpan.FromSeconds(30), "the CRM is sent SMS withdrawn");
        await dmsHook.WaitForAsync(calls => calls.Any(WithdrawsSms), TimeSpan.FromSeconds(30), "the DMS is sent SMS withdrawn");
    }

    [ProviderTheory, Providers]
    public async Task A_person_asks_for_a_link_in_their_language_and_every_page_passes_axe(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, PreferenceSteps.Settings(smtp, $"http://127.0.0.1:{port}"), kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("OFFERS", true, Jane));

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        Assert.Equal(200, (await page.GotoAsync($"http://127.0.0.1:{port}/preferences"))!.Status);
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"preferences-request-{provider}");

        // An address that is not one: the field says why, and axe still finds nothing.
        await page.GetByLabel("Email address").FillAsync("not an address");
        await page.GetByRole(AriaRole.Button, new() { Name = "Email me a link" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Enter an email address like name@example.com.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("Email address")).ToHaveAttributeAsync("aria-invalid", "true");
        await Accessibility.NoViolationsAsync(page);

        // In German, from the language links, then the link that arrives.
        await page.GetByRole(AriaRole.Link, new() { Name = "Deutsch" }).ClickAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "de");
        await page.GetByLabel("E-Mail-Adresse").FillAsync(Jane);
        await page.GetByRole(AriaRole.Button, new() { Name = "Link per E-Mail senden" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sehen Sie in Ihr Postfach");
        await Accessibility.NoViolationsAsync(page);
        var mail = await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20));
        Assert.Equal("Ihr Link zu Ihrer Auswahl", mail.Message.Subject);
        Assert.Equal(200, (await page.GotoAsync($"http://127.0.0.1:{port}{PreferenceSteps.LinkPath(mail.Message)}"))!.Status);
        await page.GetByRole(AriaRole.Button, new() { Name = "Meine Auswahl anzeigen" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Ihre Auswahl");
        await Accessibility.NoViolationsAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Alles widerrufen" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Ihre Auswahl ist gespeichert");
        await Assertions.Expect(page.GetByLabel("I agree to OFFERS")).Not.ToBeCheckedAsync();

        // The used link again: a page that says so, with the form to ask for another.
        Assert.Equal(410, (await page.GotoAsync($"http://127.0.0.1:{port}{PreferenceSteps.LinkPath(mail.Message)}"))!.Status);
        await Accessibility.NoViolationsAsync(page);
    }
}
