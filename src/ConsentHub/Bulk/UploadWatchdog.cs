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
    : PeriodicSweep(time, TimeSpan.FromSeconds(options.Value.WatchdogSeconds), logger)
{
    public const string Reason = "interrupted: the hub stopped during the upload. Upload the file again; records already applied are skipped.";

    protected override Task SweepAsync(CancellationToken ct) => FailAbandonedAsync(ct);

    protected override string Failure => "Looking for abandoned uploads failed";

    /// <summary>Marks every abandoned upload FAILED; returns how many.</summary>
    public async Task<int> FailAbandonedAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var now = Time.Now();
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
