namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// The growth of the live managed heap while a piece of work runs, for the memory tests (which run alone, in the memory
/// collection, so that the heap is the work's). Each sample is taken after one blocking, non-compacting full collection,
/// so what is measured is data held, not garbage a later collection would take. Samples are a second apart: a full
/// collection of the test process's heap stops every thread in it, and at ten a second the collections were most of the
/// memory tests' time.
/// </summary>
public sealed class HeapSampler : IAsyncDisposable
{
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    readonly CancellationTokenSource stop = new();
    readonly Task sampling;
    long peak;

    public long Baseline { get; }

    HeapSampler()
    {
        Baseline = Live();
        peak = Baseline;
        sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(Interval, stop.Token); } catch (OperationCanceledException) { break; }
                var live = Live();
                if (live > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, live);
            }
        });
    }

    /// <summary>Starts sampling from a baseline taken now.</summary>
    public static HeapSampler Start()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return new HeapSampler();
    }

    static long Live()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    /// <summary>Stops sampling (with one last sample) and returns the largest growth over the baseline seen.</summary>
    public async Task<long> StopAsync()
    {
        await stop.CancelAsync();
        await sampling;
        var last = Live();
        return Math.Max(Interlocked.Read(ref peak), last) - Baseline;
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested) await StopAsync();
        stop.Dispose();
    }
}
