using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using static ConsentHub.Tests.OptIn.OptIns;

namespace ConsentHub.Tests.OptIn;

/// <summary>
/// Every sample of seed 003 as a contract: the sample request sent byte for byte, the answer compared member by member
/// with the sample response (names, order, JSON types, values), ids aside: those are checked for their shape and for
/// being the same wherever they name the same record or flow. The state each sample shows is arranged through the
/// interface itself.
/// </summary>
public sealed class SeedSampleTests
{
    /// <summary>The contact of the seed's samples; each test has an organisation of its own.</summary>
    const string Contact = "example@example.com";

    [ProviderTheory, Providers]
    public async Task Get_consent_data_for_person_answers_as_the_seeds_sample(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (_, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        // The state of the sample: the three types current, newsletter and product information agreed, surveys refused.
        var created = await CreateAsync(crm, Contact, (Newsletter, Consent), (ProductInfo, Consent), (Surveys, Refusal));

        var answer = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);

        var ids = SeedSamples.AssertMatches(SeedSamples.Response("get-consent-data-for-person"), answer, new Dictionary<string, JsonNode>
        {
            // The sample reads example@example.com and names example@example.org in its answer (a slip of the seed): the
            // hub names the contact that was read.
            ["$.properties.contactId"] = SeedSamples.Text(Contact),
        });
        Assert.Equal(PksOf(created), PksOf(answer));
        Assert.Matches(ContactPk(), ids["$.properties.pk"]);
        // Stable: the same answer, ids included, on the next read.
        Assert.True(JsonNode.DeepEquals(answer, await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200)));
    }

    [ProviderTheory, Providers]
    public async Task Create_consent_data_answers_as_the_seeds_sample(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, crm) = await CrmAsync(app, HubApp.Unique("oi"));

        var answer = await ExpectAsync(PostAsync(crm, ContactPath(Contact), SeedSamples.Raw("create-consent-data.request")), 200);

        SeedSamples.AssertMatches(SeedSamples.Response("create-consent-data"), answer);
        var read = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);
        Assert.Equal(PksOf(answer), PksOf(read));
        await AssertViewsAgreeAsync(crm, system, Contact);
    }

    [ProviderTheory, Providers]
    public async Task Get_consent_options_answers_as_the_seeds_sample(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (_, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        // The state of the sample: a double opt-in flow of the three types, not yet confirmed.
        var started = await ExpectAsync(PostAsync(crm, ContactPath(Contact), """
            [{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_REQUESTED"},
             {"type":"C0INFOTYPE_PRODUCTINFO","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_REQUESTED"},
             {"type":"C0INFOTYPE_SURVEYS","approval":"Abl_C0Approval","status":"C0OPTINSTATUS_REQUESTED"}]
            """), 200);
        var extRefNo = started["extRefNo"]!.GetValue<string>();

        var answer = await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200);

        var ids = SeedSamples.AssertMatches(SeedSamples.Response("get-consent-options"), answer);
        AssertFlowIds(ids, extRefNo);
        Assert.Equal(PksOf(started), PksOf(answer));
        // The contact's own read shows the same records (requested, naming the flow) and the same contact pk.
        var contact = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);
        Assert.Equal(PksOf(answer), PksOf(contact));
        Assert.All(contact["optIns"]!.AsArray(), i => Assert.Equal(extRefNo, i!["extRefNo"]!.GetValue<string>()));
        Assert.Equal(ids["$.properties.pk"], contact["properties"]!["pk"]!.GetValue<string>());
        Assert.Matches(ContactPk(), ids["$.properties.pk"]);
    }

    [ProviderTheory, Providers]
    public async Task Update_consent_options_answers_as_the_seeds_sample_with_the_selection_still_requested(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (_, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        // A pending flow whose selection the sample's request replaces.
        var extRefNo = await RequestAsync(crm, Contact, (Newsletter, Refusal), (ProductInfo, Refusal), (Surveys, Refusal));

        var answer = await ExpectAsync(PutAsync(crm, FlowPath(extRefNo), SeedSamples.Raw("update-consent-options.request")), 200);

        // The one documented deviation: the sample shows C0OPTINSTATUS_CURRENT, but a PUT only replaces the pending
        // selection, which stays requested until the flow is confirmed (?approval=true).
        var ids = SeedSamples.AssertMatches(SeedSamples.Response("update-consent-options"), answer, new Dictionary<string, JsonNode>
        {
            ["$.optIns[0].status"] = SeedSamples.Text(Requested),
            ["$.optIns[1].status"] = SeedSamples.Text(Requested),
            ["$.optIns[2].status"] = SeedSamples.Text(Requested),
        });
        AssertFlowIds(ids, extRefNo);
        Assert.Equal(PksOf(answer), PksOf(await ExpectAsync(crm.GetAsync(FlowPath(extRefNo)), 200)));
        // Nothing is current yet: the contact has only the requested records of the flow.
        Assert.All((await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200))["optIns"]!.AsArray(),
            i => Assert.Equal(Requested, i!["status"]!.GetValue<string>()));
    }

    [ProviderTheory, Providers]
    public async Task Update_consent_data_doi_answers_as_the_seeds_sample(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        // The state of the sample: product information was refused in an earlier flow; a second flow asks for surveys
        // (refused) and the newsletter (agreed).
        var earlier = await RequestAsync(crm, Contact, (ProductInfo, Refusal));
        await ConfirmAsync(crm, earlier);
        var extRefNo = await RequestAsync(crm, Contact, (Surveys, Refusal), (Newsletter, Consent));

        // The sample's request has no body.
        var answer = await ExpectAsync(crm.PutAsync(FlowPath(extRefNo) + "/?approval=true", content: null), 200);

        // The sample lists the records as its CRM found them (product information, surveys, newsletter); the hub lists
        // them in the organisation's type order, as every other answer does. The items are compared by type.
        Assert.Equal([Newsletter, ProductInfo, Surveys], answer["optIns"]!.AsArray().Select(i => i!["type"]!.GetValue<string>()));
        var sample = SeedSamples.Response("update-consent-data-doi");
        var inSampleOrder = new JsonArray([.. sample["optIns"]!.AsArray().Select(s => answer["optIns"]!.AsArray()
            .Single(i => i!["type"]!.GetValue<string>() == s!["type"]!.GetValue<string>())!.DeepClone())]);
        var reordered = answer.DeepClone().AsObject();
        reordered["optIns"] = inSampleOrder;
        var ids = SeedSamples.AssertMatches(sample, reordered);

        // The answer names the confirmed flow; each record names the flow that set it.
        Assert.Equal(extRefNo, ids["$.extRefNo"]);
        Assert.Equal(earlier, ids["$.optIns[0].extRefNo"]);
        Assert.Equal(extRefNo, ids["$.optIns[1].extRefNo"]);
        Assert.Equal(extRefNo, ids["$.optIns[2].extRefNo"]);
        Assert.All(ids.Where(i => i.Key.EndsWith(".pk", StringComparison.Ordinal)), i => Assert.Matches(RecordPk(), i.Value));
        Assert.Equal(PksOf(answer), PksOf(await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200)));
        await AssertViewsAgreeAsync(crm, system, Contact);
        // Asking again answers the same.
        Assert.True(JsonNode.DeepEquals(answer, await ConfirmAsync(crm, extRefNo)));
    }

    [ProviderTheory, Providers]
    public async Task Set_optout_for_person_answers_as_the_seeds_sample(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        var agreed = await CreateAsync(crm, Contact, (Surveys, Consent));

        var answer = await ExpectAsync(PostAsync(crm, ContactPath(Contact) + "/?approval=false", SeedSamples.Raw("set-optout-for-person.request")), 200);

        var ids = SeedSamples.AssertMatches(SeedSamples.Response("set-optout-for-person"), answer);
        // The opt-out is a flow of its own: one new extRefNo, named by the answer and by its record.
        Assert.True(Guid.TryParse(ids["$.extRefNo"], out _), ids["$.extRefNo"]);
        Assert.Equal(ids["$.extRefNo"], ids["$.optIns[0].extRefNo"]);
        Assert.Equal(PksOf(agreed), PksOf(answer));
        var read = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);
        Assert.Equal(Refusal, read["optIns"]!.AsArray().Single(i => i!["type"]!.GetValue<string>() == Surveys)!["approval"]!.GetValue<string>());
        await AssertViewsAgreeAsync(crm, system, Contact);
    }

    /// <summary>Each item's pk by type, asserting the seed's shape and that no two records share one.</summary>
    static Dictionary<string, string> PksOf(JsonObject answer)
    {
        var pks = answer["optIns"]!.AsArray().ToDictionary(i => i!["type"]!.GetValue<string>(), i => i!["pk"]!.GetValue<string>());
        Assert.All(pks.Values, pk => Assert.Matches(RecordPk(), pk));
        Assert.Equal(pks.Count, pks.Values.Distinct().Count());
        return pks;
    }

    /// <summary>Every extRefNo of a flow's answer is the flow's own.</summary>
    static void AssertFlowIds(Dictionary<string, string> ids, string extRefNo)
    {
        var references = ids.Where(i => i.Key.EndsWith(".extRefNo", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.Equal(extRefNo, r.Value));
    }
}
