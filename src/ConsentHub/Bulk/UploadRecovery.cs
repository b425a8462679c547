using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Bulk;

/// <summary>
/// On start, an upload still RUNNING that no instance has updated for a while was cut off by a crash: it is marked
/// FAILED. Uploading the same file again is safe; what was applied is skipped.
/// </summary>
public sealed class UploadRecovery(IServiceScopeFactory scopes, TimeProvider time, IOptions<UploadOptions> options, ILogger<UploadRecovery> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var now = time.Now();
        // Another instance's upload in progress is updated after every batch, so it is never this old.
        var staleBefore = now.AddMinutes(-options.Value.StaleMinutes);
        var marked = await db.Uploads
            .Where(u => u.Status == UploadStatuses.Running && u.UpdatedAt < staleBefore)
            .ExecuteUpdateAsync(u => u
                .SetProperty(x => x.Status, UploadStatuses.Failed)
                .SetProperty(x => x.FinishedAt, now)
                .SetProperty(x => x.UpdatedAt, now)
                .SetProperty(x => x.FailureReason, "interrupted: the hub stopped during the upload. Upload the file again; records already applied are skipped."), ct);
        if (marked > 0) logger.LogWarning("Marked {Count} interrupted uploads as FAILED", marked);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
