using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Hosting;

public sealed class HostingTests
{
    [Theory, Providers]
    public async Task Health_reports_the_database(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json.ReadAsync(response);
        Assert.Equal("Healthy", body["status"]!.GetValue<string>());
        Assert.Equal("Healthy", body["checks"]!["database"]!.GetValue<string>());
    }

    [Fact]
    public async Task Interactive_api_reference_is_served()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/docs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("openapi/v1.json", await response.Content.ReadAsStringAsync());
        // Served from the hub itself: the machines it runs on need not reach a CDN.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/docs/scalar.js")).StatusCode);
    }

    [Fact]
    public async Task Unknown_route_gets_problem_details()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/no/such/thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    /// <summary>
    /// The published contract must not change by accident. After a deliberate change, regenerate with
    /// UPDATE_SNAPSHOTS=1 ./scripts/test.sh --filter OpenApi and review the diff.
    /// </summary>
    [Fact]
    public async Task OpenApi_document_matches_the_reviewed_snapshot()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        using var client = app.CreateClient();

        var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var actual = Normalise(await response.Content.ReadAsStringAsync());
        var path = SnapshotPath();
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1") await File.WriteAllTextAsync(path, actual);
        Assert.True(File.Exists(path), $"No snapshot at {path}; run with UPDATE_SNAPSHOTS=1 to create it.");
        Assert.Equal(await File.ReadAllTextAsync(path), actual);
    }

    static string Normalise(string json)
    {
        var node = JsonNode.Parse(json)!;
        node["servers"]?.AsArray().Clear(); // the test server's address is not part of the contract
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    static string SnapshotPath([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "openapi.snapshot.json");
}
