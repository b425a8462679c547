using System.Text.Json.Nodes;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Bulk;

public sealed class UploadCommandTests
{
    [ProviderTheory, Providers]
    public async Task The_cli_streams_a_file_to_a_running_hub_prints_the_summary_and_says_by_its_exit_code_how_it_went(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, kestrelPort: port);
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var url = $"http://127.0.0.1:{port}";
        var directory = Directory.CreateTempSubdirectory("consenthub-upload-").FullName;
        try
        {
            var records = Enumerable.Range(1, 40).Select(i => (JsonNode)Uploads.Envelope(system, $"cli-{i}", Seed.Consent("SURVEYS", i % 2 == 0))).ToList();
            var clean = Path.Combine(directory, "clean.json");
            await File.WriteAllTextAsync(clean, Uploads.AsArray(records));
            var withBad = Path.Combine(directory, "with-bad.ndjson");
            await File.WriteAllTextAsync(withBad, Uploads.AsLines([.. records, Uploads.Envelope(system, "cli-bad", Seed.Consent("SURVEYS", true, validated: false))]));

            // The organisation and system come from the token, the context from the first record.
            string[] Args(string file) => ["upload", file, "--url", url, "--client-id", system.ClientId, "--client-secret", system.ClientSecret];
            var (code, output, progress) = await RunAsync(Args(clean));
            Assert.True(code == 0, output + progress);
            Assert.Matches(@"COMPLETED: read 40, applied 40, rejected 0, skipped 0, [\d.]+ records/s", output);
            Assert.Contains("100% of", progress, StringComparison.Ordinal);

            (code, output, _) = await RunAsync(Args(withBad));
            Assert.True(code == 1, output);
            Assert.Contains("COMPLETED: read 41, applied 0, rejected 1, skipped 40", output, StringComparison.Ordinal);
            Assert.Contains("/errors", output, StringComparison.Ordinal);

            using var client = await app.AsAsync(system);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync(HubApp.SubscriptionDataPath(system, "cli-40"))).StatusCode);

            var broken = Path.Combine(directory, "broken.json");
            await File.WriteAllTextAsync(broken, Uploads.AsArray(records)[..^3]);
            (code, output, _) = await RunAsync([.. Args(broken), "--context", "toyota"]);
            Assert.True(code == 3, output);
            Assert.Contains("FAILED", output, StringComparison.Ordinal);

            (code, _, var error) = await RunAsync(["upload", clean, "--url", url, "--client-id", system.ClientId, "--client-secret", "wrong"]);
            Assert.Equal(2, code);
            Assert.Contains("sign-in refused", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    static async Task<(int Code, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await UploadCommand.RunAsync(args, output, error, showProgress: true);
        return (code, output.ToString(), error.ToString());
    }
}
