namespace ConsentHub.Hosting;

/// <summary>
/// Wakes a background worker at once when this instance has just committed work for it; the worker still polls, for
/// work committed by other instances and for work that falls due later.
/// </summary>
public abstract class WorkSignal
{
    readonly SemaphoreSlim signal = new(0, 1);

    public void Notify()
    {
        if (signal.CurrentCount == 0)
        {
            try { signal.Release(); } catch (SemaphoreFullException) { /* already awake */ }
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => signal.WaitAsync(timeout, ct);
}
