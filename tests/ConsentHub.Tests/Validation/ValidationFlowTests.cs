using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace ConsentHub.Tests.Validation;

/// <summary>Double opt-in end to end: real SMTP (MailKit to a listener on 127.0.0.1), the link, Confirm.</summary>
public sealed partial class ValidationFlowTests
{
    [GeneratedRegex(@"https?://[^\s""<>]+/validation/([A-Za-z0-9_-]{20,})")]
    private static partial Regex Link();

    [GeneratedRegex(@"name=""([^""]+)""[^>]*value=""([^""]+)""")]
    private static partial Regex HiddenField();

    internal static Dictionary<string, string?> Smtp(SmtpListener smtp, bool worker = true) => new()
    {
        ["ConsentHub:Smtp:Host"] = "127.0.0.1",
        ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
        ["ConsentHub:Smtp:TlsMode"] = "None",
        ["ConsentHub:Validation:PublicBaseUrl"] = "http://localhost",
        ["ConsentHub:Validation:WorkerEnabled"] = worker ? "true" : "false",
        ["ConsentHub:Validation:PollSeconds"] = "1",
    };

    public static string LinkPath(MimeMessage message) => "/validation/" + Link().Match(message.TextBody ?? "").Groups[1].Value;

    [ProviderTheory, Providers]
    public async Task Unvalidated_change_is_emailed_then_confirmed_through_the_link_and_applied(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true, validated: false);
        body["consent"]!["consentAttributes"]![0]!["consentLongDescription"] = "Offers about <cars> & services";

        var posted = await HubApp.SubmitAsync(client, crm, "c1", body);
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);

        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(["person@example.com"], mail.Recipients);
        Assert.Contains("I agree to OFFERS", mail.Message.TextBody);
        Assert.Contains("Offers about &lt;cars&gt; &amp; services", mail.Message.HtmlBody);
        var link = LinkPath(mail.Message);
        // The worker records the email as sent once the server took it; a person who confirmed before that (this test
        // can be faster than the worker's commit) leaves no "validation-sent" by design, so the test waits for it.
        var sentRecorded = await Poll.UntilAsync(async () => await Json.ReadAsync(await client.GetAsync(posted.Headers.Location)),
            c => c["timeline"]!.AsArray().Any(e => e!["event"]!.GetValue<string>() == "validation-sent"), TimeSpan.FromSeconds(20));
        Assert.Contains(sentRecorded["timeline"]!.AsArray(), e => e!["event"]!.GetValue<string>() == "validation-sent");

        // Nothing is applied before the person confirms.
        Assert.Null((await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"))))["consent"]?["consentAttributes"]?.AsArray().FirstOrDefault());

        using var person = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true });
        var page = await person.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("I agree to OFFERS", html);
        var confirmed = await person.PostAsync(link, new FormUrlEncodedContent(Fields(html)));
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);

        var change = await Json.ReadAsync(await client.GetAsync(posted.Headers.Location));
        Assert.Equal("APPLIED", change["status"]!.GetValue<string>());
        Assert.Equal(["requested", "validation-sent", "validation-confirmed", "applied"],
            change["timeline"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
        var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        var offers = data["consent"]!["consentAttributes"]![0]!;
        Assert.True(offers["consentFlag"]!.GetValue<bool>());
        Assert.NotNull(offers["validatedTimestamp"]);
        using (var scope = app.Scope())
        {
            var validation = app.Db(scope).Validations.Single();
            Assert.Equal(validation.Id.ToString(), offers["validationReference"]!.GetValue<string>());
            Assert.Equal(ValidationStates.Confirmed, validation.State);
            // The address is kept for the validation only; the ledger holds a hash of it.
            Assert.DoesNotContain(app.Db(scope).LedgerEntries.ToList(), e => e.Payload.Contains("person@example.com"));
        }

        // Single use: the same link is gone, whether shown or pressed again.
        Assert.Equal(HttpStatusCode.Gone, (await person.GetAsync(link)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await person.PostAsync(link, new FormUrlEncodedContent(Fields(html)))).StatusCode);
        using var admin = await app.AdminAsync();
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task Unknown_link_gets_a_friendly_404_page_and_a_forged_form_changes_nothing(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        using var person = app.CreateClient();

        var unknown = await person.GetAsync("/validation/" + new string('a', 43));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("text/html", unknown.Content.Headers.ContentType!.MediaType);

        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));
        var link = LinkPath((await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20))).Message);
        // A POST without the antiforgery token (a cross-site form) is sent back to the page, not applied.
        var forged = await person.PostAsync(link, new FormUrlEncodedContent([]));
        Assert.Contains("<form", await forged.Content.ReadAsStringAsync()); // sent back to the page with a fresh form
        Assert.Equal("PENDING_VALIDATION", (await Json.ReadAsync(await client.GetAsync(posted.Headers.Location)))["status"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task A_change_nobody_could_validate_is_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true, validated: false);
        body["consent"]!["communicationAttributes"]!.AsObject().Remove("email");

        var response = await HubApp.SubmitAsync(client, crm, "c1", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var violation = (await Json.ReadAsync(response))["violations"]![0]!;
        Assert.Equal("consent.communicationAttributes.email", violation["field"]!.GetValue<string>());
        Assert.Equal("required-for-validation", violation["rule"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Without_smtp_the_email_lands_in_the_mail_drop_and_the_admin_lists_it(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Validation:PollSeconds"] = "1" });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        using var admin = await app.AdminAsync();

        await HubApp.PendingAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));

        JsonNode list = new JsonObject();
        for (var i = 0; i < 100 && (list["count"]?.GetValue<int>() ?? 0) == 0; i++)
        {
            await Task.Delay(100);
            list = await Json.ReadAsync(await admin.GetAsync("/admin/mail"));
        }
        var entry = Assert.Single(list["messages"]!.AsArray())!;
        var file = entry["fileName"]!.GetValue<string>();
        Assert.True(File.Exists(Path.Combine(app.DataDirectory, "mail", file)));
        var raw = await admin.GetAsync($"/admin/mail/{file}");
        Assert.Equal("message/rfc822", raw.Content.Headers.ContentType!.MediaType);
        var message = await MimeMessage.LoadAsync(await raw.Content.ReadAsStreamAsync());
        Assert.Matches(Link(), message.TextBody);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/admin/mail/..%2Fconsenthub.db")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Reminder_is_sent_once_after_the_window_and_then_the_change_expires_unapplied(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp, worker: false), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        Guid changeId;
        using (var client = await app.AsAsync(crm))
        {
            var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));
            changeId = Guid.Parse((await Json.ReadAsync(posted))["id"]!.GetValue<string>());
        }

        Assert.Equal(1, await ProcessAsync(app));
        var first = LinkPath((await smtp.WaitForMessageAsync()).Message);
        clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, await ProcessAsync(app));
        clock.Advance(TimeSpan.FromHours(1.5));
        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);
        Assert.Contains("remind", smtp.Messages[1].Message.Subject, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);

        // The first email's link still works in the reminder's window (it is shown, not pressed here).
        using var person = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await person.GetAsync(first)).StatusCode);

        clock.Advance(TimeSpan.FromHours(24.5));
        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);
        Assert.Equal(HttpStatusCode.Gone, (await person.GetAsync(first)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await person.GetAsync(LinkPath(smtp.Messages[1].Message))).StatusCode);

        using var reader = await app.AsAsync(crm);
        var change = await Json.ReadAsync(await reader.GetAsync($"/change-requests/{changeId}"));
        Assert.Equal("EXPIRED", change["status"]!.GetValue<string>());
        Assert.Equal(["requested", "validation-sent", "validation-reminder-sent", "expired"],
            change["timeline"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
        var data = await Json.ReadAsync(await reader.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        Assert.Null(data["consent"]?["consentAttributes"]?.AsArray().FirstOrDefault());
    }

    [ProviderTheory, Providers]
    public async Task A_refusing_mail_server_fails_the_validation_with_code_525(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        smtp.RefuseRecipientsWith(550, "5.1.1 no such mailbox");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp, worker: false), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));

        Assert.Equal(1, await ProcessAsync(app));

        var change = await Json.ReadAsync(await client.GetAsync(posted.Headers.Location));
        Assert.Equal("VALIDATION_FAILED", change["status"]!.GetValue<string>());
        Assert.Contains("525", change["statusReason"]!.GetValue<string>());
        Assert.Equal(0, await ProcessAsync(app));
        Assert.Empty(smtp.Messages);
    }

    [ProviderTheory, Providers]
    public async Task A_mail_server_that_is_down_and_comes_back_gets_the_message(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        smtp.Stop();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp, worker: false), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));

        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal(0, await ProcessAsync(app)); // backing off
        await smtp.StartAsync();
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(1, await ProcessAsync(app));

        Assert.Single(smtp.Messages);
        Assert.Equal("PENDING_VALIDATION", (await Json.ReadAsync(await client.GetAsync(posted.Headers.Location)))["status"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task A_mail_server_that_keeps_deferring_fails_the_validation_after_MaxSendAttempts_and_is_not_tried_again(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        smtp.FailDataWith(451);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = Smtp(smtp, worker: false);
        settings["ConsentHub:Validation:MaxSendAttempts"] = "3";
        await using var app = await HubApp.StartAsync(provider, settings, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        JsonNode posted;
        using (var client = await app.AsAsync(crm))
            posted = await HubApp.PendingAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));
        var location = $"/change-requests/{posted["id"]!.GetValue<string>()}";
        // Read with a token issued now: the clock moves by hours, past any token's lifetime.
        async Task<JsonNode> ChangeAsync()
        {
            using var reader = await app.AsAsync(crm);
            return await Json.ReadAsync(await reader.GetAsync(location));
        }

        // Each attempt is answered 451 at the end of DATA; between attempts the clock passes the longest pause (4 h).
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(1, await ProcessAsync(app));
            Assert.Equal(attempt, smtp.Connections);
            var status = (await ChangeAsync())["status"]!.GetValue<string>();
            Assert.Equal(attempt < 3 ? "PENDING_VALIDATION" : "VALIDATION_FAILED", status);
            clock.Advance(TimeSpan.FromHours(5));
        }
        var change = await ChangeAsync();
        Assert.Contains("525", change["statusReason"]!.GetValue<string>());

        // Driven on past every pause and past the validation's own expiry: nothing is sent, attempted or changed again.
        for (var day = 0; day < 3; day++)
        {
            clock.Advance(TimeSpan.FromDays(1));
            await ProcessAsync(app);
        }
        Assert.Equal(3, smtp.Connections);
        Assert.Empty(smtp.Messages);
        Assert.Equal("VALIDATION_FAILED", (await ChangeAsync())["status"]!.GetValue<string>());
        using var admin = await app.AdminAsync();
        var entries = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=100")))["entries"]!.AsArray();
        Assert.Single(entries, e => e!["type"]!.GetValue<string>() == "validation-failed");
        Assert.DoesNotContain(entries, e => e!["type"]!.GetValue<string>() is "validation-sent" or "validation-expired");
    }

    [PostgresOnly]
    public async Task Two_instances_on_one_database_send_each_email_once()
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var first = await HubApp.StartAsync(DatabaseProvider.Postgres, Smtp(smtp));
        await using var second = first.SecondInstance(Smtp(smtp));
        var crm = await first.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var one = await first.AsAsync(crm);
        using var two = await second.AsAsync(crm);

        const int count = 30;
        await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
        {
            var body = Seed.Consent("OFFERS", true, validated: false);
            body["consent"]!["communicationAttributes"]!["email"] = $"person{i}@example.com";
            return HubApp.SubmitAsync(i % 2 == 0 ? one : two, crm, $"c{i}", body);
        }));

        // Driven to its end: every validation is SENT with no lease held, so no instance is still sending one (an email
        // leaves before its row is marked), and none is due again before its window ends. Only then is the count final.
        for (var i = 0; i < 300 && await SentAndSettledAsync(first) < count; i++) await Task.Delay(100);
        Assert.Equal(count, await SentAndSettledAsync(first));
        Assert.Equal(count, smtp.Messages.Count);
        Assert.Equal(count, smtp.Messages.SelectMany(m => m.Recipients).Distinct().Count());
    }

    [ProviderTheory, Providers]
    public async Task A_validation_queued_before_a_restart_is_sent_after_it(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var first = await HubApp.StartAsync(provider, Smtp(smtp, worker: false));
        var crm = await first.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await first.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false))).StatusCode);
        Assert.Empty(smtp.Messages);

        // Another process on the same database, as after a restart: it finds the queued validation and sends it.
        await using var restarted = first.SecondInstance(Smtp(smtp));

        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(["person@example.com"], mail.Recipients);
    }

    [ProviderTheory, Providers]
    public async Task The_organisations_window_and_the_contexts_own_words_are_used(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp, worker: false), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var admin = await app.AdminAsync())
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/organisations/tgb", Body("""{"validationWindowHours":2}"""))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/contexts/toyota/texts/de", Body("""{"subject":"Bitte bestätigen: {brand}"}"""))).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/admin/organisations/tgb", Body("""{"validationWindowHours":0}"""))).StatusCode);
            var unknown = await admin.PutAsync("/admin/contexts/toyota/texts/de", Body("""{"subjekt":"x"}"""));
            Assert.Equal("subjekt", (await Json.ReadAsync(unknown))["violations"]![0]!["field"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/admin/contexts/toyota/texts/xx", Body("{}"))).StatusCode);
            var colour = await admin.PutAsync("/admin/contexts/toyota/branding", Body("""{"primaryColour":"red","logoUrl":"javascript:alert(1)"}"""));
            Assert.Equal(["primaryColour", "logoUrl"], (await Json.ReadAsync(colour))["violations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>()));
        }
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true, validated: false);
        body["consent"]!["communicationAttributes"]!["language"] = "de-AT";
        await HubApp.PendingAsync(client, crm, "c1", body);

        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal("Bitte bestätigen: toyota", smtp.Messages[0].Message.Subject);
        clock.Advance(TimeSpan.FromHours(2.1));
        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);
    }

    [ProviderTheory, Providers]
    public async Task A_confirmed_change_is_propagated_and_an_unconfirmed_one_never_is(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var settings = Smtp(smtp);
        foreach (var (key, value) in Propagations.Settings.Where(s => !s.Key.StartsWith("ConsentHub:Validation:", StringComparison.Ordinal))) settings[key] = value;
        await using var app = await HubApp.StartAsync(provider, settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false))).StatusCode);
        var link = LinkPath((await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20))).Message);
        // Messages are planned in the transaction of the change they carry: none planned means none will ever be sent for it.
        using (var planned = app.Scope())
            Assert.Equal(0, await app.Db(planned).Propagations.CountAsync());
        Assert.Empty(hook.Calls);

        using var person = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true });
        var html = await (await person.GetAsync(link)).Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, (await person.PostAsync(link, new FormUrlEncodedContent(Fields(html)))).StatusCode);

        var call = Assert.Single(await hook.WaitForCountAsync(1));
        var offers = call.Json["consent"]!["consentAttributes"]![0]!;
        Assert.True(offers["consentFlag"]!.GetValue<bool>());
        Assert.NotNull(offers["validatedTimestamp"]);
        using var scope = app.Scope();
        Assert.Equal(app.Db(scope).Validations.Single().Id.ToString(), offers["validationReference"]!.GetValue<string>());
    }

    static StringContent Body(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    static async Task<int> SentAndSettledAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await app.Db(scope).Validations.CountAsync(v => v.State == ValidationStates.Sent && v.LeaseUntil == null);
    }

    internal static async Task<int> ProcessAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await scope.ServiceProvider.GetRequiredService<ValidationService>().ProcessDueAsync(CancellationToken.None);
    }

    public static Dictionary<string, string> Fields(string html) =>
        HiddenField().Matches(html).ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
}
