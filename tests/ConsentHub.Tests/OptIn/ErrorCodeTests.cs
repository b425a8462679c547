using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static ConsentHub.Tests.OptIn.OptIns;

namespace ConsentHub.Tests.OptIn;

/// <summary>
/// Every error code of seed 003 (520, 521, 522, 525) and the host's 401 and 403: the HTTP status, the problem's
/// <c>status</c> and <c>result.code</c> agree, the media type is problem+json, a 522 names the field and the rule, and
/// a refused call changes nothing.
/// </summary>
public sealed class ErrorCodeTests
{
    const string Contact = "example@example.com";

    [ProviderTheory, Providers]
    public async Task A_contact_the_crm_has_no_record_of_is_520(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (_, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        await CreateAsync(crm, "known@example.com", (Newsletter, Consent));

        var problem = await RefusedAsync(crm.GetAsync(ContactPath(Contact)), 520);

        Assert.Contains(Contact, problem["result"]!["status"]!.GetValue<string>());
        // Another system's records are not this system's contacts.
        var (_, dealer) = await CrmAsync(app, HubApp.Unique("oi"));
        await RefusedAsync(dealer.GetAsync(ContactPath("known@example.com")), 520);
    }

    [ProviderTheory, Providers]
    public async Task Unknown_malformed_and_foreign_flows_are_all_521_and_stay_untouched(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (_, crm) = await CrmAsync(app, nmsc);
        using var dealer = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer"));
        var (_, stranger) = await CrmAsync(app, HubApp.Unique("oi"));
        var extRefNo = await RequestAsync(crm, Contact, (Newsletter, Consent));
        var before = await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200);
        var ledger = await LedgerCountAsync(app, nmsc);
        const string Selection = """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Abl_C0Approval"}]""";

        var unknown = await RefusedAsync(crm.GetAsync(FlowPath(Guid.NewGuid().ToString())), 521);
        foreach (var id in new[] { Guid.NewGuid().ToString(), "not-a-uuid", "999c02ad" })
        {
            await RefusedAsync(crm.GetAsync(FlowPath(id)), 521);
            await RefusedAsync(PutAsync(crm, FlowPath(id), Selection), 521);
            await RefusedAsync(PutAsync(crm, FlowPath(id) + "/?approval=true", ""), 521);
        }
        // Another source system of the same organisation, and another organisation's, meet the flow as an unknown one.
        foreach (var other in new[] { dealer, stranger })
        {
            var foreign = await RefusedAsync(other.GetAsync(FlowPath(extRefNo)), 521);
            Assert.Equal(unknown["type"]!.GetValue<string>(), foreign["type"]!.GetValue<string>());
            Assert.Equal(unknown["title"]!.GetValue<string>(), foreign["title"]!.GetValue<string>());
            await RefusedAsync(PutAsync(other, FlowPath(extRefNo), Selection), 521);
            await RefusedAsync(PutAsync(other, FlowPath(extRefNo) + "/?approval=true", ""), 521);
        }

        Assert.True(JsonNode.DeepEquals(before, await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200)));
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_flow_left_unconfirmed_past_its_window_is_521(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Validation:WorkerEnabled"] = "false" },
            s => s.AddSingleton<TimeProvider>(clock));
        var (system, first) = await CrmAsync(app, "tgb");
        var extRefNo = await RequestAsync(first, Contact, (Newsletter, Consent));

        // The partner's window is twice the organisation's validation window (24 hours by default). Tokens do not last
        // that long: the CRM asks for a new one after each step of the clock.
        clock.Advance(TimeSpan.FromHours(47));
        await ProcessAsync(app);
        using (var crmLater = await app.AsAsync(system))
            Assert.Equal(Requested, (await ExpectAsync(crmLater.GetAsync(FlowPath(extRefNo)), 200))["optIns"]![0]!["status"]!.GetValue<string>());
        clock.Advance(TimeSpan.FromHours(1.5));
        Assert.Equal(1, await ProcessAsync(app));
        using var crm = await app.AsAsync(system);

        await RefusedAsync(crm.GetAsync(FlowPath(extRefNo)), 521);
        await RefusedAsync(PutAsync(crm, FlowPath(extRefNo) + "/?approval=true", ""), 521);
        await RefusedAsync(PutAsync(crm, FlowPath(extRefNo), """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"}]"""), 521);
        // Nothing became current.
        var read = await crm.GetAsync(ContactPath(Contact));
        if (read.StatusCode == HttpStatusCode.OK) Assert.Empty((await Json.ReadAsync(read))["optIns"]!.AsArray());
        else await RefusedAsync(Task.FromResult(read), 520);
    }

    /// <summary>Each rule of a creation body (query, body, field, rule), on each provider.</summary>
    public static TheoryData<DatabaseProvider, string, string, string, string> CreationRules()
    {
        var tooMany = new JsonArray([.. Enumerable.Range(0, 21).Select(i => (JsonNode)new JsonObject { ["type"] = $"T{i}", ["approval"] = Consent })]).ToJsonString();
        var data = new TheoryData<string, string, string, string>
        {
            { "", "", "body", "required" },
            { "", "not json", "body", "json" },
            { "", "{}", "body", "json" },
            { "", "[]", "body", "required" },
            { "", "[null]", "body[0]", "required" },
            { "", """[{"approval":"Zus_C0Approval"}]""", "body[0].type", "required" },
            { "", """[{"type":"C0INFOTYPE_EVENTS","approval":"Zus_C0Approval"}]""", "body[0].type", "unknown-type" },
            { "", """[{"type":5,"approval":"Zus_C0Approval"}]""", "body[0].type", "json" },
            // A no-break space between tokens is read as a space (the seed's samples are indented with them); inside a string it stays.
            { "", "[{\"type\":\"C0INFOTYPE_NEWSLETTER\u00A0\",\u00A0\"approval\":\"Zus_C0Approval\"}]", "body[0].type", "unknown-type" },
            { "", """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_NEWSLETTER","approval":"Abl_C0Approval"}]""", "body[1].type", "duplicate-type" },
            { "", """[{"type":"C0INFOTYPE_NEWSLETTER"}]""", "body[0].approval", "required" },
            { "", """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Ja"}]""", "body[0].approval", "approval-value" },
            { "", """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_DONE"}]""", "body[0].status", "status-value" },
            {
                "", """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_REQUESTED"}]""",
                "body", "mixed-status"
            },
            { "", tooMany, "body", "max-items" },
            { "/?approval=false", """[{"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval"}]""", "body[0].approval", "opt-out-approval" },
            { "/?approval=false", """[{"type":"C0INFOTYPE_SURVEYS","status":"C0OPTINSTATUS_REQUESTED"}]""", "body[0].status", "opt-out-status" },
            { "/?approval=false", "[]", "body", "required" },
            { "?approval=maybe", """[{"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval"}]""", "approval", "approval-query" },
        };
        var rules = new TheoryData<DatabaseProvider, string, string, string, string>();
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
            foreach (var row in data) rules.Add(provider, (string)row[0], (string)row[1], (string)row[2], (string)row[3]);
        return rules;
    }

    [ProviderTheory, MemberData(nameof(CreationRules))]
    public async Task Each_rule_of_a_creation_is_522_naming_field_and_rule_and_nothing_is_created(
        DatabaseProvider provider, string query, string body, string field, string rule)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (_, crm) = await CrmAsync(app, nmsc);
        var ledger = await LedgerCountAsync(app, nmsc);

        await InvalidAsync(PostAsync(crm, ContactPath(Contact) + query, body), field, rule);
        // The seed heading's path follows the same rules.
        if (query == "") await InvalidAsync(PostAsync(crm, $"{Base}/optins/{Contact}", body), field, rule);

        await RefusedAsync(crm.GetAsync(ContactPath(Contact)), 520);
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_contact_id_longer_than_the_hub_accepts_is_522(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (_, crm) = await CrmAsync(app, nmsc);
        var ledger = await LedgerCountAsync(app, nmsc);
        var tooLong = new string('c', 201);

        await InvalidAsync(crm.GetAsync(ContactPath(tooLong)), "contactId", "source-customer-id");
        await InvalidAsync(PostAsync(crm, ContactPath(tooLong), """[{"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval"}]"""), "contactId", "source-customer-id");
        await InvalidAsync(PostAsync(crm, ContactPath(tooLong) + "/?approval=false", """[{"type":"C0INFOTYPE_SURVEYS"}]"""), "contactId", "source-customer-id");

        await RefusedAsync(crm.GetAsync(ContactPath(new string('c', 200))), 520);
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_pending_selection_is_refused_current_data_a_bad_query_and_bad_items_with_522_and_stays_as_it_was(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (_, crm) = await CrmAsync(app, nmsc);
        var extRefNo = await RequestAsync(crm, Contact, (Newsletter, Consent));
        var before = await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200);
        var ledger = await LedgerCountAsync(app, nmsc);

        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo), """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Abl_C0Approval","status":"C0OPTINSTATUS_CURRENT"}]"""),
            "body[0].status", "current-data");
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo) + "/?approval=false", ""), "approval", "approval-query");
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo) + "?approval=yes", ""), "approval", "approval-query");
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo), "[]"), "body", "required");
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo), ""), "body", "required");
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo), """[{"type":"C0INFOTYPE_EVENTS","approval":"Abl_C0Approval"}]"""), "body[0].type", "unknown-type");
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo), """[{"type":"C0INFOTYPE_NEWSLETTER"}]"""), "body[0].approval", "required");

        Assert.True(JsonNode.DeepEquals(before, await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200)));
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task Confirmed_single_opt_in_and_opt_out_flows_refuse_a_new_selection_and_a_confirmation_with_522(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (system, crm) = await CrmAsync(app, nmsc);
        var confirmed = await RequestAsync(crm, Contact, (Newsletter, Consent));
        await ConfirmAsync(crm, confirmed);
        await CreateAsync(crm, Contact, (ProductInfo, Consent));
        // A single opt-in answers without its extRefNo (as the seed's sample); its consent carries it as validationReference.
        var consolidated = await ConsolidatedAsync(crm, system, Contact);
        var single = consolidated["consent"]!["consentAttributes"]!.AsArray()
            .Single(a => a!["consentCode"]!.GetValue<string>() == "REMINDERS")!["validationReference"]!.GetValue<string>();
        var optOut = (await ExpectAsync(PostAsync(crm, ContactPath(Contact) + "/?approval=false", """[{"type":"C0INFOTYPE_SURVEYS"}]"""), 200))["extRefNo"]!.GetValue<string>();
        var state = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);
        var ledger = await LedgerCountAsync(app, nmsc);
        const string Selection = """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Abl_C0Approval"}]""";

        foreach (var extRefNo in new[] { confirmed, single, optOut })
            await InvalidAsync(PutAsync(crm, FlowPath(extRefNo), Selection), "extRefNo", "current-data");
        foreach (var extRefNo in new[] { single, optOut })
            await InvalidAsync(PutAsync(crm, FlowPath(extRefNo) + "/?approval=true", ""), "extRefNo", "not-double-opt-in");

        Assert.True(JsonNode.DeepEquals(state, await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200)));
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task More_types_than_the_core_takes_in_one_change_is_522_max_categories(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (_, crm) = await CrmAsync(app, nmsc);
        using (var admin = await app.AdminAsync())
        {
            var local = await admin.PutAsync($"/admin/organisations/{nmsc}/categories", JsonContent(new JsonObject
            {
                ["local"] = new JsonArray(new JsonObject { ["code"] = "PROFILING", ["description"] = "Profiling for tailored offers" }),
            }));
            Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        }
        await MapTypesAsync(app, nmsc, new Dictionary<string, string>
        {
            ["C0INFOTYPE_REMINDERS"] = "REMINDERS", ["C0INFOTYPE_NEWSLETTER"] = "OFFERS", ["C0INFOTYPE_SURVEYS"] = "SURVEYS",
            ["C0INFOTYPE_EVENTS"] = "EVENTS", ["C0INFOTYPE_PROFILING"] = "PROFILING",
        });
        var ledger = await LedgerCountAsync(app, nmsc);
        var five = """
            [{"type":"C0INFOTYPE_REMINDERS","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"},
             {"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_EVENTS","approval":"Zus_C0Approval"},
             {"type":"C0INFOTYPE_PROFILING","approval":"Zus_C0Approval"}]
            """;

        await InvalidAsync(PostAsync(crm, ContactPath(Contact), five), "body", "max-categories");
        await InvalidAsync(PostAsync(crm, ContactPath(Contact), five.Replace("\"approval\":\"Zus_C0Approval\"}", "\"approval\":\"Zus_C0Approval\",\"status\":\"C0OPTINSTATUS_REQUESTED\"}")),
            "body", "max-categories");
        await InvalidAsync(PostAsync(crm, ContactPath(Contact) + "/?approval=false", five.Replace(",\"approval\":\"Zus_C0Approval\"", "")), "body", "max-categories");

        await RefusedAsync(crm.GetAsync(ContactPath(Contact)), 520);
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
        // Four are taken.
        await ExpectAsync(PostAsync(crm, ContactPath(Contact), """
            [{"type":"C0INFOTYPE_REMINDERS","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"},
             {"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_PROFILING","approval":"Zus_C0Approval"}]
            """), 200);
    }

    [ProviderTheory, Providers]
    public async Task In_hub_confirmation_mode_the_partner_cannot_confirm_and_a_contact_without_address_is_522(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("oi");
        var (_, crm) = await CrmAsync(app, nmsc);
        await ConfirmationAsync(app, nmsc, "hub");
        var ledger = await LedgerCountAsync(app, nmsc);

        await InvalidAsync(PostAsync(crm, ContactPath("crm-4711"), """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_REQUESTED"}]"""),
            "contactId", "email-required");
        Assert.Equal(ledger, await LedgerCountAsync(app, nmsc));
        await RefusedAsync(crm.GetAsync(ContactPath("crm-4711")), 520);

        var extRefNo = await RequestAsync(crm, Contact, (Newsletter, Consent));
        await InvalidAsync(PutAsync(crm, FlowPath(extRefNo) + "/?approval=true", ""), "approval", "confirmed-by-person");
        Assert.Equal(Requested, (await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200))["optIns"]![0]!["status"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task A_hub_confirmation_mail_the_server_refuses_for_good_makes_the_flow_525(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        smtp.RefuseRecipientsWith(550, "5.1.1 no such mailbox");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await MailingAppAsync(provider, smtp, clock);
        var (_, crm) = await CrmAsync(app, "tgb");
        await ConfirmationAsync(app, "tgb", "hub");
        var extRefNo = await RequestAsync(crm, Contact, (Newsletter, Consent));
        await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200);

        Assert.Equal(1, await ProcessAsync(app));

        await RefusedAsync(crm.GetAsync(FlowPath(extRefNo)), 525);
        await RefusedAsync(PutAsync(crm, FlowPath(extRefNo) + "/?approval=true", ""), 525);
        await RefusedAsync(PutAsync(crm, FlowPath(extRefNo), """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Abl_C0Approval"}]"""), 525);
        Assert.Empty(smtp.Messages);
    }

    [ProviderTheory, Providers]
    public async Task A_hub_confirmed_flow_the_person_never_confirms_is_reminded_once_then_expires_and_is_521(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await MailingAppAsync(provider, smtp, clock);
        var (system, first) = await CrmAsync(app, "tgb");
        await ConfirmationAsync(app, "tgb", "hub");
        var extRefNo = await RequestAsync(first, Contact, (Newsletter, Consent));

        // The hub's own pipeline: the email, one reminder after the 24-hour window, expiry after the reminder's.
        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal([Contact], Assert.Single(smtp.Messages).Recipients);
        clock.Advance(TimeSpan.FromHours(24.5));
        Assert.Equal(1, await ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);
        using (var crm = await app.AsAsync(system))
            Assert.Equal(Requested, (await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200))["optIns"]![0]!["status"]!.GetValue<string>());
        clock.Advance(TimeSpan.FromHours(24.5));
        Assert.Equal(1, await ProcessAsync(app));
        // Driven to its end: nothing of the flow is due any more, however far the clock goes.
        clock.Advance(TimeSpan.FromDays(30));
        Assert.Equal(0, await ProcessAsync(app));
        Assert.Equal(2, smtp.Messages.Count);

        using var later = await app.AsAsync(system);
        await RefusedAsync(later.GetAsync(FlowPath(extRefNo)), 521);
        await RefusedAsync(PutAsync(later, FlowPath(extRefNo), """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Abl_C0Approval"}]"""), 521);
        // Nothing was applied: the contact (made by the pending change) has no current data.
        Assert.Empty((await ExpectAsync(later.GetAsync(ContactPath(Contact)), 200))["optIns"]!.AsArray());
        Assert.Null((await ExpectAsync(later.GetAsync(HubApp.SubscriptionDataPath(system, Contact)), 200))["consent"]?["consentAttributes"]);
    }

    [ProviderTheory, Providers]
    public async Task Without_a_token_every_route_is_401_and_with_the_admins_it_is_403(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (_, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        var extRefNo = await RequestAsync(crm, Contact, (Newsletter, Consent));
        using var anonymous = app.CreateClient();
        using var admin = await app.AdminAsync();
        const string Selection = """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"}]""";
        var calls = new (string Method, string Path, string? Body)[]
        {
            ("GET", ContactPath(Contact), null), ("POST", ContactPath(Contact), Selection), ("POST", $"{Base}/optins/{Contact}", Selection),
            ("POST", ContactPath(Contact) + "/?approval=false", """[{"type":"C0INFOTYPE_NEWSLETTER"}]"""),
            ("GET", FlowPath(extRefNo), null), ("PUT", FlowPath(extRefNo), Selection), ("PUT", FlowPath(extRefNo) + "/?approval=true", null),
        };

        foreach (var (method, path, body) in calls)
        {
            var refused = await anonymous.SendAsync(Request(method, path, body));
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)refused.StatusCode}");
            var forbidden = await RefusedAsync(admin.SendAsync(Request(method, path, body)), 403);
            Assert.Contains("source system", forbidden["result"]!["status"]!.GetValue<string>());
        }
        Assert.Equal(Requested, (await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200))["optIns"]![0]!["status"]!.GetValue<string>());
    }

    static HttpRequestMessage Request(string method, string path, string? body) => new(new HttpMethod(method), path)
    {
        Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
    };

    static StringContent JsonContent(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>An app that mails through <paramref name="smtp"/> on <paramref name="clock"/>, its validation steps run by the test.</summary>
    static Task<HubApp> MailingAppAsync(DatabaseProvider provider, SmtpListener smtp, FakeTimeProvider clock) => HubApp.StartAsync(provider, new()
    {
        ["ConsentHub:Smtp:Host"] = "127.0.0.1",
        ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
        ["ConsentHub:Smtp:TlsMode"] = "None",
        ["ConsentHub:Validation:PublicBaseUrl"] = "http://localhost",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
    }, s => s.AddSingleton<TimeProvider>(clock));

    static async Task<int> ProcessAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await scope.ServiceProvider.GetRequiredService<ValidationService>().ProcessDueAsync(CancellationToken.None);
    }
}
