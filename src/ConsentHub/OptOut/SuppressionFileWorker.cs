using Microsoft.Extensions.Options;

namespace ConsentHub.OptOut;

/// <summary>
/// Issues each organisation's suppression files when a period starts (as the injected TimeProvider tells). Every instance
/// runs it; the claim on each file's slot makes one of them generate it.
/// </summary>
sealed class SuppressionFileWorker(IServiceScopeFactory scopes, IOptions<SuppressionFileOptions> options, ILogger<SuppressionFileWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WorkerEnabled) return;
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<SuppressionFileGenerator>().GenerateDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be briefly unreachable; the next pass tries again.
                logger.LogError(e, "Suppression file pass failed");
            }
            try
            {
                await Task.Delay(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

public static class SuppressionFileSetup
{
    public static IServiceCollection AddSuppressionFiles(this IServiceCollection services)
    {
        services.AddOptions<SuppressionFileOptions>().BindConfiguration(SuppressionFileOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<SuppressionFileGenerator>();
        services.AddSuppressionFilePolicy();
        services.AddHostedService<SuppressionFileWorker>();
        services.AddSingleton<Bulk.IDpoLandingSection, SuppressionFileSection>();
        return services;
    }
}
