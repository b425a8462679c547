using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Ledger;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Rights;

/// <summary>Intent methods for the data subject rights tests.</summary>
public static class People
{
    public const string Email = "Jane.Doe@Example.com";
    public const string Phone = "+44 7700 900123";
    /// <summary>What must not be found anywhere once Jane is erased, lower-cased (the scan compares lower-cased text).</summary>
    public static readonly string[] Traces = ["jane.doe@example.com", "7700 900123", "447700900123", "jane.doe"];

    public static readonly Dictionary<string, string?> NoWorkers = new()
    {
        ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
    };

    /// <summary>A validated change of one consent carrying the email (and phone).</summary>
    public static JsonObject Change(string code, string email, string? phone = null, bool validated = true)
    {
        var body = Seed.Consent(code, true, validated: validated);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        if (phone is not null) body["consent"]!["communicationAttributes"]!["phone"] = phone;
        return body;
    }

    /// <summary>A DPO's bearer token: the password grant without a client, as the README shows.</summary>
    public static async Task<HttpResponseMessage> PostDpoTokenAsync(HubApp app, string username, string password)
    {
        using var client = app.CreateClient();
        return await client.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = username, ["password"] = password,
        }));
    }

    public static async Task<HttpClient> AsDpoAsync(HubApp app, DpoCredentials dpo)
    {
        var response = await PostDpoTokenAsync(app, dpo.Username, dpo.Password);
        var body = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        return app.WithToken(body["access_token"]!.GetValue<string>());
    }

    public static Task<HttpResponseMessage> EraseAsync(HttpClient client, string nmsc, object body) =>
        client.PostAsJsonAsync($"/nmscs/{nmsc}/erasures", body);

    public static async Task<LedgerCheckpoint> IssueCheckpointAsync(HubApp app)
    {
        using var scope = app.Scope();
        return (await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(CancellationToken.None))!;
    }

    public static async Task<int> EnableMatchingAsync(HubApp app, string nmsc)
    {
        using var admin = await app.AdminAsync();
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (int)response.StatusCode;
    }
}
