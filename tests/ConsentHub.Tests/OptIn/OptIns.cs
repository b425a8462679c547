using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.OptIn;

/// <summary>Calls of the opt-in interface (seed 003) as a CRM makes them, and reads of what they did.</summary>
public static class OptIns
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
}
