namespace ConsentHub.Hosting;

/// <summary>
/// A background sweep every instance runs: once at start, then every <paramref name="interval"/> on the injected clock.
/// A failed round (the database briefly unreachable) is logged as a warning and the next round looks again.
/// </summary>
public abstract class PeriodicSweep(TimeProvider time, TimeSpan interval, ILogger logger) : BackgroundService
{
    /// <summary>The clock the sweep runs on; rounds read "now" from it too.</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>One round of the sweep.</summary>
    protected abstract Task SweepAsync(CancellationToken ct);

    /// <summary>What the warning of a failed round says.</summary>
    protected abstract string Failure { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, Time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "{Failure}", Failure);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        bool ticked;
        try { ticked = await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
        // The tick resumes this loop inside the timer's callback. The round runs after that callback has returned, so
        // ticks that come while a round runs coalesce into one more round, as PeriodicTimer promises. Run inline, a
        // clock that fires many ticks in one call (a FakeTimeProvider moved by a month: 89,280 ticks of 30 s) would run
        // one round per tick, one after the other, whenever a round completes synchronously (SQLite's async calls do).
        await Task.Yield();
        return ticked;
    }
}
