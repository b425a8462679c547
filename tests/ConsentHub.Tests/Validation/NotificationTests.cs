using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Validation;

/// <summary>
/// notify: true (seed 004, 0.16.0): once a change is applied the person gets an email confirming it, with no link and
/// nothing to do, in the context's branding and the record's language, over real SMTP; the ledger records it.
/// </summary>
public sealed class NotificationTests
{
    static Dictionary<string, string?> Smtp(SmtpListener smtp) => new()
    {
        ["ConsentHub:Smtp:Host"] = "127.0.0.1",
        ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
        ["ConsentHub:Smtp:TlsMode"] = "None",
        ["ConsentHub:Validation:PublicBaseUrl"] = "http://localhost",
        ["ConsentHub:Validation:PollSeconds"] = "1",
        ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true",
        ["ConsentHub:Propagation:PollMilliseconds"] = "100",
    };

    static JsonObject Notified(JsonObject body, string language = "en")
    {
        body["consent"]!["notify"] = true;
        body["consent"]!["communicationAttributes"]!["language"] = language;
        return body;
    }

    [ProviderTheory, Providers]
    public async Task An_uploaded_record_with_notify_tells_nobody_whichever_way_the_upload_applies_it(DatabaseProvider provider)
    {
        // The initial upload never notifies: not by the batch path (no propagation, no matching: BulkChanges), nor one
        // by one (?propagate=true: SubscriptionChanges). The notification would be queued in the change's own
        // transaction, so once the upload has answered, none can come any more.
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);

        foreach (var (customer, query) in new[] { ("c1", ""), ("c2", "?propagate=true") })
        {
            var file = Bulk.Uploads.AsArray([Bulk.Uploads.Envelope(crm, customer, Notified(Seed.Consent("OFFERS", true)))]);
            var (_, job) = await Bulk.Uploads.PostAsync(client, crm, new StringContent(file, Encoding.UTF8, "application/json"), query);
            Assert.Equal(("COMPLETED", 1L), (job["status"]!.GetValue<string>(), Bulk.Uploads.Count(job, "applied")));
        }
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var uploaded = await db.ChangeRequests.AsNoTracking().CountAsync();
            Assert.Equal(2, uploaded);
            Assert.Equal(0, await db.Notifications.CountAsync());
        }
        // Both keep the flag as it was sent.
        foreach (var customer in new[] { "c1", "c2" })
        {
            var history = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, customer) + "/history"));
            Assert.True(history["changes"]![0]!["data"]!["consent"]!["notify"]!.GetValue<bool>());
        }

        // A single change afterwards is told as usual, and it is the only email sent.
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c3", Notified(Seed.Consent("OFFERS", true)))).StatusCode);
        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(["person@example.com"], mail.Recipients);
        using (var scope = app.Scope()) Assert.Equal(1, await app.Db(scope).Notifications.CountAsync());
    }

    [ProviderTheory, Providers]
    public async Task A_validated_change_with_notify_is_confirmed_to_the_person_in_the_contexts_branding_and_language(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using var admin = await app.AdminAsync();
        var branded = await admin.PutAsync("/admin/contexts/toyota/branding", new StringContent(
            """{"displayName":"Toyota","primaryColour":"#b00020","senderName":"Toyota GB"}""", Encoding.UTF8, "application/json"));
        Assert.True(branded.IsSuccessStatusCode, await branded.Content.ReadAsStringAsync());
        using var client = await app.AsAsync(crm);

        var posted = await HubApp.SubmitAsync(client, crm, "c1", Notified(Seed.Consent("OFFERS", true), "de"));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);

        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(["person@example.com"], mail.Recipients);
        Assert.Equal("Toyota: Ihre Auswahl wurde aktualisiert", mail.Message.Subject);
        Assert.Equal("Toyota GB", mail.Message.From.Mailboxes.Single().Name);
        Assert.Contains("I agree to OFFERS", mail.Message.TextBody);
        Assert.Contains("#b00020", mail.Message.HtmlBody);
        // Nothing to do: no button; the one link is the preference centre's, at the foot.
        Assert.DoesNotContain("/validation/", mail.Message.TextBody);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(mail.Message.HtmlBody ?? "", "<a "));
        Assert.Contains("/preferences/link/", mail.Message.HtmlBody);

        // The change request answers the flag as sent and the notification in its timeline.
        var change = await WaitForTimelineAsync(client, posted, "notification-sent");
        Assert.True(change["data"]!["consent"]!["notify"]!.GetValue<bool>());
        Assert.Equal(["requested", "applied", "notification-sent"], change["timeline"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
        var index = change["timeline"]![2]!["ledgerIndex"]!.GetValue<long>();
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var entry = await db.LedgerEntries.SingleAsync(e => e.Index == index);
            Assert.Equal(LedgerEvents.NotificationSent, entry.Type);
            // A keyed commitment to the address, never the address.
            Assert.Contains("emailCommitment", entry.Payload);
            Assert.DoesNotContain(db.LedgerEntries.ToList(), e => e.Payload.Contains("person@example.com"));
            Assert.Equal(NotificationStates.Sent, (await db.Notifications.SingleAsync()).State);
        }
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());

        // Systems hear that the person was notified.
        var propagated = Assert.Single(await hook.WaitForCountAsync(1));
        Assert.True(propagated.Json["consent"]!["notify"]!.GetValue<bool>());

        // Without notify, nobody is emailed: the change commits without a notification to send.
        var quiet = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("SURVEYS", true));
        Assert.Equal(HttpStatusCode.Created, quiet.StatusCode);
        using (var scope = app.Scope())
            Assert.Equal(1, await app.Db(scope).Notifications.CountAsync());
        var second = (await hook.WaitForCountAsync(2))[1];
        Assert.False(second.Json["consent"]!["notify"]!.GetValue<bool>());
        Assert.Single(smtp.Messages);
    }

    [ProviderTheory, Providers]
    public async Task An_unvalidated_change_with_notify_is_confirmed_by_email_only_after_the_person_confirmed_it(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var posted = await HubApp.SubmitAsync(client, crm, "c1", Notified(Seed.Consent("OFFERS", true, validated: false), "nl"));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var validationMail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        var link = ValidationFlowTests.LinkPath(validationMail.Message);
        // The worker records the sending after the SMTP server took the mail: wait for it, so the timeline below is
        // complete however fast the person confirms.
        await WaitForTimelineAsync(client, posted, "validation-sent");
        // Not applied, so nothing to notify yet: no notification exists until the change is applied.
        using (var scope = app.Scope())
            Assert.Equal(0, await app.Db(scope).Notifications.CountAsync());

        using var person = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true });
        var page = await person.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var confirmed = await person.PostAsync(link, new FormUrlEncodedContent(ValidationFlowTests.Fields(await page.Content.ReadAsStringAsync())));
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);

        var notification = await smtp.WaitForMessageAsync(m => (m.Message.Subject ?? "").Contains("bijgewerkt", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.Equal(["person@example.com"], notification.Recipients);
        Assert.DoesNotContain("/validation/", notification.Message.TextBody);
        var change = await WaitForTimelineAsync(client, posted, "notification-sent");
        Assert.Equal(["requested", "validation-sent", "validation-confirmed", "applied", "notification-sent"],
            change["timeline"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
    }

    [ProviderTheory, Providers]
    public async Task A_notification_the_mail_server_refuses_ends_failed_in_the_ledger_and_the_change_stays_applied(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        smtp.RefuseRecipientsWith(550, "5.1.1 no such mailbox");
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var posted = await HubApp.SubmitAsync(client, crm, "c1", Notified(Seed.Consent("OFFERS", true)));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);

        var change = await WaitForTimelineAsync(client, posted, "notification-failed");
        Assert.Equal("APPLIED", change["status"]!.GetValue<string>());
        using var scope = app.Scope();
        var db = app.Db(scope);
        var row = await db.Notifications.SingleAsync();
        Assert.Equal(NotificationStates.Failed, row.State);
        Assert.Contains("no such mailbox", row.LastError);
        var entry = await db.LedgerEntries.SingleAsync(e => e.Index == row.LedgerIndex);
        Assert.Equal(LedgerEvents.NotificationFailed, entry.Type);
        Assert.Contains("\"smtpStatus\":550", entry.Payload);
        Assert.Empty(smtp.Messages);
    }

    [PostgresOnly]
    public async Task Two_instances_send_each_notification_exactly_once()
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres, Smtp(smtp));
        await using var second = app.SecondInstance(Smtp(smtp));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var first = await app.AsAsync(crm);
        using var other = await second.AsAsync(crm);

        const int count = 12;
        for (var i = 0; i < count; i++)
        {
            var client = i % 2 == 0 ? first : other;
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, $"c{i}", Notified(Seed.Consent("OFFERS", true)))).StatusCode);
        }

        // Driven to the end: every notification is SENT (a final state), so no instance can send any of them again.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var scope = app.Scope();
            var states = await app.Db(scope).Notifications.Select(n => n.State).ToListAsync();
            if (states.Count == count && states.All(s => s == NotificationStates.Sent)) break;
            Assert.True(DateTime.UtcNow < until, $"notifications: {string.Join(", ", states)}");
            await Task.Delay(100);
        }
        Assert.Equal(count, smtp.Messages.Count);
        using (var scope = app.Scope())
            Assert.Equal(count, await app.Db(scope).LedgerEntries.CountAsync(e => e.Type == LedgerEvents.NotificationSent));
    }

    /// <summary>The change request once its timeline has <paramref name="step"/> (the worker sends after the change committed).</summary>
    static async Task<JsonNode> WaitForTimelineAsync(HttpClient client, HttpResponseMessage posted, string step)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var change = await Json.ReadAsync(await client.GetAsync(posted.Headers.Location));
            if (change["timeline"]!.AsArray().Any(e => e!["event"]!.GetValue<string>() == step)) return change;
            Assert.True(DateTime.UtcNow < until, $"no {step} in {change["timeline"]!.ToJsonString()}");
            await Task.Delay(100);
        }
    }
}
