using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// ConsentHub in a process of its own (the built <c>ConsentHub.dll</c>) on an app's database, serving on 127.0.0.1, for
/// tests that end it as a crash would: <see cref="Kill"/> is SIGKILL, with no shutdown, no flush and no disposal.
/// </summary>
public sealed class ChildHub : IAsyncDisposable
{
    readonly Process process;
    readonly Task<string> output;
    readonly Task<string> error;

    public Uri Address { get; }

    ChildHub(Process process, Uri address)
    {
        this.process = process;
        Address = address;
        output = process.StandardOutput.ReadToEndAsync();
        error = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Starts the hub on <paramref name="app"/>'s database and key ring certificate; returns once it answers /health.</summary>
    public static async Task<ChildHub> StartAsync(HubApp app)
    {
        var port = HubApp.FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(HubAssembly());
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ConsentHub__DataDirectory"] = Directory.CreateTempSubdirectory("consenthub-child-").FullName;
        start.Environment["ConsentHub__DataProtection__CertificatePath"] = Path.Combine(app.DataDirectory, ConsentHub.Data.KeyRingOptions.DefaultFileName);
        start.Environment["ConsentHub__Database__Provider"] = app.Provider.ToString();
        start.Environment["ConnectionStrings__ConsentHub"] = app.ConnectionString;
        start.Environment["ConsentHub__Bootstrap__AdminPassword"] = HubApp.AdminPassword;
        start.Environment["ConsentHub__Bootstrap__ClientId"] = HubApp.AdminClientId;
        start.Environment["ConsentHub__Bootstrap__ClientSecret"] = HubApp.AdminClientSecret;
        start.Environment["ConsentHub__Tokens__RateLimitPermits"] = "1000000";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        var child = new ChildHub(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        using var client = new HttpClient { BaseAddress = child.Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (child.process.HasExited)
                throw new Xunit.Sdk.XunitException($"The child hub exited with {child.process.ExitCode}: {await child.error}{await child.output}");
            try
            {
                if ((await client.GetAsync("/health")).IsSuccessStatusCode) return child;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
            {
                child.Kill();
                throw new Xunit.Sdk.XunitException($"The child hub did not answer /health within 60 s: {await child.error}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL, and waits until the process is gone.</summary>
    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public bool HasExited => process.HasExited;

    /// <summary>What the process wrote to standard error so far (complete once it has exited).</summary>
    public Task<string> ErrorAsync() => error;

    public ValueTask DisposeAsync()
    {
        Kill();
        process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The server as built beside the tests, in the same configuration (src/ConsentHub/bin/…/ConsentHub.dll).</summary>
    static string HubAssembly([CallerFilePath] string source = "")
    {
        var configuration = typeof(ChildHub).Assembly.Location.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", "..", "src", "ConsentHub", "bin", configuration, "net10.0", "ConsentHub.dll"));
        return File.Exists(path) ? path : throw new Xunit.Sdk.XunitException($"{path} is missing: build src/ConsentHub in {configuration} first.");
    }
}
