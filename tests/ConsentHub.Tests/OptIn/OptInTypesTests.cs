using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using static ConsentHub.Tests.OptIn.OptIns;

namespace ConsentHub.Tests.OptIn;

/// <summary>
/// The organisation's opt-in types (<c>/admin/organisations/{nmsc}/opt-in-types</c>): the seed's three by default, a
/// map that replaces them whole, its rules, and the <c>optInConfirmation</c> setting.
/// </summary>
public sealed class OptInTypesTests
{
    const string Contact = "example@example.com";
    const string TypesConfigured = "opt-in-types-configured";

    static string TypesPath(string nmsc) => $"/admin/organisations/{nmsc}/opt-in-types";

    [ProviderTheory, Providers]
    public async Task Without_a_map_an_organisation_has_the_seeds_three_types_by_default(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, _) = await CrmAsync(app, HubApp.Unique("oi"));
        using var admin = await app.AdminAsync();

        var view = await ExpectAsync(admin.GetAsync(TypesPath(system.Nmsc)), 200);

        Assert.Equal(system.Nmsc, view["nmsc"]!.GetValue<string>());
        Assert.True(view["isDefault"]!.GetValue<bool>());
        Assert.Equal(DefaultCategories.ToList(), view["types"]!.AsObject().Select(t => KeyValuePair.Create(t.Key, t.Value!.GetValue<string>())).ToList());
        Assert.Equal(TypesPath(system.Nmsc), view["_links"]!["self"]!["href"]!.GetValue<string>());
        Assert.Equal($"/admin/organisations/{system.Nmsc}", view["_links"]!["organisation"]!["href"]!.GetValue<string>());
        Assert.Empty(await LedgerAsync(app, system.Nmsc, TypesConfigured));
    }

    [ProviderTheory, Providers]
    public async Task A_map_replaces_the_whole_default_is_ledgered_and_is_what_the_interface_accepts(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        using var admin = await app.AdminAsync();
        var map = new Dictionary<string, string> { ["C0INFOTYPE_NEWSLETTER"] = "OFFERS", ["C0INFOTYPE_EVENTS"] = "EVENTS" };

        var put = await ExpectAsync(admin.PutAsJsonAsync(TypesPath(system.Nmsc), map), 200);

        Assert.False(put["isDefault"]!.GetValue<bool>());
        Assert.Equal(map.OrderBy(t => t.Key, StringComparer.Ordinal), put["types"]!.AsObject().Select(t => KeyValuePair.Create(t.Key, t.Value!.GetValue<string>())));
        Assert.True(JsonNode.DeepEquals(put, await ExpectAsync(admin.GetAsync(TypesPath(system.Nmsc)), 200)));
        var entry = Assert.Single(await LedgerAsync(app, system.Nmsc, TypesConfigured));
        Assert.Equal(system.Nmsc, entry["nmsc"]!.GetValue<string>());
        Assert.Equal("EVENTS", entry["types"]!["C0INFOTYPE_EVENTS"]!.GetValue<string>());

        // The default's other types are gone; the new one is taken, written to its category and read back.
        await InvalidAsync(PostAsync(crm, ContactPath(Contact), """[{"type":"C0INFOTYPE_PRODUCTINFO","approval":"Zus_C0Approval"}]"""), "body[0].type", "unknown-type");
        await CreateAsync(crm, Contact, ("C0INFOTYPE_EVENTS", Consent), (Newsletter, Refusal));
        var read = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);
        Assert.Equal(["C0INFOTYPE_EVENTS", Newsletter], read["optIns"]!.AsArray().Select(i => i!["type"]!.GetValue<string>()));
        await AssertViewsAgreeAsync(crm, system, Contact, map);

        // A second map replaces the first whole.
        var replaced = await ExpectAsync(admin.PutAsJsonAsync(TypesPath(system.Nmsc), new Dictionary<string, string> { ["C0INFOTYPE_SURVEYS"] = "SURVEYS" }), 200);
        Assert.Equal(["C0INFOTYPE_SURVEYS"], replaced["types"]!.AsObject().Select(t => t.Key));
        Assert.Equal(2, (await LedgerAsync(app, system.Nmsc, TypesConfigured)).Count);
        await InvalidAsync(PostAsync(crm, ContactPath(Contact), """[{"type":"C0INFOTYPE_EVENTS","approval":"Zus_C0Approval"}]"""), "body[0].type", "unknown-type");
        // Types without data are left out: OFFERS and EVENTS have data, but no mapped type names them any more.
        Assert.Empty((await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200))["optIns"]!.AsArray());
    }

    /// <summary>Each rule of a map (body, field, rule), on each provider.</summary>
    public static TheoryData<DatabaseProvider, string, string, string> MapRules()
    {
        var tooMany = new JsonObject();
        for (var i = 0; i < 21; i++) tooMany[$"C0INFOTYPE_{i}"] = i switch { 0 => "OFFERS", 1 => "SURVEYS", 2 => "REMINDERS", _ => "PROFILING" };
        var rules = new (string Body, string Field, string Rule)[]
        {
            ("{}", "body", "required"),
            (tooMany.ToJsonString(), "body", "max-types"),
            ("""{"C0-NEWSLETTER":"OFFERS"}""", "C0-NEWSLETTER", "type-name"),
            ("""{"C0INFOTYPE NEWSLETTER":"OFFERS"}""", "C0INFOTYPE NEWSLETTER", "type-name"),
            ($$"""{"{{new string('T', 65)}}":"OFFERS"}""", new string('T', 65), "type-name"),
            ("""{"":"OFFERS"}""", "", "type-name"),
            ("""{"C0INFOTYPE_NEWSLETTER":5}""", "C0INFOTYPE_NEWSLETTER", "json"),
            ("""{"C0INFOTYPE_NEWSLETTER":null}""", "C0INFOTYPE_NEWSLETTER", "json"),
            ("""{"C0INFOTYPE_NEWSLETTER":"NEWSLETTER"}""", "C0INFOTYPE_NEWSLETTER", "unknown-category"),
            ("""{"C0INFOTYPE_EVENTS":"EVENTS"}""", "C0INFOTYPE_EVENTS", "hidden-category"),
            ("""{"C0INFOTYPE_EVENTS":"OFFERS_EVENTS"}""", "C0INFOTYPE_EVENTS", "hidden-category"),
            ("""{"C0INFOTYPE_NEWSLETTER":"OFFERS","C0INFOTYPE_SURVEYS":"OFFERS_SURVEYS"}""", "C0INFOTYPE_SURVEYS", "overlapping-categories"),
            ("""{"C0INFOTYPE_NEWSLETTER":"OFFERS","C0INFOTYPE_OFFERS":"OFFERS"}""", "C0INFOTYPE_OFFERS", "overlapping-categories"),
            ("not json", "body", "json"),
            ("[]", "body", "json"),
        };
        var data = new TheoryData<DatabaseProvider, string, string, string>();
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
            foreach (var (body, field, rule) in rules) data.Add(provider, body, field, rule);
        return data;
    }

    [ProviderTheory, MemberData(nameof(MapRules))]
    public async Task Each_rule_of_a_map_is_400_naming_the_type_and_the_rule_and_the_map_stays(DatabaseProvider provider, string body, string field, string rule)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, _) = await CrmAsync(app, HubApp.Unique("oi"));
        using var admin = await app.AdminAsync();
        // EVENTS hidden, PROFILING local: the rules about the organisation's categories have something to refuse.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/admin/organisations/{system.Nmsc}/categories", Content("""
            {"hidden":["EVENTS"],"local":[{"code":"PROFILING","description":"Profiling for tailored offers"}]}
            """))).StatusCode);

        using var response = await admin.PutAsync(TypesPath(system.Nmsc), Content(body));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {text}");
        Assert.Equal(ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
        var violations = JsonNode.Parse(text)!["violations"]!.AsArray().Select(v => (v!["field"]!.GetValue<string>(), v!["rule"]!.GetValue<string>())).ToList();
        Assert.True(violations.Contains((field, rule)), $"expected {field} ({rule}) among {string.Join(", ", violations)}");
        Assert.True((await ExpectAsync(admin.GetAsync(TypesPath(system.Nmsc)), 200))["isDefault"]!.GetValue<bool>());
        Assert.Empty(await LedgerAsync(app, system.Nmsc, TypesConfigured));
    }

    [ProviderTheory, Providers]
    public async Task The_types_of_an_unknown_organisation_are_404(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("none");

        foreach (var response in new[] { await admin.GetAsync(TypesPath(nmsc)), await admin.PutAsync(TypesPath(nmsc), Content("""{"C0INFOTYPE_NEWSLETTER":"OFFERS"}""")) })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal(ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{nmsc}")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_local_category_mapped_to_a_type_of_its_own_is_written_and_read_through_the_interface(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, crm) = await CrmAsync(app, HubApp.Unique("oi"));
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/admin/organisations/{system.Nmsc}/categories", Content("""
                {"local":[{"code":"PROFILING","description":"Profiling for tailored offers"}]}
                """))).StatusCode);
        var map = new Dictionary<string, string> { [Newsletter] = "OFFERS", ["C0INFOTYPE_PROFILING"] = "PROFILING" };
        await MapTypesAsync(app, system.Nmsc, map);

        var created = await CreateAsync(crm, Contact, ("C0INFOTYPE_PROFILING", Consent), (Newsletter, Refusal));
        Assert.Equal(["C0INFOTYPE_PROFILING", Newsletter], created["optIns"]!.AsArray().Select(i => i!["type"]!.GetValue<string>()));

        var read = await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200);
        Assert.Equal([(Newsletter, Refusal), ("C0INFOTYPE_PROFILING", Consent)],
            read["optIns"]!.AsArray().Select(i => (i!["type"]!.GetValue<string>(), i!["approval"]!.GetValue<string>())));
        await AssertViewsAgreeAsync(crm, system, Contact, map);
        var consolidated = await ConsolidatedAsync(crm, system, Contact);
        Assert.Contains(consolidated["consent"]!["consentAttributes"]!.AsArray(),
            a => a!["consentCode"]!.GetValue<string>() == "PROFILING" && a["consentFlag"]!.GetValue<bool>());

        // A double opt-in of the local type, confirmed by the partner.
        var extRefNo = await RequestAsync(crm, Contact, ("C0INFOTYPE_PROFILING", Refusal));
        await ConfirmAsync(crm, extRefNo);
        await AssertViewsAgreeAsync(crm, system, Contact, map);
        Assert.Equal(Refusal, (await ExpectAsync(crm.GetAsync(ContactPath(Contact)), 200))["optIns"]!.AsArray()
            .Single(i => i!["type"]!.GetValue<string>() == "C0INFOTYPE_PROFILING")!["approval"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task OptInConfirmation_is_partner_by_default_set_by_patch_and_put_and_an_unknown_value_is_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, _) = await CrmAsync(app, HubApp.Unique("oi"));
        using var admin = await app.AdminAsync();
        var path = $"/admin/organisations/{system.Nmsc}";
        async Task<string> Setting() => (await ExpectAsync(admin.GetAsync(path), 200))["optInConfirmation"]!.GetValue<string>();
        async Task<HttpResponseMessage> Patch(string json) => await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/merge-patch+json"),
        });

        Assert.Equal("partner", await Setting());
        Assert.Equal(HttpStatusCode.OK, (await Patch("""{"optInConfirmation":"hub"}""")).StatusCode);
        Assert.Equal("hub", await Setting());
        foreach (var refused in new[] { await Patch("""{"optInConfirmation":"email"}"""), await Patch("""{"optInConfirmation":true}"""),
                     await admin.PutAsync(path, Content("""{"optInConfirmation":"HUB "}""")) })
        {
            var text = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{(int)refused.StatusCode} {text}");
            Assert.Equal("optInConfirmation", JsonNode.Parse(text)!["violations"]![0]!["field"]!.GetValue<string>());
        }
        Assert.Equal("opt-in-confirmation", (await Json.ReadAsync(await Patch("""{"optInConfirmation":"email"}""")))["violations"]![0]!["rule"]!.GetValue<string>());
        Assert.Equal("hub", await Setting());
        // null restores the default.
        Assert.Equal(HttpStatusCode.OK, (await Patch("""{"optInConfirmation":null}""")).StatusCode);
        Assert.Equal("partner", await Setting());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync(path, Content("""{"optInConfirmation":"hub"}"""))).StatusCode);
        Assert.Equal("hub", await Setting());
    }

    static StringContent Content(string json) => new(json, Encoding.UTF8, "application/json");
}
