using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>
/// Renews a running upload's heartbeat every interval, on a connection of its own (the job's context is busy with the
/// records), until the job ends. Disposing stops it.
/// </summary>
public sealed class UploadHeartbeat : IAsyncDisposable
{
    readonly CancellationTokenSource stop = new();
    readonly Task loop;

    UploadHeartbeat(IServiceScopeFactory scopes, Guid uploadId, TimeProvider time, TimeSpan interval, ILogger logger) =>
        loop = BeatAsync(scopes, uploadId, time, interval, logger, stop.Token);

    public static UploadHeartbeat Start(IServiceScopeFactory scopes, Guid uploadId, TimeProvider time, TimeSpan interval, ILogger logger) =>
        new(scopes, uploadId, time, interval, logger);

    static async Task BeatAsync(IServiceScopeFactory scopes, Guid uploadId, TimeProvider time, TimeSpan interval, ILogger logger, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var now = time.Now();
                    await scope.ServiceProvider.GetRequiredService<ConsentDb>().Uploads
                        .Where(u => u.Id == uploadId && u.Status == UploadStatuses.Running)
                        .ExecuteUpdateAsync(u => u.SetProperty(x => x.HeartbeatAt, now), ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One missed beat is harmless (the watchdog allows for it); the next tick tries again.
                    logger.LogWarning(e, "Upload {UploadId}: heartbeat not recorded", uploadId);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
    }
}
