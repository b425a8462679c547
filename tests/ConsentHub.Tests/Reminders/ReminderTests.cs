using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsentHub.Data;
using ConsentHub.Reminders;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Extracts;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Reminders;

/// <summary>
/// Consent reminders (issue 19 §2): rules and their refusals; two simulated years of a monthly email rule over real SMTP,
/// with the person keeping or changing their choices on the page (validated changes of the core, propagated); the webhook
/// variant signed as Standard Webhooks, with the communication system reporting back.
/// </summary>
public static partial class ReminderSteps
{
    [GeneratedRegex(@"https?://[^\s""<>]+(/reminders/[A-Za-z0-9_-]{20,})")]
    private static partial Regex Link();

    public static string LinkPath(ReceivedMail mail) => Link().Match(mail.Message.TextBody ?? "").Groups[1].Value is { Length: > 0 } path
        ? path
        : throw new Xunit.Sdk.XunitException("no reminder link in the email");

    public static async Task DefineAsync(HttpClient admin, string nmsc, string name, object rule)
    {
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/reminder-rules/{name}", rule);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Sends a record with one consent validated at <paramref name="validated"/>, as a source system would.</summary>
    public static async Task SendAsync(HubApp app, SourceSystemCredentials system, string customerId, string email, string code, bool flag, DateTime validated)
    {
        using var client = await app.AsAsync(system);
        var body = Extracts.Extracts.Change(email, [new ArrangedConsent(code, flag, validated.AddMinutes(-5), $"ref-{customerId}")], new Dictionary<string, bool>());
        body["consent"]!["consentAttributes"]![0]!["validatedTimestamp"] = validated.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        var response = await HubApp.SubmitAsync(client, system, customerId, body);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public static async Task<(int Selected, int Delivered)> PassAsync(HubApp app)
    {
        using var scope = app.Scope();
        var service = scope.ServiceProvider.GetRequiredService<ReminderService>();
        var selected = await service.RunDueAsync(CancellationToken.None);
        var delivered = await service.DeliverDueAsync(CancellationToken.None);
        return (selected, delivered);
    }

    /// <summary>A form post as the page's own form sends it: the antiforgery token and cookie of the GET, and the fields.</summary>
    public static async Task<HttpResponseMessage> AnswerAsync(HttpClient person, string path, params (string Name, string Value)[] fields)
    {
        var page = await person.GetAsync(path);
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"{(int)page.StatusCode} {html}");
        var form = new List<KeyValuePair<string, string>> { new("__RequestVerificationToken", Dpos.FormToken(html)) };
        form.AddRange(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
        return await person.PostAsync(path, new FormUrlEncodedContent(form));
    }
}

public sealed class ReminderTests
{
    /// <summary>Passes are driven by the tests; the other workers are off, as the clock moves by months.</summary>
    static Dictionary<string, string?> Settings(SmtpListener? smtp)
    {
        var settings = new Dictionary<string, string?>(Propagations.Settings)
        {
            ["ConsentHub:Reminders:Enabled"] = "false",
            ["ConsentHub:Extracts:Enabled"] = "false",
            ["ConsentHub:SuppressionFiles:WorkerEnabled"] = "false",
            ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
            ["ConsentHub:OptOut:Recovery:Enabled"] = "false",
        };
        if (smtp is not null)
        {
            settings["ConsentHub:Smtp:Host"] = "127.0.0.1";
            settings["ConsentHub:Smtp:Port"] = smtp.Port.ToString();
            settings["ConsentHub:Smtp:TlsMode"] = "None";
        }
        return settings;
    }

    [ProviderTheory, Providers]
    public async Task Over_two_simulated_years_a_monthly_rule_reminds_the_right_records_once_per_period_and_the_page_keeps_or_changes_their_choices(
        DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var now = DateTime.UtcNow;
        var start = new DateTime(now.Year, now.Month, 1, 9, 0, 0, DateTimeKind.Utc).AddMonths(1);
        var clock = new FakeTimeProvider(new DateTimeOffset(now));
        await using var app = await HubApp.StartAsync(provider, Settings(smtp), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);

        // keeper keeps, changer changes, ignorer never answers, late is validated longer than 24 months ago from month 22's
        // run on (a minute after its slot); the others never qualify.
        await ReminderSteps.SendAsync(app, crm, "keeper", "keeper@example.com", "OFFERS", true, start.AddMonths(-25));
        await ReminderSteps.SendAsync(app, crm, "changer", "changer@example.com", "OFFERS", true, start.AddMonths(-25));
        await ReminderSteps.SendAsync(app, crm, "ignorer", "ignorer@example.com", "OFFERS", true, start.AddMonths(-26));
        await ReminderSteps.SendAsync(app, crm, "late", "late@example.com", "OFFERS", true, start.AddMonths(-2));
        await ReminderSteps.SendAsync(app, crm, "opted-out", "opted-out@example.com", "OFFERS", false, start.AddMonths(-30));
        await ReminderSteps.SendAsync(app, crm, "surveys", "surveys@example.com", "SURVEYS", true, start.AddMonths(-30));
        await Propagations.AllDeliveredAsync(app, crm, 6);
        using (var admin = await app.AdminAsync())
            await ReminderSteps.DefineAsync(admin, crm.Nmsc, "offers-24m", new
            {
                categories = new[] { "OFFERS" }, flag = true, olderThan = "P24M", remindAgainAfter = "P12M", channel = "email", schedule = "0 9 1 * *",
            });

        var reminded = new Dictionary<string, List<int>>();
        using var person = Dpos.Browserless(app);
        for (var month = 0; month < 24; month++)
        {
            clock.SetUtcNow(start.AddMonths(month).AddMinutes(1));
            var before = smtp.Messages.Count;
            var (selected, delivered) = await ReminderSteps.PassAsync(app);
            Assert.Equal(selected, delivered);
            var mails = smtp.Messages.Skip(before).ToList();
            Assert.Equal(selected, mails.Count);
            foreach (var mail in mails)
            {
                var to = mail.Recipients.Single().Split('@')[0];
                reminded.TryAdd(to, []);
                reminded[to].Add(month);
                Assert.Contains("Are these still your choices?", mail.Message.TextBody);
                if (to == "keeper")
                {
                    var kept = await ReminderSteps.AnswerAsync(person, ReminderSteps.LinkPath(mail), ("action", "keep"));
                    Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
                    Assert.Contains("your choices are confirmed", await kept.Content.ReadAsStringAsync());
                    // The link is used: the page says so, and a second answer changes nothing.
                    Assert.Equal(HttpStatusCode.Gone, (await person.GetAsync(ReminderSteps.LinkPath(mail))).StatusCode);
                }
                if (to == "changer")
                {
                    // The box of OFFERS left unticked: the person withdraws it.
                    var changed = await ReminderSteps.AnswerAsync(person, ReminderSteps.LinkPath(mail), ("action", "change"));
                    Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
                }
            }
        }
        Assert.Equal([0], reminded["keeper"]);
        Assert.Equal([0], reminded["changer"]);
        Assert.Equal([0, 12], reminded["ignorer"]);
        Assert.Equal([22], reminded["late"]);
        Assert.False(reminded.ContainsKey("opted-out"));
        Assert.False(reminded.ContainsKey("surveys"));

        using var scope = app.Scope();
        var db = app.Db(scope);
        var keeper = await db.ConsentEntries.AsNoTracking().SingleAsync(e => db.Customers.Any(c => c.Id == e.CustomerId && c.Nmsc == crm.Nmsc && c.SourceCustomerId == "keeper"));
        Assert.True(keeper.Flag);
        Assert.Equal(start.AddMinutes(1), keeper.ValidatedAt!.Value, TimeSpan.FromSeconds(1));
        Assert.StartsWith("reminder:", keeper.ValidationReference);
        var changer = await db.ConsentEntries.AsNoTracking().SingleAsync(e => db.Customers.Any(c => c.Id == e.CustomerId && c.Nmsc == crm.Nmsc && c.SourceCustomerId == "changer"));
        Assert.False(changer.Flag);

        var entries = await db.LedgerEntries.AsNoTracking().Where(e => e.Type.StartsWith("reminder-") && e.Payload.Contains(crm.Nmsc)).Select(e => e.Type).ToListAsync();
        Assert.Equal(24, entries.Count(t => t == ReminderEvents.RunCompleted));
        Assert.Equal(5, entries.Count(t => t == ReminderEvents.Sent));
        Assert.Equal(1, entries.Count(t => t == ReminderEvents.Confirmed));
        Assert.Equal(1, entries.Count(t => t == ReminderEvents.Changed));
        Assert.DoesNotContain(await db.LedgerEntries.AsNoTracking().Where(e => e.Type.StartsWith("reminder-")).Select(e => e.Payload).ToListAsync(),
            p => p.Contains("@example.com"));

        // The renewed timestamp and the withdrawal went to the record's system like any change: 6 sends, then these 2.
        await Propagations.AllDeliveredAsync(app, crm, 8);
        var calls = receiver.Calls;
        Assert.Contains(calls, c => c.SourceCustomerId == "keeper" && c.Body.Contains("reminder:"));
        Assert.Contains(calls, c => c.SourceCustomerId == "changer" && c.Body.Contains("\"consentFlag\":false"));
    }

    [ProviderTheory, Providers]
    public async Task A_webhook_rule_sends_signed_reminders_to_the_communication_system_which_reports_them_back(DatabaseProvider provider)
    {
        var app = await HubApp.StartAsync(provider, Settings(smtp: null));
        await using var _ = app;
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var comms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "comms");
        await using var receiver = await WebhookReceiver.StartAsync();
        var (_, secret) = await Propagations.RegisterAsync(app, comms, receiver);
        await ReminderSteps.SendAsync(app, crm, "c-1", "one@example.com", "OFFERS", true, DateTime.UtcNow.AddYears(-3));
        await ReminderSteps.SendAsync(app, crm, "c-2", "two@example.com", "OFFERS", true, DateTime.UtcNow.AddYears(-3));
        using var admin = await app.AdminAsync();
        await ReminderSteps.DefineAsync(admin, nmsc, "via-comms", new
        {
            categories = new[] { "OFFERS" }, olderThan = "P24M", channel = "webhook", sourceSystem = "comms", schedule = "0 9 * * 1",
        });

        var run = await admin.PostAsync($"/admin/organisations/{nmsc}/reminder-rules/via-comms:run", null);
        var view = await Json.ReadAsync(run);
        Assert.True(run.StatusCode == HttpStatusCode.Created, view.ToJsonString());
        Assert.Equal(2, view["selected"]!.GetValue<int>());
        await ReminderSteps.PassAsync(app);
        var calls = receiver.Calls.Where(c => c.Json["type"]?.GetValue<string>() == "reminder-due").ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.True(StandardWebhooks.Verify(secret, c, TimeSpan.FromMinutes(5))));
        Assert.Equal(["c-1", "c-2"], calls.Select(c => c.SourceCustomerId).Order(StringComparer.Ordinal));
        var first = calls.Single(c => c.SourceCustomerId == "c-1").Json;
        Assert.Equal("OFFERS", first["consentAttributes"]![0]!["consentCode"]!.GetValue<string>());
        var outcome = first["outcome"]!.GetValue<string>();

        // Only the communication system reports: another system of the organisation, or of another one, finds no such reminder.
        using var other = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync(outcome, new { outcome = "delivered" })).StatusCode);
        using var system = await app.AsAsync(comms);
        var bad = await system.PostAsJsonAsync(outcome, new { outcome = "opened" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("outcome", (await Json.ReadAsync(bad))["violations"]![0]!["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await system.PostAsJsonAsync(outcome, new { outcome = "delivered" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await system.PostAsJsonAsync(outcome, new { outcome = "confirmed" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await system.PostAsJsonAsync(outcome, new { outcome = "failed", detail = "bounced" })).StatusCode);
        var second = calls.Single(c => c.SourceCustomerId == "c-2").Json["outcome"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await system.PostAsJsonAsync(second, new { outcome = "failed", detail = "no such address" })).StatusCode);

        // Confirmed by the communication system: a validated change of the core, like the page's.
        using var scope = app.Scope();
        var db = app.Db(scope);
        var c1 = await db.ConsentEntries.AsNoTracking().SingleAsync(e => db.Customers.Any(c => c.Id == e.CustomerId && c.Nmsc == nmsc && c.SourceCustomerId == "c-1"));
        Assert.True(c1.ValidatedAt > DateTime.UtcNow.AddMinutes(-5));
        var types = await db.LedgerEntries.AsNoTracking().Where(e => e.Type.StartsWith("reminder-") && e.Payload.Contains(nmsc)).Select(e => e.Type).ToListAsync();
        Assert.Equal([ReminderEvents.Confirmed, ReminderEvents.Delivered, ReminderEvents.Failed, ReminderEvents.RuleConfigured, ReminderEvents.RunCompleted,
            ReminderEvents.Sent, ReminderEvents.Sent], types.Order(StringComparer.Ordinal));

        var runs = await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}/reminder-rules/via-comms/runs"));
        var reminders = runs["runs"]![0]!["reminders"]!.AsObject();
        Assert.Equal(1, reminders["confirmed"]!.GetValue<int>());
        Assert.Equal(1, reminders["failed"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task A_reminder_the_mail_server_refuses_fails_for_good_in_the_ledger_and_is_not_sent_again(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        smtp.RefuseRecipientsWith(550, "5.1.1 No such user");
        await using var app = await HubApp.StartAsync(provider, Settings(smtp));
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await ReminderSteps.SendAsync(app, crm, "gone", "gone@example.com", "OFFERS", true, DateTime.UtcNow.AddYears(-3));
        using var admin = await app.AdminAsync();
        await ReminderSteps.DefineAsync(admin, crm.Nmsc, "offers", new { categories = new[] { "OFFERS" }, olderThan = "P24M", channel = "email", schedule = "0 9 1 * *" });
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync($"/admin/organisations/{crm.Nmsc}/reminder-rules/offers:run", null)).StatusCode);
        var (_, tried) = await ReminderSteps.PassAsync(app);
        Assert.Equal(1, tried);
        Assert.Empty(smtp.Messages);

        using var scope = app.Scope();
        var db = app.Db(scope);
        var reminder = await db.Reminders.AsNoTracking().SingleAsync(r => r.Nmsc == crm.Nmsc);
        Assert.Equal(ReminderStates.Failed, reminder.State);
        Assert.Contains("No such user", reminder.LastError);
        Assert.Null(reminder.TokenHash);
        Assert.True(await db.LedgerEntries.AnyAsync(e => e.Type == ReminderEvents.Failed && e.Payload.Contains(reminder.Id.ToString())));
        // A failed reminder is not sent again: the next pass finds nothing to do.
        Assert.Equal(0, (await ReminderSteps.PassAsync(app)).Delivered);
    }

    public static IEnumerable<object[]> Refusals()
    {
        string Valid(Action<JsonObject> change)
        {
            var body = new JsonObject { ["categories"] = new JsonArray("OFFERS"), ["olderThan"] = "P24M", ["channel"] = "email", ["schedule"] = "0 9 1 * *" };
            change(body);
            return body.ToJsonString();
        }
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
        {
            yield return [provider, Valid(b => b.Remove("categories")), "categories", "required"];
            yield return [provider, Valid(b => b["categories"] = new JsonArray("OFF ERS")), "categories[0]", "name"];
            yield return [provider, Valid(b => b["olderThan"] = "24 months"), "olderThan", "duration"];
            yield return [provider, Valid(b => b["olderThan"] = "PT1H"), "olderThan", "duration"];
            yield return [provider, Valid(b => b["channel"] = "sms"), "channel", "one-of"];
            yield return [provider, Valid(b => b["channel"] = "webhook"), "sourceSystem", "required"];
            yield return [provider, Valid(b => { b["channel"] = "webhook"; b["sourceSystem"] = "nobody"; }), "sourceSystem", "unknown-source-system"];
            yield return [provider, Valid(b => b["schedule"] = "monthly"), "schedule", "cron"];
            yield return [provider, Valid(b => b["contexts"] = new JsonArray("lexus")), "contexts[0]", "unknown-context"];
            yield return [provider, Valid(b => b["flag"] = "yes"), "flag", "boolean"];
            yield return [provider, Valid(b => b["extra"] = true), "extra", "unknown-member"];
        }
    }

    [ProviderTheory, MemberData(nameof(Refusals))]
    public async Task A_rule_that_breaks_a_rule_is_refused_naming_the_member_and_nothing_is_stored(DatabaseProvider provider, string body, string field, string rule)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        var response = await admin.PutAsync($"/admin/organisations/{crm.Nmsc}/reminder-rules/refused",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem.ToJsonString());
        Assert.Contains(problem["violations"]!.AsArray(), v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{crm.Nmsc}/reminder-rules/refused")).StatusCode);
        using var scope = app.Scope();
        Assert.False(await app.Db(scope).LedgerEntries.AnyAsync(e => e.Type == ReminderEvents.RuleConfigured && e.Payload.Contains(crm.Nmsc)));
    }
}
