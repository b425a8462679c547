using ConsentHub.Hosting;
using Microsoft.Extensions.Options;

namespace ConsentHub.OperatorConsole;

/// <summary>The console's settings (section <c>ConsentHub:Console</c>).</summary>
public sealed class ConsoleOptions
{
    public const string Section = "ConsentHub:Console";

    /// <summary>How often each instance counts what the ledger gained (seconds).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 3600)]
    public int RollupSeconds { get; set; } = 10;

    /// <summary>How often, at most, "Verify now" adds a line of progress to the page it streams (milliseconds).</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 60_000)]
    public int VerifyProgressMilliseconds { get; set; } = 500;
}

/// <summary>Runs <see cref="ActivityRollup"/> on every instance every <see cref="ConsoleOptions.RollupSeconds"/>.</summary>
sealed class ActivityRollupWorker(IServiceScopeFactory scopes, TimeProvider time, IOptions<ConsoleOptions> options, ILogger<ActivityRollupWorker> logger)
    : PeriodicSweep(time, TimeSpan.FromSeconds(options.Value.RollupSeconds), logger)
{
    protected override string Failure => "Counting the ledger's activity for the console failed; the next round tries again";

    protected override async Task SweepAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ActivityRollup>().CatchUpAsync(ct);
    }
}
