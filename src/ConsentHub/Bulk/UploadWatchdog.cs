using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Bulk;

/// <summary>
/// On every instance, at start and then every <see cref="UploadOptions.WatchdogSeconds"/>: an upload still RUNNING whose
/// heartbeat stopped was abandoned by a crash or a stop of the instance running it, and is marked FAILED. It cannot be
/// taken over, because its body went with the connection; uploading the same file again is safe, as what was applied is
/// skipped. One statement marks it, so several instances doing this at once agree.
/// </summary>
public sealed class UploadWatchdog(
    IServiceScopeFactory scopes, RunningUploads running, TimeProvider time, IOptions<UploadOptions> options, ILogger<UploadWatchdog> logger)
    : BackgroundService
{
    public const string Reason = "interrupted: the hub stopped during the upload. Upload the file again; records already applied are skipped.";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.WatchdogSeconds), time);
        do
        {
            try
            {
                await FailAbandonedAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database may be briefly unreachable; the next round looks again.
                logger.LogWarning(e, "Looking for abandoned uploads failed");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Marks every abandoned upload FAILED; returns how many.</summary>
    public async Task<int> FailAbandonedAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var now = time.Now();
        var staleBefore = now.AddSeconds(-options.Value.StaleSeconds);
        var ours = running.Ids.ToList();
        var marked = await db.Uploads
            .Where(u => u.Status == UploadStatuses.Running && u.HeartbeatAt < staleBefore && !ours.Contains(u.Id))
            .ExecuteUpdateAsync(u => u
                .SetProperty(x => x.Status, UploadStatuses.Failed)
                .SetProperty(x => x.FinishedAt, now)
                .SetProperty(x => x.UpdatedAt, now)
                .SetProperty(x => x.FailureReason, Reason), ct);
        if (marked > 0) logger.LogWarning("Marked {Count} abandoned uploads as FAILED", marked);
        return marked;
    }
}
