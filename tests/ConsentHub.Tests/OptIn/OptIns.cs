using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.OptIn;

/// <summary>Calls of the opt-in interface (seed 003) as a CRM makes them, and reads of what they did.</summary>
public static partial class OptIns
{
    public const string Base = "/rest/api/optin/v1/optins";
    public const string Newsletter = "C0INFOTYPE_NEWSLETTER";
    public const string ProductInfo = "C0INFOTYPE_PRODUCTINFO";
    public const string Surveys = "C0INFOTYPE_SURVEYS";
    public const string Consent = "Zus_C0Approval";
    public const string Refusal = "Abl_C0Approval";
    public const string Current = "C0OPTINSTATUS_CURRENT";
    public const string Requested = "C0OPTINSTATUS_REQUESTED";

    /// <summary>The default map of the seed's three types to hub categories.</summary>
    public static readonly Dictionary<string, string> DefaultCategories = new()
    {
        [Newsletter] = "OFFERS", [ProductInfo] = "REMINDERS", [Surveys] = "SURVEYS",
    };

    public static string ContactPath(string contactId) => $"{Base}/{Uri.EscapeDataString(contactId)}";

    public static string FlowPath(string extRefNo) => $"{Base}/flows/{extRefNo}";

    public static Task<HttpResponseMessage> PostAsync(HttpClient crm, string path, string body) =>
        crm.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PutAsync(HttpClient crm, string path, string body) =>
        crm.PutAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>Sends a call, asserts its status, and returns the body as JSON.</summary>
    public static async Task<JsonObject> ExpectAsync(Task<HttpResponseMessage> call, int status)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>An organisation with a CRM and the default types; returns the CRM's credentials and a client with its token.</summary>
    public static async Task<(SourceSystemCredentials Crm, HttpClient Client)> CrmAsync(HubApp app, string nmsc, string context = "toyota", string name = "crm")
    {
        var crm = await app.RegisterSourceSystemAsync(nmsc, context, name);
        return (crm, await app.AsAsync(crm));
    }

    /// <summary>The consolidated view of seed 004 for the contact, as the hub's own API answers it (asserting 200).</summary>
    public static async Task<JsonObject> ConsolidatedAsync(HttpClient crm, SourceSystemCredentials system, string contactId) =>
        await ExpectAsync(crm.GetAsync(HubApp.SubscriptionDataPath(system, contactId)), 200);

    /// <summary>
    /// Asserts that GET /optins/{contactId} and the consolidated view of seed 004 agree: every current item's approval is
    /// its category's flag, and every category of a mapped type with a flag shows as a current item.
    /// </summary>
    public static async Task AssertViewsAgreeAsync(HttpClient crm, SourceSystemCredentials system, string contactId, IReadOnlyDictionary<string, string>? categories = null)
    {
        categories ??= DefaultCategories;
        var overview = await ExpectAsync(crm.GetAsync(ContactPath(contactId)), 200);
        var consolidated = await ConsolidatedAsync(crm, system, contactId);
        var flags = (consolidated["consent"]?["consentAttributes"]?.AsArray() ?? [])
            .ToDictionary(a => a!["consentCode"]!.GetValue<string>(), a => a!["consentFlag"]!.GetValue<bool>());
        var current = overview["optIns"]!.AsArray().Where(i => i!["status"]!.GetValue<string>() == Current)
            .ToDictionary(i => i!["type"]!.GetValue<string>(), i => i!["approval"]!.GetValue<string>());
        foreach (var (type, category) in categories)
        {
            if (flags.TryGetValue(category, out var flag))
            {
                Assert.True(current.TryGetValue(type, out var approval), $"{type} ({category} = {flag}) is missing from the opt-in overview");
                Assert.Equal(flag ? Consent : Refusal, approval);
            }
            else
            {
                Assert.False(current.ContainsKey(type), $"{type} is current in the opt-in overview but {category} has no data in the consolidated view");
            }
        }
    }

    // ---- contract checks (seed 003) ---------------------------------------------------------------

    public const string ProblemMediaType = "application/problem+json";

    /// <summary>A record's pk: 20 lower-case hex characters and the seed's suffix OpIn.</summary>
    [GeneratedRegex("^[0-9a-f]{20}OpIn$")]
    public static partial Regex RecordPk();

    /// <summary>A contact's pk: 20 lower-case hex characters.</summary>
    [GeneratedRegex("^[0-9a-f]{20}$")]
    public static partial Regex ContactPk();

    /// <summary>
    /// Sends a call that must be refused with <paramref name="status"/>: a problem+json whose <c>status</c> and
    /// <c>result.code</c> are that number. Returns the problem.
    /// </summary>
    public static async Task<JsonObject> RefusedAsync(Task<HttpResponseMessage> call, int status)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal(ProblemMediaType, response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(status, problem["status"]!.GetValue<int>());
        Assert.Equal(status, problem["result"]!["code"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(problem["result"]!["status"]!.GetValue<string>()));
        return problem;
    }

    /// <summary>A 522 naming <paramref name="field"/> and <paramref name="rule"/> in <c>violations</c> and in <c>result.status</c>.</summary>
    public static async Task<JsonObject> InvalidAsync(Task<HttpResponseMessage> call, string field, string rule)
    {
        var problem = await RefusedAsync(call, 522);
        var violations = problem["violations"]!.AsArray().Select(v => (Field: v!["field"]!.GetValue<string>(), Rule: v!["rule"]!.GetValue<string>())).ToList();
        Assert.True(violations.Contains((field, rule)), $"expected {field} ({rule}) among {string.Join(", ", violations)}");
        var words = problem["result"]!["status"]!.GetValue<string>();
        Assert.Contains(field, words);
        Assert.Contains(rule, words);
        return problem;
    }

    /// <summary>How many ledger entries name the organisation: what a refused call must leave unchanged.</summary>
    public static async Task<int> LedgerCountAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        return await app.Db(scope).LedgerEntries.CountAsync(e => e.Payload.Contains(nmsc));
    }

    /// <summary>The ledger entries of one type that name the organisation, oldest first.</summary>
    public static async Task<List<JsonObject>> LedgerAsync(HubApp app, string nmsc, string type)
    {
        using var scope = app.Scope();
        var payloads = await app.Db(scope).LedgerEntries.Where(e => e.Type == type && e.Payload.Contains(nmsc)).OrderBy(e => e.Index).Select(e => e.Payload).ToListAsync();
        return [.. payloads.Select(p => JsonNode.Parse(p)!.AsObject())];
    }

    /// <summary>Maps the organisation's opt-in types as the admin (asserting 200).</summary>
    public static async Task MapTypesAsync(HubApp app, string nmsc, object types)
    {
        using var admin = await app.AdminAsync();
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/opt-in-types", types);
        Assert.True(response.IsSuccessStatusCode, $"mapping opt-in types: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Sets the organisation's optInConfirmation (partner or hub) with a merge patch (asserting 200).</summary>
    public static async Task ConfirmationAsync(HubApp app, string nmsc, string confirmation)
    {
        using var admin = await app.AdminAsync();
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/admin/organisations/{nmsc}")
        {
            Content = new StringContent($$"""{"optInConfirmation":"{{confirmation}}"}""", Encoding.UTF8, "application/merge-patch+json"),
        };
        var response = await admin.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"setting optInConfirmation: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Starts a double opt-in flow for the items (type, approval) and returns its extRefNo.</summary>
    public static async Task<string> RequestAsync(HttpClient crm, string contactId, params (string Type, string Approval)[] items)
    {
        var body = new JsonArray([.. items.Select(i => (JsonNode)new JsonObject { ["type"] = i.Type, ["approval"] = i.Approval, ["status"] = Requested })]);
        var answer = await ExpectAsync(PostAsync(crm, ContactPath(contactId), body.ToJsonString()), 200);
        return answer["extRefNo"]!.GetValue<string>();
    }

    /// <summary>Single opt-in of the items (type, approval), asserting 200; returns the answer.</summary>
    public static Task<JsonObject> CreateAsync(HttpClient crm, string contactId, params (string Type, string Approval)[] items) =>
        ExpectAsync(PostAsync(crm, ContactPath(contactId),
            new JsonArray([.. items.Select(i => (JsonNode)new JsonObject { ["type"] = i.Type, ["approval"] = i.Approval })]).ToJsonString()), 200);

    /// <summary>The partner confirms the flow (<c>?approval=true</c>), asserting 200.</summary>
    public static Task<JsonObject> ConfirmAsync(HttpClient crm, string extRefNo) => ExpectAsync(PutAsync(crm, FlowPath(extRefNo) + "/?approval=true", ""), 200);
}
