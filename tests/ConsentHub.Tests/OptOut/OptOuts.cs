using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.OptOut;

/// <summary>Test steps around the opt-out upload of seed 002: the seed's sample body, posting with an API key.</summary>
public static class OptOuts
{
    public const string UploadPath = "/RestServices/OptOut/Upload";

    /// <summary>The seed's sample request body, byte for byte as published.</summary>
    public static string SampleBody([CallerFilePath] string source = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(source)!, "seed-002-sample-upload.json"));

    /// <summary>A source system with an API key in a new organisation.</summary>
    public static async Task<(SourceSystemCredentials System, string Key)> SystemWithKeyAsync(HubApp app, string? nmsc = null, string context = "toyota", string name = "web")
    {
        var system = await app.RegisterSourceSystemAsync(nmsc ?? HubApp.Unique("tgb"), context, name);
        return (system, await app.IssueApiKeyAsync(system.Context, system.Nmsc, system.Name));
    }

    public static HttpRequestMessage Request(string key, string body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, UploadPath) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("api-key", key);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }

    public static async Task<HttpResponseMessage> PostAsync(HubApp app, string key, string body, string? idempotencyKey = null)
    {
        using var client = app.CreateClient();
        return await client.SendAsync(Request(key, body, idempotencyKey));
    }

    /// <summary>
    /// Opts out one identifier through the real upload, with a new API key of <paramref name="system"/>, and answers
    /// the suppression entry it made. A postal identifier's normalised form is sent back as its four fields.
    /// </summary>
    public static async Task<ConsentHub.OptOut.SuppressionEntry> UploadAsync(HubApp app, SourceSystemCredentials system, ConsentHub.OptOut.SuppressionIdentifier identifier)
    {
        var record = new JsonObject { ["validation"] = "1" };
        switch (identifier.Kind)
        {
            case "email": record["email1"] = identifier.Normalised; break;
            case "phone": record["phone1"] = identifier.Normalised; break;
            default:
                var parts = identifier.Normalised.Split('|');
                (record["firstname"], record["lastname"], record["address1"], record["zip"]) = (parts[0], parts[1], parts[2], parts[3]);
                break;
        }
        var key = await app.IssueApiKeyAsync(system);
        var response = await PostAsync(app, key, Body(record));
        var answer = await Json.ReadAsync(response);
        Xunit.Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK && answer["successful"]!.GetValue<int>() == 1, answer.ToJsonString());
        var recordId = Guid.Parse(answer["results"]![0]!["recordID"]!.GetValue<string>());
        using var scope = app.Scope();
        var entries = app.Db(scope).SuppressionEntries.Where(e => e.OptOutId == recordId).ToList();
        return Xunit.Assert.Single(entries);
    }

    /// <summary>One record with an email, validated: the smallest record the rules accept.</summary>
    public static JsonObject Record(string email = "john.doe@gmail.com", string validation = "1") => new() { ["email1"] = email, ["validation"] = validation };

    public static string Body(params JsonNode[] records) => new JsonArray([.. records.Select(r => r.DeepClone())]).ToJsonString();

    /// <summary>The member names of a JSON object in the order they were written.</summary>
    public static List<string> MemberNames(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    /// <summary>A client that sends the API key with every request.</summary>
    public static HttpClient ApiKeyClient(HubApp app, string key)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("api-key", key);
        return client;
    }
}
