using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Preferences;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Preferences;

/// <summary>
/// The preference centre over HTTP, both providers: the link a person asks for, what it shows, what a save does in the
/// consent core, and every way in that must not work.
/// </summary>
public sealed class PreferenceCentreTests
{
    const string Jane = "jane.doe@example.com";

    [ProviderTheory, Providers]
    public async Task A_requested_link_opens_once_and_shows_every_brand_that_knows_the_address_and_nothing_else(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, PreferenceSteps.Settings(smtp));
        var toyota = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var lexus = await app.RegisterSourceSystemAsync("tgb", "lexus", "crm");
        var france = await app.RegisterSourceSystemAsync("tfr", "toyota", "dms");
        await PreferenceSteps.SubmitAsync(app, toyota, "t-1", PreferenceSteps.Change("OFFERS", true, Jane, channel: "SMS"));
        await PreferenceSteps.SubmitAsync(app, lexus, "l-1", PreferenceSteps.Change("SURVEYS", true, "Jane.Doe@Example.COM"));
        await PreferenceSteps.SubmitAsync(app, france, "f-1", PreferenceSteps.Change("EVENTS", false, Jane));
        await PreferenceSteps.SubmitAsync(app, toyota, "t-2", PreferenceSteps.Change("REMINDERS", true, "someone.else@example.com"));

        using var person = PreferenceSteps.Person(app);
        var asked = await PreferenceSteps.AskForLinkAsync(person, Jane);
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
        Assert.Contains("Check your inbox", await asked.Content.ReadAsStringAsync());
        var mail = await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20));
        Assert.Equal("Your link to your choices", mail.Message.Subject);
        var link = PreferenceSteps.LinkPath(mail.Message);

        var html = await PreferenceSteps.OpenAsync(person, link);
        // Three brands in two organisations know the address; the other person's record is not shown.
        Assert.Equal(3, html.Split("class=\"brand-section\"").Length - 1);
        Assert.Contains("I agree to OFFERS", html);
        Assert.Contains("I agree to SURVEYS", html);
        Assert.Contains("I agree to EVENTS", html);
        Assert.Contains("Text message (SMS)", html);
        Assert.DoesNotContain("I agree to REMINDERS", html);
        Assert.DoesNotContain(Jane, html);

        // The link works once, on every instance: its page and its button now answer 410.
        using var stranger = PreferenceSteps.Person(app);
        Assert.Equal(HttpStatusCode.Gone, (await stranger.GetAsync(link)).StatusCode);
        await using var instance = app.SecondInstance();
        using var second = PreferenceSteps.Person(instance);
        var page = await second.GetAsync("/preferences");
        var opened = await second.PostAsync(link, new FormUrlEncodedContent(PreferenceSteps.FormFields(await page.Content.ReadAsStringAsync(), "/preferences")));
        Assert.Equal(HttpStatusCode.Gone, opened.StatusCode);
        Assert.Contains("This link can no longer be used", await opened.Content.ReadAsStringAsync());
        Assert.DoesNotContain(opened.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [],
            c => c.StartsWith(PreferencePages.CookieName, StringComparison.Ordinal));
    }

    [ProviderTheory, Providers]
    public async Task An_unknown_address_gets_the_same_answer_and_no_email(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, PreferenceSteps.Settings(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("OFFERS", true, Jane));

        using var person = PreferenceSteps.Person(app);
        var unknown = await PreferenceSteps.AskForLinkAsync(person, "nobody@example.com");
        var known = await PreferenceSteps.AskForLinkAsync(person, Jane);
        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);
        Assert.Equal(await known.Content.ReadAsStringAsync(), await unknown.Content.ReadAsStringAsync());

        // The mailer handles requests in order: once the known address's email is here, the unknown one was passed over.
        await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20));
        var mailer = app.Services.GetRequiredService<PreferenceLinkMailer>();
        Assert.Equal(2L, await Poll.UntilAsync(() => Task.FromResult(mailer.Handled), handled => handled >= 2, TimeSpan.FromSeconds(10)));
        Assert.Equal([Jane], smtp.Messages.SelectMany(m => m.Recipients));
    }

    [ProviderTheory, Providers]
    public async Task Saving_is_a_validated_change_through_the_core_in_the_ledger_and_withdraw_everything_clears_every_brand(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, PreferenceSteps.Settings(smtp));
        var toyota = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var lexus = await app.RegisterSourceSystemAsync("tgb", "lexus", "crm");
        await PreferenceSteps.SubmitAsync(app, toyota, "t-1", PreferenceSteps.Change("OFFERS", true, Jane, channel: "SMS"));
        await PreferenceSteps.SubmitAsync(app, toyota, "t-1", PreferenceSteps.Change("SURVEYS", false, Jane, "2024-01-02T10:00:00Z"));
        await PreferenceSteps.SubmitAsync(app, lexus, "l-1", PreferenceSteps.Change("EVENTS", true, Jane, channel: "EMAIL"));

        using var person = PreferenceSteps.Person(app);
        Assert.Equal(HttpStatusCode.OK, (await PreferenceSteps.AskForLinkAsync(person, Jane)).StatusCode);
        var link = PreferenceSteps.LinkPath((await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20))).Message);
        var html = await PreferenceSteps.OpenAsync(person, link);

        // Untick SMS and tick SURVEYS in the Toyota section; leave the rest as shown.
        var fields = PreferenceSteps.FormFields(html, "/preferences/choices", "save");
        var sms = fields.Single(f => f.Key.EndsWith(".channel", StringComparison.Ordinal) && f.Value == "SMS");
        var toyotaKey = sms.Key[..^".channel".Length];
        fields.Remove(sms);
        fields.Add(new($"{toyotaKey}.consent", "SURVEYS"));
        var saved = await person.PostAsync("/preferences/choices", new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.SeeOther, saved.StatusCode);
        Assert.Equal("/preferences/choices?done=saved", saved.Headers.Location!.OriginalString);
        Assert.Contains("Your choices are saved", await (await person.GetAsync(saved.Headers.Location)).Content.ReadAsStringAsync());

        using var asToyota = await app.AsAsync(toyota);
        var data = await Json.ReadAsync(await asToyota.GetAsync(HubApp.SubscriptionDataPath(toyota, "t-1")));
        var consents = data["consent"]!["consentAttributes"]!.AsArray().ToDictionary(c => c!["consentCode"]!.GetValue<string>());
        Assert.True(consents["OFFERS"]!["consentFlag"]!.GetValue<bool>());
        Assert.True(consents["SURVEYS"]!["consentFlag"]!.GetValue<bool>());
        Assert.StartsWith("preference-centre:", consents["SURVEYS"]!["validationReference"]!.GetValue<string>());
        Assert.NotNull(consents["SURVEYS"]!["validatedTimestamp"]);
        Assert.False(data["channel"]!["channelAttributes"]!.AsArray().Single(c => c!["channelCode"]!.GetValue<string>() == "SMS")!["channelFlag"]!.GetValue<bool>());
        using (var scope = app.Scope())
        {
            var requests = await app.Db(scope).ChangeRequests.AsNoTracking().Where(r => r.SubmittedBy == PersonPreferences.SubmittedBy).ToListAsync();
            Assert.Single(requests);
            Assert.True(requests[0].Validated);
            Assert.Equal("APPLIED", requests[0].Status);
        }
        // The Lexus section was sent as shown: nothing of it changed.
        using var asLexus = await app.AsAsync(lexus);
        var lexusData = await Json.ReadAsync(await asLexus.GetAsync(HubApp.SubscriptionDataPath(lexus, "l-1")));
        Assert.True(lexusData["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());

        // Sending the same form again changes nothing more.
        var again = await person.PostAsync("/preferences/choices", new FormUrlEncodedContent(fields));
        Assert.Equal("/preferences/choices?done=unchanged", again.Headers.Location!.OriginalString);

        var choices = await (await person.GetAsync("/preferences/choices")).Content.ReadAsStringAsync();
        var withdrawn = await person.PostAsync("/preferences/choices", new FormUrlEncodedContent(PreferenceSteps.FormFields(choices, "/preferences/choices", "withdraw-all")));
        Assert.Equal("/preferences/choices?done=saved", withdrawn.Headers.Location!.OriginalString);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            Assert.All(await db.ConsentEntries.AsNoTracking().ToListAsync(), e => Assert.False(e.Flag));
            Assert.All(await db.ChannelEntries.AsNoTracking().ToListAsync(), e => Assert.False(e.Flag));
            Assert.Equal(3, await db.ChangeRequests.CountAsync(r => r.SubmittedBy == PersonPreferences.SubmittedBy));
        }
        using var admin = await app.AdminAsync();
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task The_link_at_the_foot_of_a_validation_email_opens_the_centre_more_than_once(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, PreferenceSteps.Settings(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("OFFERS", true, Jane));
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("SURVEYS", true, Jane, "2024-02-01T10:00:00Z", validated: false));
        var mail = await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20));
        Assert.Contains("See and change all your choices in one place", mail.Message.HtmlBody);
        var link = PreferenceSteps.LinkPath(mail.Message);

        foreach (var _ in Enumerable.Range(0, 2))
        {
            using var person = PreferenceSteps.Person(app);
            var html = await PreferenceSteps.OpenAsync(person, link);
            Assert.Contains("I agree to OFFERS", html);
        }
    }

    [ProviderTheory, Providers]
    public async Task Bad_input_is_refused_and_no_page_shows_choices_without_a_valid_link_or_session(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var settings = PreferenceSteps.Settings(smtp);
        settings["ConsentHub:Preferences:RequestsPerClientPerHour"] = "1";
        await using var app = await HubApp.StartAsync(provider, settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("OFFERS", true, Jane));
        using var person = PreferenceSteps.Person(app);

        // A form without its antiforgery token, and an address that is not one.
        var forged = await person.PostAsync("/preferences", new FormUrlEncodedContent([new("email", Jane)]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var invalid = await PreferenceSteps.AskForLinkAsync(person, "not an address");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var invalidHtml = await invalid.Content.ReadAsStringAsync();
        Assert.Contains("aria-invalid=\"true\"", invalidHtml);
        Assert.Contains("Enter an email address like name@example.com.", invalidHtml);

        // No session: the choices page and its form ask for a link instead.
        Assert.Equal(HttpStatusCode.Unauthorized, (await person.GetAsync("/preferences/choices")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await person.PostAsync("/preferences/choices", new FormUrlEncodedContent([new("action", "withdraw-all")]))).StatusCode);
        // A forged session cookie and a damaged link are worth nothing.
        using var forger = PreferenceSteps.Person(app);
        forger.DefaultRequestHeaders.Add("Cookie", $"{PreferencePages.CookieName}={new string('A', 200)}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forger.GetAsync("/preferences/choices")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await person.GetAsync($"/preferences/link/{new string('x', 160)}")).StatusCode);

        // A session, and then a form naming a section that is not the person's: nothing changes.
        Assert.Equal(HttpStatusCode.OK, (await PreferenceSteps.AskForLinkAsync(person, Jane)).StatusCode);
        var link = PreferenceSteps.LinkPath((await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20))).Message);
        var html = await PreferenceSteps.OpenAsync(person, link);
        var fields = PreferenceSteps.FormFields(html, "/preferences/choices", "save").Where(f => f.Key is "__RequestVerificationToken" or "action").ToList();
        Assert.Equal(2, fields.Count);
        fields.Add(new("section", "0123456789abcdef0123"));
        fields.Add(new("0123456789abcdef0123.shown-consent", "OFFERS"));
        var foreign = await person.PostAsync("/preferences/choices", new FormUrlEncodedContent(fields));
        Assert.Equal("/preferences/choices?done=unchanged", foreign.Headers.Location!.OriginalString);
        var unknownAction = await person.PostAsync("/preferences/choices",
            new FormUrlEncodedContent(PreferenceSteps.FormFields(html, "/preferences/choices", "save").Select(f => f.Key == "action" ? new("action", "explode") : f)));
        Assert.Equal(HttpStatusCode.BadRequest, unknownAction.StatusCode);
        using (var scope = app.Scope())
            Assert.True((await app.Db(scope).ConsentEntries.AsNoTracking().SingleAsync()).Flag);

        // A second valid request from one client within the hour (the limit here is one): 429, and no more links.
        var limited = await PreferenceSteps.AskForLinkAsync(person, Jane);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);

        // Signing out ends the session.
        var signOut = await person.PostAsync("/preferences/sign-out", new FormUrlEncodedContent(PreferenceSteps.FormFields(html, "/preferences/sign-out")));
        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await person.GetAsync("/preferences/choices")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Switched_off_the_centre_answers_404_and_emails_carry_no_link(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var settings = PreferenceSteps.Settings(smtp);
        settings["ConsentHub:Preferences:Enabled"] = "false";
        await using var app = await HubApp.StartAsync(provider, settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await PreferenceSteps.SubmitAsync(app, crm, "c-1", PreferenceSteps.Change("OFFERS", true, Jane, validated: false));
        var mail = await smtp.WaitForMessageAsync(m => m.Recipients.Contains(Jane), TimeSpan.FromSeconds(20));
        Assert.DoesNotContain("/preferences/link/", mail.Message.TextBody);
        using var person = PreferenceSteps.Person(app);
        Assert.Equal(HttpStatusCode.NotFound, (await person.GetAsync("/preferences")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await person.PostAsync("/preferences", new FormUrlEncodedContent([new("email", Jane)]))).StatusCode);
    }
}
