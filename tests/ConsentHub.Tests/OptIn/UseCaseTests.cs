using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.OptOut;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.OptOut;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.OptIn;

/// <summary>
/// The use cases of seed 003's table from end to end: a CRM that speaks only the opt-in interface, and a dms that
/// knows the same person (by built-in matching or an explicit cluster) and is told every validated change by webhook.
/// After every step the opt-in overview agrees with the consolidated view, and the dms heard exactly what it should.
/// </summary>
public sealed class UseCaseTests
{
    const string N = OptIns.Newsletter, P = OptIns.ProductInfo, S = OptIns.Surveys;

    [ProviderTheory, Providers]
    public async Task Single_opt_in_by_email_query_is_current_at_once_told_to_the_dms_and_in_the_ledger(DatabaseProvider provider)
    {
        await using var journey = await OptInJourney.StartAsync(provider, "person@example.com", Linking.BuiltInMatching);
        var client = journey.Client;
        await OptIns.ExpectAsync(client.GetAsync(journey.ContactPath), 520);

        var answer = await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath, Items((N, OptIns.Consent), (S, OptIns.Refusal))), 200);

        Assert.Null(answer["extRefNo"]);
        AssertResult(answer, "Success");
        Assert.Equal([(N, OptIns.Current, OptIns.Consent), (S, OptIns.Current, OptIns.Refusal)], Described(answer));
        Assert.All(answer["optIns"]!.AsArray(), i => Assert.Null(i!["extRefNo"]));
        await journey.AssertViewsAgreeAsync();
        // The overview is the person's, not the CRM record's: the dms's REMINDERS shows as the product information.
        var overview = await journey.OverviewAsync();
        Assert.Equal([(N, OptIns.Current, OptIns.Consent), (P, OptIns.Current, OptIns.Consent), (S, OptIns.Current, OptIns.Refusal)], Described(overview));
        Assert.Equal("person@example.com", overview["properties"]!["contactId"]!.GetValue<string>());
        Assert.False(overview["properties"]!["adBlocked"]!.GetValue<bool>());
        var offers = (await journey.ConsolidatedConsentAsync("OFFERS"))!;
        Assert.True(Guid.TryParse(offers["validationReference"]!.GetValue<string>(), out _));
        Assert.NotNull(offers["validatedTimestamp"]);

        await journey.DmsReceivesAsync(new() { ["OFFERS"] = true, ["SURVEYS"] = false }, "the single opt-in");

        // The ledger: the opt-in call, the change it made and that change applied (with the dms among its targets).
        var ledger = await journey.LedgerAsync();
        var recorded = Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "opt-in-flow-recorded");
        Assert.Equal("SOI", recorded["payload"]!["kind"]!.GetValue<string>());
        Assert.Equal("crm", recorded["payload"]!["sourceSystem"]!.GetValue<string>());
        var changeId = recorded["payload"]!["changeRequestId"]!.GetValue<string>();
        var requested = Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "change-requested" && ChangeId(e) == changeId);
        Assert.Equal("person@example.com", requested["payload"]!["sourceCustomerId"]!.GetValue<string>());
        Assert.True(requested["payload"]!["validated"]!.GetValue<bool>());
        var applied = Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "change-applied" && ChangeId(e) == changeId);
        Assert.Equal(["OFFERS:True", "SURVEYS:False"], applied["payload"]!["consents"]!.AsArray()
            .Select(c => $"{c!["code"]!.GetValue<string>()}:{c["flag"]!.GetValue<bool>()}").Order());
        Assert.Contains(applied["payload"]!["propagatedTo"]!.AsArray(), t => t!["sourceSystem"]!.GetValue<string>() == "dms");
        Assert.True(requested["index"]!.GetValue<long>() < recorded["index"]!.GetValue<long>());
        await journey.AssertLedgerValidAsync();
    }

    [ProviderTheory, Providers]
    public async Task In_a_customer_portal_each_edit_becomes_current_and_the_pks_stay_the_same(DatabaseProvider provider)
    {
        // The portal names the person by its own customer number; an explicit cluster says the dms's d-7 is the same.
        await using var journey = await OptInJourney.StartAsync(provider, "portal-4711", Linking.Cluster, dmsEmail: "portal.person@example.com");
        var client = journey.Client;
        // The cluster names the contact already: the overview shows what the dms holds for the person.
        var before = await journey.OverviewAsync();
        Assert.Equal([(P, OptIns.Current, OptIns.Consent)], Described(before));
        await journey.AssertViewsAgreeAsync();

        (string Type, string Approval)[][] edits =
        [
            [(N, OptIns.Consent), (S, OptIns.Consent)],
            [(N, OptIns.Refusal)],
            [(N, OptIns.Consent), (P, OptIns.Refusal), (S, OptIns.Refusal)],
            [(S, OptIns.Consent)],
        ];
        var expected = new Dictionary<string, string> { [P] = OptIns.Consent };
        string? contactPk = null;
        var pks = new Dictionary<string, string>();
        foreach (var edit in edits)
        {
            var answer = await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath, Items(edit)), 200);
            AssertResult(answer, "Success");
            Assert.Equal([.. edit.Select(e => (e.Type, OptIns.Current, e.Approval))], Described(answer));
            foreach (var (type, approval) in edit) expected[type] = approval;

            await journey.AssertViewsAgreeAsync();
            await journey.DmsReceivesAsync(edit.ToDictionary(e => OptIns.DefaultCategories[e.Type], e => e.Approval == OptIns.Consent), $"edit {string.Join(", ", edit)}");

            // Every read (twice here) shows every edit current, under the same pks.
            for (var read = 0; read < 2; read++)
            {
                var overview = await journey.OverviewAsync();
                Assert.Equal(expected.OrderBy(e => TypeOrder(e.Key)).Select(e => (e.Key, OptIns.Current, (string?)e.Value)), Described(overview));
                var pk = overview["properties"]!["pk"]!.GetValue<string>();
                Assert.Matches("^[0-9a-f]{20}$", pk);
                Assert.Equal(contactPk ??= pk, pk);
                foreach (var item in overview["optIns"]!.AsArray())
                {
                    var itemPk = item!["pk"]!.GetValue<string>();
                    Assert.EndsWith("OpIn", itemPk);
                    Assert.Equal(pks.TryAdd(item["type"]!.GetValue<string>(), itemPk) ? itemPk : pks[item["type"]!.GetValue<string>()], itemPk);
                }
            }
            foreach (var item in answer["optIns"]!.AsArray())
                Assert.Equal(pks[item!["type"]!.GetValue<string>()], item["pk"]!.GetValue<string>());
        }
        Assert.Equal(3, pks.Values.Distinct().Count());
        await journey.AssertLedgerValidAsync();
    }

    [ProviderTheory, Providers]
    public async Task Double_opt_in_confirmed_by_the_partner_makes_the_confirmed_selection_current_and_only_that_is_propagated(DatabaseProvider provider)
    {
        await using var journey = await OptInJourney.StartAsync(provider, "signup@example.com", Linking.BuiltInMatching);
        var client = journey.Client;

        // The website's sign-up: a double opt-in for the newsletter and surveys.
        var started = await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath,
            Items(OptIns.Requested, (N, OptIns.Consent), (S, OptIns.Consent))), 200);
        AssertResult(started, "Success");
        var extRefNo = started["extRefNo"]!.GetValue<string>();
        Assert.True(Guid.TryParse(extRefNo, out _));
        Assert.Equal([(N, OptIns.Requested, OptIns.Consent), (S, OptIns.Requested, OptIns.Consent)], Described(started));
        Assert.All(started["optIns"]!.AsArray(), i => Assert.Equal(extRefNo, i!["extRefNo"]!.GetValue<string>()));
        await journey.AssertDmsHeardEverythingAsync();
        await AssertPendingAsync(journey, extRefNo, [N, S]);

        // The partner's page lets the person change their mind before confirming: the selection is replaced.
        var replaced = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo), Items((N, OptIns.Consent), (P, OptIns.Refusal))), 200);
        AssertResult(replaced, "Success");
        Assert.Equal(extRefNo, replaced["extRefNo"]!.GetValue<string>());
        Assert.Equal([(N, OptIns.Requested, OptIns.Consent), (P, OptIns.Requested, OptIns.Refusal)], Described(replaced));
        await journey.AssertDmsHeardEverythingAsync();
        await AssertPendingAsync(journey, extRefNo, [N, P]);

        // The person clicked the partner's link: the partner confirms.
        var confirmed = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "?approval=true", ""), 200);
        AssertResult(confirmed, "OK");
        Assert.Equal(extRefNo, confirmed["extRefNo"]!.GetValue<string>());
        // Every mapped type with current data; the product information is the person's refusal now (the dms's consent was older).
        Assert.Equal([(N, OptIns.Current, OptIns.Consent), (P, OptIns.Current, OptIns.Refusal)], Described(confirmed));
        Assert.All(confirmed["optIns"]!.AsArray(), i => Assert.Equal(extRefNo, i!["extRefNo"]!.GetValue<string>()));
        await journey.AssertViewsAgreeAsync();
        foreach (var category in new[] { "OFFERS", "REMINDERS" })
        {
            var consent = (await journey.ConsolidatedConsentAsync(category))!;
            Assert.Equal(extRefNo, consent["validationReference"]!.GetValue<string>());
            Assert.NotNull(consent["validatedTimestamp"]);
        }
        Assert.Null(await journey.ConsolidatedConsentAsync("SURVEYS"));
        var flow = await OptIns.ExpectAsync(client.GetAsync(OptIns.FlowPath(extRefNo)), 200);
        Assert.Equal([(N, OptIns.Current, OptIns.Consent), (P, OptIns.Current, OptIns.Refusal)], Described(flow));

        // The dms hears the confirmed selection, and never the first one (SURVEYS): nothing else is planned for it.
        await journey.DmsReceivesAsync(new() { ["OFFERS"] = true, ["REMINDERS"] = false }, "the confirmed selection");
        var again = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "/?approval=true", ""), 200);
        Assert.Equal(confirmed.ToJsonString(), again.ToJsonString());
        await journey.AssertDmsHeardEverythingAsync();

        var ledger = await journey.LedgerAsync();
        var confirmation = Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "validation-confirmed");
        Assert.Equal("partner", confirmation["payload"]!["confirmedBy"]!.GetValue<string>());
        Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "validation-superseded");
        Assert.Equal(2, ledger.Count(e => e["type"]!.GetValue<string>() == "opt-in-flow-recorded"));
        await journey.AssertLedgerValidAsync();
    }

    [ProviderTheory, Providers]
    public async Task An_unconfirmed_partner_flow_expires_after_twice_the_window_and_leaves_nothing_applied_or_propagated(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var journey = await OptInJourney.StartAsync(provider, "late@example.com", Linking.BuiltInMatching,
            organisation: new { validationWindowHours = 3 }, services: s => s.AddSingleton<TimeProvider>(clock));
        var client = journey.Client;
        var started = await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath,
            Items(OptIns.Requested, (N, OptIns.Consent), (S, OptIns.Refusal))), 200);
        var extRefNo = started["extRefNo"]!.GetValue<string>();
        await AssertPendingAsync(journey, extRefNo, [N, S]);

        // The partner's window is twice the organisation's (2 × 3 h): still open just before it ends.
        Assert.Equal(0, await journey.ProcessValidationsAsync());
        clock.Advance(TimeSpan.FromHours(5.9));
        Assert.Equal(0, await journey.ProcessValidationsAsync());
        await AssertPendingAsync(journey, extRefNo, [N, S]);
        await journey.AssertDmsHeardEverythingAsync();

        clock.Advance(TimeSpan.FromHours(0.2));
        Assert.Equal(1, await journey.ProcessValidationsAsync());
        Assert.Equal(0, await journey.ProcessValidationsAsync());

        await OptIns.ExpectAsync(client.GetAsync(OptIns.FlowPath(extRefNo)), 521);
        await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "?approval=true", ""), 521);
        await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo), Items((N, OptIns.Consent))), 521);
        // Nothing applied and nothing requested any more. (The address only links the CRM's record to the dms's once a
        // change carrying it applies, so the record stays without data.)
        Assert.Empty(Described(await journey.OverviewAsync()));
        await journey.AssertViewsAgreeAsync();
        Assert.Null(await journey.ConsolidatedConsentAsync("OFFERS"));
        Assert.Null(await journey.ConsolidatedConsentAsync("SURVEYS"));
        await journey.AssertDmsHeardEverythingAsync();
        var ledger = await journey.LedgerAsync();
        Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "validation-expired");
        Assert.DoesNotContain(ledger, e => e["type"]!.GetValue<string>() == "validation-confirmed");
    }

    [ProviderTheory, Providers]
    public async Task Opt_out_from_a_newsletter_link_is_a_current_refusal_with_its_own_flow_told_to_the_dms(DatabaseProvider provider)
    {
        await using var journey = await OptInJourney.StartAsync(provider, "reader@example.com", Linking.BuiltInMatching);
        var client = journey.Client;
        await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath, Items((N, OptIns.Consent))), 200);
        await journey.AssertViewsAgreeAsync();
        await journey.DmsReceivesAsync(new() { ["OFFERS"] = true }, "the newsletter subscription");

        // The unsubscribe link in the newsletter.
        var optOut = await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath + "/?approval=false", $$"""[{"type":"{{N}}"}]"""), 200);
        AssertResult(optOut, "Success");
        var extRefNo = optOut["extRefNo"]!.GetValue<string>();
        Assert.True(Guid.TryParse(extRefNo, out _));
        Assert.Equal([(N, OptIns.Current, OptIns.Refusal)], Described(optOut));
        Assert.Equal(extRefNo, optOut["optIns"]![0]!["extRefNo"]!.GetValue<string>());
        await journey.AssertViewsAgreeAsync();
        Assert.Equal(OptIns.Refusal, Item(await journey.OverviewAsync(), N)["approval"]!.GetValue<string>());

        var flow = await OptIns.ExpectAsync(client.GetAsync(OptIns.FlowPath(extRefNo)), 200);
        Assert.Equal([(N, OptIns.Current, OptIns.Refusal)], Described(flow));
        Assert.Equal(extRefNo, flow["optIns"]![0]!["extRefNo"]!.GetValue<string>());
        Assert.Equal(extRefNo, (await journey.ConsolidatedConsentAsync("OFFERS"))!["validationReference"]!.GetValue<string>());
        await journey.DmsReceivesAsync(new() { ["OFFERS"] = false }, "the opt-out");

        // It was current at once: there is nothing to confirm and nothing to replace.
        var confirm = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "?approval=true", ""), 522);
        Assert.Equal("not-double-opt-in", confirm["violations"]![0]!["rule"]!.GetValue<string>());
        var replace = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo), Items((N, OptIns.Consent))), 522);
        Assert.Equal("current-data", replace["violations"]![0]!["rule"]!.GetValue<string>());
        await journey.AssertViewsAgreeAsync();
        await journey.AssertDmsHeardEverythingAsync();
    }

    [ProviderTheory, Providers]
    public async Task A_contact_on_the_organisations_suppression_list_reads_ad_blocked_and_another_does_not(DatabaseProvider provider)
    {
        const string Blocked = "blocked@example.com", Free = "free@example.com";
        await using var journey = await OptInJourney.StartAsync(provider, Blocked, Linking.BuiltInMatching);
        var client = journey.Client;
        foreach (var contact in new[] { Blocked, Free })
        {
            await OptIns.ExpectAsync(OptIns.PostAsync(client, OptIns.ContactPath(contact), Items((N, OptIns.Consent))), 200);
            await OptIns.AssertViewsAgreeAsync(client, journey.Crm, contact);
            Assert.False((await OptIns.ExpectAsync(client.GetAsync(OptIns.ContactPath(contact)), 200))["properties"]!["adBlocked"]!.GetValue<bool>());
        }
        await journey.DmsReceivesAsync(new() { ["OFFERS"] = true }, "the blocked person's subscription");

        // A data provider's opt-out upload (seed 002) puts the address on tgb's suppression list.
        var provider002 = await journey.App.RegisterSourceSystemAsync(journey.Nmsc, "toyota", "consent-control");
        await OptOuts.UploadAsync(journey.App, provider002, SuppressionIdentifiers.Email("Blocked@Example.com")!);

        var blocked = await OptIns.ExpectAsync(client.GetAsync(OptIns.ContactPath(Blocked)), 200);
        Assert.True(blocked["properties"]!["adBlocked"]!.GetValue<bool>());
        var free = await OptIns.ExpectAsync(client.GetAsync(OptIns.ContactPath(Free)), 200);
        Assert.False(free["properties"]!["adBlocked"]!.GetValue<bool>());
        // The opt-out withdrew the blocked person's consents everywhere; the other's stay.
        await journey.AssertViewsAgreeAsync();
        await OptIns.AssertViewsAgreeAsync(client, journey.Crm, Free);
        Assert.Equal(OptIns.Refusal, Item(blocked, N)["approval"]!.GetValue<string>());
        Assert.Equal(OptIns.Consent, Item(free, N)["approval"]!.GetValue<string>());
        await journey.DmsReceivesAsync(new() { ["OFFERS"] = false, ["REMINDERS"] = false }, "the withdrawal");
    }

    // ---- helpers --------------------------------------------------------------------------------

    /// <summary>A pending flow as the CRM reads it: the flow requested without approvals, the overview requested too.</summary>
    static async Task AssertPendingAsync(OptInJourney journey, string extRefNo, string[] types)
    {
        var flow = await OptIns.ExpectAsync(journey.Client.GetAsync(OptIns.FlowPath(extRefNo)), 200);
        Assert.Equal([.. types.Select(t => (t, OptIns.Requested, (string?)null))], Described(flow));
        Assert.All(flow["optIns"]!.AsArray(), i => Assert.Equal(extRefNo, i!["extRefNo"]!.GetValue<string>()));
        var overview = await journey.OverviewAsync();
        foreach (var type in types.Where(t => t != P))
        {
            var item = Item(overview, type);
            Assert.Equal(OptIns.Requested, item["status"]!.GetValue<string>());
            Assert.Equal(extRefNo, item["extRefNo"]!.GetValue<string>());
        }
        await journey.AssertViewsAgreeAsync();
        await journey.AssertDmsHeardEverythingAsync();
    }

    internal static string Items(params (string Type, string Approval)[] items) => Items(null, items);

    internal static string Items(string? status, params (string Type, string Approval)[] items) => new JsonArray([.. items.Select(i =>
    {
        var item = new JsonObject { ["type"] = i.Type, ["approval"] = i.Approval };
        if (status is not null) item["status"] = status;
        return (JsonNode)item;
    })]).ToJsonString();

    /// <summary>The items of an answer as (type, status, approval).</summary>
    internal static List<(string, string, string?)> Described(JsonObject answer) => [.. answer["optIns"]!.AsArray().Select(i =>
        (i!["type"]!.GetValue<string>(), i["status"]!.GetValue<string>(), i["approval"]?.GetValue<string>()))];

    internal static JsonNode Item(JsonObject answer, string type) =>
        answer["optIns"]!.AsArray().Single(i => i!["type"]!.GetValue<string>() == type)!;

    internal static void AssertResult(JsonObject answer, string status)
    {
        Assert.Equal(status, answer["result"]!["status"]!.GetValue<string>());
        Assert.Equal(200, answer["result"]!["code"]!.GetValue<int>());
    }

    static string ChangeId(JsonNode entry) => entry["payload"]!["changeRequestId"]?.GetValue<string>() ?? "";

    static int TypeOrder(string type) => OptIns.DefaultCategories.Keys.ToList().IndexOf(type);
}
