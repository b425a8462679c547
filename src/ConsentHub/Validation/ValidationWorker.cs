using Microsoft.Extensions.Options;

namespace ConsentHub.Validation;

/// <summary>Sends, reminds and expires validations, and sends notifications, as they fall due; woken at once when one is queued here.</summary>
sealed class ValidationWorker(
    IServiceScopeFactory scopes, ValidationSignal signal, IOptions<ValidationOptions> options, ILogger<ValidationWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WorkerEnabled) return;
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var done = 0;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                done = await scope.ServiceProvider.GetRequiredService<ValidationService>().ProcessDueAsync(stoppingToken);
                done += await scope.ServiceProvider.GetRequiredService<NotificationService>().ProcessDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be briefly unreachable; the next pass tries again.
                logger.LogError(e, "Validation worker pass failed");
            }
            if (done > 0) continue;
            try
            {
                await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
