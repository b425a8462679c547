using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Hosting;

/// <summary>Issue 14 §7.4: every link the API emits leads somewhere a GET answers, unless it is a documented action.</summary>
public sealed class HalLinkTests
{
    /// <summary>Link relations that name actions (POST), as the README's HAL paragraph lists them.</summary>
    static readonly HashSet<string> Actions = ["rotate-secret", "rotate-api-key", "redeliver"];

    [ProviderTheory, Providers]
    public async Task Every_link_of_every_resource_answers_a_GET_or_is_a_documented_action(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        using var admin = await app.AdminAsync();
        var nmsc = "tgb";
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using var crmClient = await app.AsAsync(crm);
        using var dmsClient = await app.AsAsync(dms);
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);

        var answers = new List<JsonNode>();
        async Task<JsonNode> KeepAsync(HttpResponseMessage response, params HttpStatusCode[] expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(expected.Contains(response.StatusCode), $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode} {body}");
            var node = JsonNode.Parse(body.Length == 0 ? "{}" : body)!;
            answers.Add(node);
            return node;
        }

        // One of each resource: a customer with history (two changes), a cluster, deliveries, an upload, a DPO user.
        await KeepAsync(await HubApp.SubmitAsync(crmClient, crm, "cust-1", Seed.Consent("OFFERS", true)), HttpStatusCode.Created);
        await KeepAsync(await HubApp.SubmitAsync(crmClient, crm, "cust-1", Seed.Consent("SURVEYS", true)), HttpStatusCode.Created);
        await KeepAsync(await HubApp.SubmitAsync(dmsClient, dms, "d-1", Seed.Consent("EVENTS", true)), HttpStatusCode.Created);
        await KeepAsync(await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/person-1", new
        {
            members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "cust-1" }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-1" } },
        }), HttpStatusCode.OK, HttpStatusCode.Created);
        await hook.WaitForCountAsync(1);
        var (_, job) = await Uploads.PostAsync(crmClient, crm, Uploads.AsArray([Uploads.Envelope(crm, "up-1", Seed.Consent("OFFERS", true))]));
        answers.Add(job);
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);
        var apiKeys = HubApp.ApiKeysPath(crm.Context, crm.Nmsc, crm.Name);
        await KeepAsync(await admin.PostAsJsonAsync(apiKeys, new { label = "links" }), HttpStatusCode.Created);

        var customer = HubApp.SubscriptionDataPath(crm, "cust-1");
        var roots = new[]
        {
            customer, customer + "/history", customer + "/history?limit=1", HubApp.SubscriptionDataPath(dms, "d-1"),
            Propagations.DestinationPath(crm), Propagations.DestinationPath(crm) + "/deliveries",
            $"/admin/organisations/{nmsc}", "/admin/contexts/toyota", "/admin/source-systems", $"/admin/source-systems/{crm.Id}",
            "/admin/users", "/admin/users?limit=1", $"/admin/users/{dpo.Username}", $"/nmscs/{nmsc}/clusters/person-1",
            "/ledger/entries", "/ledger/entries?limit=2", "/ledger/checkpoints", apiKeys,
        };

        var queue = new Queue<(string Href, string From)>(roots.Select(r => (r, "start")));
        foreach (var answer in answers)
            foreach (var (rel, href) in Links(answer)) Enqueue(rel, href, "a creating answer");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var failures = new List<string>();
        void Enqueue(string rel, string href, string from)
        {
            if (!Actions.Contains(rel)) queue.Enqueue((href, $"{from} ({rel})"));
        }

        var walked = 0;
        while (queue.Count > 0 && walked < 400)
        {
            var (href, from) = queue.Dequeue();
            if (!seen.Add(href)) continue;
            walked++;
            // The owning system reads its records and its destination; the admin everything else.
            var response = await admin.GetAsync(href);
            if (!response.IsSuccessStatusCode && href.StartsWith("/contexts/", StringComparison.Ordinal))
                response = await (href.Contains("/source-systems/dms/", StringComparison.Ordinal) ? dmsClient : crmClient).GetAsync(href);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                failures.Add($"GET {href} from {from}: {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
                continue;
            }
            if (text.Length == 0 || response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.Ordinal) != true) continue;
            foreach (var (rel, link) in Links(JsonNode.Parse(text)!)) Enqueue(rel, link, href);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(walked >= roots.Length, $"walked {walked}");
        Assert.Contains(seen, h => h.Contains("/deliveries", StringComparison.Ordinal));
        Assert.Contains(seen, h => h.StartsWith("/change-requests/", StringComparison.Ordinal));
        Assert.Contains(seen, h => h.StartsWith("/uploads/", StringComparison.Ordinal));
        Assert.Contains(seen, h => h.StartsWith(apiKeys + "/", StringComparison.Ordinal));
    }

    /// <summary>Every (relation, href) of every <c>_links</c> in the document, at any depth; templated links are not followed.</summary>
    static IEnumerable<(string Rel, string Href)> Links(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj)
                {
                    if (name == "_links" && value is JsonObject links)
                    {
                        foreach (var (rel, link) in links)
                            foreach (var one in link is JsonArray many ? many : new JsonArray(link!.DeepClone()))
                                if (one?["href"]?.GetValue<string>() is { } href && one["templated"]?.GetValue<bool>() != true) yield return (rel, href);
                    }
                    else
                    {
                        foreach (var inner in Links(value)) yield return inner;
                    }
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                    foreach (var inner in Links(item)) yield return inner;
                break;
        }
    }
}
