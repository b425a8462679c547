using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Hosting;

public sealed class HostingTests
{
    [ProviderTheory, Providers]
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

    /// <summary>
    /// Issue 14 §7.7: the document is valid under redocly's recommended rules (errors fail; warnings are printed).
    /// scripts/test.sh installs @redocly/cli outside the repository and names it in CONSENTHUB_REDOCLY.
    /// </summary>
    [RedoclyFact]
    public async Task OpenApi_document_passes_redocly_lint_with_the_recommended_rules()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        using var client = app.CreateClient();
        var document = await client.GetStringAsync("/openapi/v1.json");
        var node = JsonNode.Parse(document)!;
        Assert.All(node["servers"]!.AsArray(), s => Assert.False(s!["url"]!.GetValue<string>().EndsWith('/')));
        var path = Path.Combine(Directory.CreateTempSubdirectory("consenthub-openapi-").FullName, "openapi.json");
        await File.WriteAllTextAsync(path, document);

        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("CONSENTHUB_REDOCLY")!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "lint", path, "--format=stylish" }) start.ArgumentList.Add(arg);
        start.Environment["REDOCLY_TELEMETRY"] = "off"; // the machines reach package registries only
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.True(process.ExitCode == 0, await output + await error);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public async Task OpenApi_document_names_the_version_parameter_the_headers_the_401s_and_the_token_form()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        using var client = app.CreateClient();
        var paths = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!["paths"]!.AsObject();

        static IEnumerable<string> Parameters(JsonNode operation) =>
            operation["parameters"]?.AsArray().Select(p => $"{p!["in"]!.GetValue<string>()}:{p["name"]!.GetValue<string>()}") ?? [];
        var operations = paths.SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!))).ToList();
        Assert.All(operations, o => Assert.Contains("query:version", Parameters(o.Operation)));
        Assert.Contains("header:Idempotency-Key", Parameters(paths["/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/customers/{sourceCustomerId}/subscription-data"]!["post"]!));
        Assert.Contains("header:Upload-Id", Parameters(paths["/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/uploads"]!["post"]!));
        Assert.NotNull(paths["/admin/source-systems"]!["get"]!["responses"]!["401"]);
        Assert.Null(paths["/ledger/public-key"]!["get"]!["responses"]!["401"]);
        var form = paths["/oauth/token"]!["post"]!["requestBody"]!["content"]!["application/x-www-form-urlencoded"]!["schema"]!;
        Assert.Equal(["grant_type", "username", "password", "scope"], form["properties"]!.AsObject().Select(p => p.Key));
        Assert.NotNull(paths["/oauth/token"]!["post"]!["responses"]!["401"]);
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

/// <summary>Runs where scripts/test.sh has installed redocly (CONSENTHUB_REDOCLY), as PostgreSQL tests run where it provides a server.</summary>
public sealed class RedoclyFactAttribute : FactAttribute
{
    public RedoclyFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CONSENTHUB_REDOCLY") is not { Length: > 0 })
            Skip = "CONSENTHUB_REDOCLY is not set; run ./scripts/test.sh";
    }
}
