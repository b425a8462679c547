using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Rights;
using ConsentHub.Tests.Validation;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>
/// Issue 17's "done when": a form builder that can only post its own JSON with a token in the URL feeds the hub; the
/// person confirms by email (real SMTP); the crm that knows the same person hears it by webhook (a real receiver).
/// </summary>
public sealed class FormBuilderJourneyTests
{
    [ProviderTheory, Providers]
    public async Task A_form_builders_unvalidated_event_is_confirmed_by_email_and_propagated_to_the_same_persons_crm(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var settings = new Dictionary<string, string?>(Propagations.Settings)
        {
            ["ConsentHub:Smtp:Host"] = "127.0.0.1",
            ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
            ["ConsentHub:Smtp:TlsMode"] = "None",
            ["ConsentHub:Validation:PublicBaseUrl"] = "http://localhost",
            ["ConsentHub:Validation:WorkerEnabled"] = "false",
        };
        await using var app = await HubApp.StartAsync(provider, settings);
        var nmsc = HubApp.Unique("fb");
        const string email = "anna.form@example.org";

        // The crm knows the person already (same address: built-in matching), and takes webhooks.
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        Assert.Equal(200, await People.EnableMatchingAsync(app, nmsc));
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);
        using (var asCrm = await app.AsAsync(crm))
        {
            var record = Seed.Consent("REMINDERS", true);
            record["consent"]!["communicationAttributes"]!["email"] = email;
            var submitted = await HubApp.SubmitAsync(asCrm, crm, "crm-7", record);
            Assert.True(submitted.StatusCode == HttpStatusCode.Created, await submitted.Content.ReadAsStringAsync());
        }
        var echo = Assert.Single(await hook.WaitForCountAsync(1));
        Assert.Equal("crm-7", echo.SourceCustomerId);

        // The admin defines the form builder's type from the shipped sample and issues its token.
        var (admin, token) = await Inbound.FormBuilderAsync(app, nmsc);
        var type = await Inbound.ExpectAsync(admin.GetAsync(Inbound.TypePath(nmsc, "form-builder")), HttpStatusCode.OK);
        Assert.Equal(("toyota", "forms", "/id"), (Str(type["context"]), Str(type["sourceSystem"]), Str(type["idPointer"])));

        // The form builder posts its own JSON, the token in the URL, without confirmed.
        using var formBuilder = app.CreateClient();
        var answer = await Inbound.ExpectAsync(formBuilder.PostAsync(Inbound.EventsPath(nmsc, "form-builder") + "?token=" + Uri.EscapeDataString(token),
            Inbound.Json($$"""{ "id": "fb-1", "mail": "{{email}}", "newsletter": "yes", "lang": "de" }""")), HttpStatusCode.Accepted);
        Assert.Equal((1, 1), (Int(answer["received"]), Int(answer["accepted"])));
        var outcome = answer["events"]![0]!;
        Assert.Equal(("accepted", "PENDING_VALIDATION"), (Str(outcome["status"]), Str(outcome["changeStatus"])));
        var changePath = Str(outcome["_links"]!["change-request"]!["href"]);

        // Nothing is applied or propagated before the person confirms.
        await Propagations.AllDeliveredAsync(app, crm, 1);
        var before = await Inbound.ExpectAsync(admin.GetAsync($"/contexts/toyota/nmscs/{nmsc}/source-systems/forms/customers/fb-1/subscription-data"), HttpStatusCode.OK);
        Assert.Empty(before["consent"]?["consentAttributes"]?.AsArray() ?? []);

        // The validation email goes out over SMTP to the address of the event.
        using (var scope = app.Scope())
            Assert.Equal(1, await scope.ServiceProvider.GetRequiredService<ValidationService>().ProcessDueAsync(CancellationToken.None));
        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal([email], mail.Recipients);
        var link = ValidationFlowTests.LinkPath(mail.Message);
        Assert.True(link.Length > "/validation/".Length + 20, mail.Message.TextBody);

        using var person = app.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = true });
        var page = await person.GetAsync(link);
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, html);
        Assert.Equal(HttpStatusCode.OK, (await person.PostAsync(link, new FormUrlEncodedContent(ValidationFlowTests.Fields(html)))).StatusCode);

        var change = await Inbound.ExpectAsync(admin.GetAsync(changePath), HttpStatusCode.OK);
        Assert.Equal("APPLIED", Str(change["status"]));
        var data = await Inbound.ExpectAsync(admin.GetAsync($"/contexts/toyota/nmscs/{nmsc}/source-systems/forms/customers/fb-1/subscription-data"), HttpStatusCode.OK);
        // The person's view: the form's OFFERS, and the crm's REMINDERS (one person by built-in matching).
        Assert.Equal(["OFFERS:True", "REMINDERS:True"], Flags(data["consent"]!["consentAttributes"]!.AsArray()));
        var offers = data["consent"]!["consentAttributes"]!.AsArray().Single(c => Str(c!["consentCode"]) == "OFFERS")!;
        Assert.True(offers["consentFlag"]!.GetValue<bool>());
        Assert.NotNull(offers["validatedTimestamp"]);
        Assert.Equal("de", Str(data["consent"]!["communicationAttributes"]!["language"]));

        // The crm hears exactly one message more: PROPAGATED, for its own record, OFFERS true, validated.
        var calls = await hook.WaitForCountAsync(2);
        var told = calls[1];
        Assert.Equal("PROPAGATED", Str(told.Json["commandType"]));
        Assert.Equal("crm-7", told.SourceCustomerId);
        var consents = told.Json["consent"]!["consentAttributes"]!.AsArray();
        // Only what changed: OFFERS; the crm's own REMINDERS is not told back to it.
        Assert.Equal(["OFFERS:True"], Flags(consents));
        var told0 = consents.Single(c => Str(c!["consentCode"]) == "OFFERS")!;
        Assert.True(told0["consentFlag"]!.GetValue<bool>());
        Assert.NotNull(told0["validatedTimestamp"]);
        await Propagations.AllDeliveredAsync(app, crm, 2);
        Assert.Equal(2, hook.Calls.Count);

        // The ledger names the event type and the raw body's commitment, and the person's address nowhere.
        var received = Assert.Single(await LedgerAsync(app, nmsc, "inbound-event-received"));
        Assert.Equal(Str(outcome["changeRequestId"]), Str(received["changeRequestId"]));
        Assert.DoesNotContain(email, received.ToJsonString());
        var verify = await Inbound.ExpectAsync(admin.GetAsync("/ledger/verify"), HttpStatusCode.OK);
        Assert.True(verify["valid"]!.GetValue<bool>());
        admin.Dispose();
    }

    static IEnumerable<string> Flags(JsonArray consents) =>
        consents.Select(c => $"{Str(c!["consentCode"])}:{c["consentFlag"]!.GetValue<bool>()}").Order(StringComparer.Ordinal);
}
