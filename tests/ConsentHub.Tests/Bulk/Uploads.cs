using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ConsentHub.Tests.Bulk;

/// <summary>Test steps around initial uploads: files in the seed's format, posting them, reading the job and its errors.</summary>
public static class Uploads
{
    public static string SampleFile([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "seed-sample-upload.json");

    /// <summary>
    /// A client of the source system that streams request bodies: the default test client follows redirects, and to
    /// replay a body on a redirect it buffers every body whole before sending it.
    /// </summary>
    public static async Task<HttpClient> StreamingClientAsync(HubApp app, SourceSystemCredentials s)
    {
        var token = await app.TokenAsync(s.ClientId, s.ClientSecret, new() { ["grant_type"] = "client_credentials" });
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = app.ClientOptions.BaseAddress });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public static string PathOf(SourceSystemCredentials s, string query = "") =>
        $"/contexts/{s.Context}/nmscs/{s.Nmsc}/source-systems/{Uri.EscapeDataString(s.Name)}/uploads{query}";

    /// <summary>A record of the file: the envelope naming <paramref name="s"/> around the customer's data.</summary>
    public static JsonObject Envelope(SourceSystemCredentials s, string customerId, JsonNode data) => new()
    {
        ["context"] = s.Context,
        ["nmsc"] = s.Nmsc,
        ["sourceSystemName"] = s.Name,
        ["sourceCustomerId"] = customerId,
        ["data"] = data.DeepClone(),
    };

    public static string AsArray(IEnumerable<JsonNode> records) => "[\n" + string.Join(",\n", records.Select(r => r.ToJsonString())) + "\n]";

    public static string AsLines(IEnumerable<JsonNode> records) => string.Join("\n", records.Select(r => r.ToJsonString())) + "\n";

    public static async Task<(HttpResponseMessage Response, JsonNode Job)> PostAsync(
        HttpClient client, SourceSystemCredentials s, HttpContent content, string query = "", Guid? uploadId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, PathOf(s, query)) { Content = content };
        if (uploadId is { } id) request.Headers.Add("Upload-Id", id.ToString());
        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"upload answered {(int)response.StatusCode}: {body}");
        return (response, JsonNode.Parse(body)!);
    }

    public static Task<(HttpResponseMessage Response, JsonNode Job)> PostAsync(
        HttpClient client, SourceSystemCredentials s, string body, string mediaType = "application/json", string query = "") =>
        PostAsync(client, s, new StringContent(body, Encoding.UTF8, mediaType), query);

    /// <summary>The error report as NDJSON lines.</summary>
    public static async Task<List<JsonNode>> ErrorsAsync(HttpClient client, JsonNode job)
    {
        var response = await client.GetAsync(job["_links"]!["errors"]!["href"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!)];
    }

    public static long Count(JsonNode job, string name) => job[name]!.GetValue<long>();

    /// <summary>A body written a few bytes at a time, so that tokens arrive split across reads.</summary>
    public sealed class Trickle : HttpContent
    {
        readonly byte[] bytes;
        readonly int chunk;

        public Trickle(string text, int chunk, string mediaType = "application/json")
        {
            bytes = Encoding.UTF8.GetBytes(text);
            this.chunk = chunk;
            Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < bytes.Length; i += chunk)
            {
                await stream.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
