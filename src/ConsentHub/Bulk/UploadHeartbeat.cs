using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>The uploads this process is running: alive by definition, whatever their heartbeat in the database says.</summary>
public sealed class RunningUploads
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, byte> ids = new();

    public IReadOnlyCollection<Guid> Ids => [.. ids.Keys];

    public void Add(Guid id) => ids.TryAdd(id, 0);

    public void Remove(Guid id) => ids.TryRemove(id, out _);
}

/// <summary>
/// Renews a running upload's heartbeat every interval, on a connection of its own (the job's context is busy with the
/// records), until the job ends. Disposing stops it. On SQLite a long batch holds the write lock and may delay beats;
/// this process's watchdog never takes its own running uploads for abandoned (<see cref="RunningUploads"/>).
/// </summary>
public sealed class UploadHeartbeat : IAsyncDisposable
{
    readonly CancellationTokenSource stop = new();
    readonly Task loop;
    readonly RunningUploads running;
    readonly Guid uploadId;

    UploadHeartbeat(IServiceScopeFactory scopes, RunningUploads running, Guid uploadId, TimeProvider time, TimeSpan interval, ILogger logger)
    {
        this.running = running;
        this.uploadId = uploadId;
        running.Add(uploadId);
        loop = BeatAsync(scopes, uploadId, time, interval, logger, stop.Token);
    }

    public static UploadHeartbeat Start(
        IServiceScopeFactory scopes, RunningUploads running, Guid uploadId, TimeProvider time, TimeSpan interval, ILogger logger) =>
        new(scopes, running, uploadId, time, interval, logger);

    static async Task BeatAsync(IServiceScopeFactory scopes, Guid uploadId, TimeProvider time, TimeSpan interval, ILogger logger, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                // Off the timer's callback, so that the ticks of a clock moved far at once coalesce (see PeriodicSweep).
                await Task.Yield();
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
        running.Remove(uploadId);
    }
}
