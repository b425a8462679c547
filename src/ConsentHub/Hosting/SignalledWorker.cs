namespace ConsentHub.Hosting;

/// <summary>
/// A background worker every instance runs: one pass at start, then one each time its signal is raised (work committed on
/// this instance) or its poll interval passes (work of other instances, or work that fell due). A failed pass (the
/// database briefly unreachable) is logged and the next one tries again.
/// </summary>
public abstract class SignalledWorker(IServiceScopeFactory scopes, WorkSignal signal, ILogger logger) : BackgroundService
{
    /// <summary>Whether this instance runs the worker at all.</summary>
    protected abstract bool Enabled { get; }

    /// <summary>The longest wait between two passes.</summary>
    protected abstract TimeSpan Poll { get; }

    /// <summary>What the error of a failed pass says.</summary>
    protected abstract string Failure { get; }

    /// <summary>One pass, with the services of a scope of its own.</summary>
    protected abstract Task PassAsync(IServiceProvider services, CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await PassAsync(scope.ServiceProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "{Failure}", Failure);
            }
            try
            {
                await signal.WaitAsync(Poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
