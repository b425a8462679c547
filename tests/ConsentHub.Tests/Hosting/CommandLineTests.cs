using System.Diagnostics;
using System.Runtime.CompilerServices;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Hosting;

/// <summary>Issue 14 §7.1 and §7.9: the verbs parse with System.CommandLine, resolve paths where the user is, and never crash.</summary>
public sealed class CommandLineTests
{
    static readonly Dictionary<string, string?> NoWorkers = new()
    {
        ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
    };

    /// <summary>
    /// As a user types it: <c>dotnet run --project src/ConsentHub -- ledger …</c> from another directory, with relative
    /// paths. dotnet run starts the hub in src/ConsentHub; the paths must still mean the user's directory.
    /// </summary>
    [Fact]
    public async Task Ledger_verbs_run_with_dotnet_run_resolve_relative_paths_in_the_users_directory_and_a_missing_file_is_exit_2()
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(DatabaseProvider.Sqlite, NoWorkers, kestrelPort: port);
        await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var scope = app.Scope())
            Assert.NotNull(await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(CancellationToken.None));
        using var admin = await app.AdminAsync();
        var token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        var key = (await Json.ReadAsync(await admin.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        var user = Directory.CreateTempSubdirectory("consenthub-user-").FullName;
        try
        {
            var export = await DotnetRunAsync(user, "ledger", "export", "--url", $"http://127.0.0.1:{port}", "--token", token, "--out", "ledger-copy");
            Assert.True(export.Code == 0, export.Output + export.Error);
            Assert.True(File.Exists(Path.Combine(user, "ledger-copy", LedgerSource.EntriesFile)), export.Output);
            Assert.False(Directory.Exists(Path.Combine(ProjectDirectory(), "ledger-copy")));
            File.Copy(Path.Combine(user, "ledger-copy", LedgerSource.CheckpointFile), Path.Combine(user, "saved.txt"));

            var verified = await DotnetRunAsync(user, "ledger", "verify", "--dir", "ledger-copy", "--public-key", key, "--since", "saved.txt");
            Assert.True(verified.Code == 0, verified.Output + verified.Error);
            Assert.Contains("ledger valid", verified.Output, StringComparison.Ordinal);

            var missing = await DotnetRunAsync(user, "ledger", "verify", "--dir", "ledger-copy", "--public-key", key, "--since", "missing.txt");
            Assert.Equal(2, missing.Code);
            Assert.Contains($"--since: no such file: {Path.Combine(user, "missing.txt")}", missing.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", missing.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(user, recursive: true);
        }
    }

    [Fact]
    public async Task Help_is_exit_0_and_usage_errors_are_exit_2_with_a_message_naming_the_option()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        var (code, output, _) = await UploadAsync(["upload", "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("--client-secret", output, StringComparison.Ordinal);
        Assert.Contains("Exit codes", output, StringComparison.Ordinal);

        var cases = new (string[] Args, string Expected)[]
        {
            (["upload", "file.json", "--url", "http://localhost:5080", "--client-id", "x"], "--client-secret"),
            (["upload", "file.json", "--url", "localhost:5080", "--client-id", "x", "--client-secret", "y"], "--url must be an absolute"),
            (["upload", "file.json", "--url", "http://localhost:5080", "--client-id", "x", "--client-secret", "y", "--propagate", "maybe"], "maybe"),
            (["upload", "no-such-file.json", "--url", "http://localhost:5080", "--client-id", "x", "--client-secret", "y"], "FILE: no such file"),
            (["upload", "file.json", "--url", "http://localhost:5080", "--client-id", "x", "--client-secret", "y", "--colour", "red"], "--colour"),
        };
        foreach (var (args, expected) in cases)
        {
            var (exit, _, error) = await UploadAsync(args);
            Assert.True(exit == 2, $"{string.Join(' ', args)}: {exit} {error}");
            Assert.Contains(expected, error, StringComparison.Ordinal);
        }

        // Each mistake is exit code 2 with a message on stderr that names what was wrong, and nothing on stdout.
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["ledger"], "Required command was not provided"),
            (["ledger", "verify", "--url", "http://127.0.0.1:1"], "--public-key is required"),
            (["ledger", "verify", "--url", "http://127.0.0.1:1", "--dir", "x", "--public-key", "k"], "either --url or --dir"),
            (["ledger", "verify", "--since", "saved.txt"], "need --url or --dir"),
            (["ledger", "export", "--url", "http://127.0.0.1:1"], "--out"),
            (["ledger", "verify", "--dir", "no-such-directory", "--public-key", "k"], "--dir: no such directory"),
            (["ledger", "verify", "--url", "http://127.0.0.1:1", "--public-key", "not-a-key"], "--public-key"),
        })
        {
            var run = await LedgerCli.RunAsync(app, args);
            Assert.True(run.Exit == 2, $"{string.Join(' ', args)}: {run.Exit} {run.Error}");
            Assert.Contains(expected, run.Error, StringComparison.Ordinal);
            Assert.Equal("", run.Output);
        }
    }

    static async Task<(int Code, string Output, string Error)> UploadAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await UploadCommand.RunAsync(args, output, error, showProgress: false);
        return (code, output.ToString(), error.ToString());
    }

    static async Task<(int Code, string Output, string Error)> DotnetRunAsync(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "run", "--no-build", "-c", "Release", "--project", ProjectDirectory(), "--" }.Concat(args)) start.ArgumentList.Add(arg);
        start.Environment["PWD"] = directory; // what the user's shell sets
        start.Environment["Logging__Console__FormatterName"] = "simple";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    static string ProjectDirectory([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "..", "src", "ConsentHub"));
}
