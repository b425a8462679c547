using System.Text.Json.Nodes;

namespace ConsentHub.Tests.Infrastructure;

public static class Json
{
    public static async Task<JsonNode> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(body) ?? throw new Xunit.Sdk.XunitException($"empty body, status {(int)response.StatusCode}");
    }
}
