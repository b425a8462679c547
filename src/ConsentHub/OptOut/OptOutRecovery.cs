using System.ComponentModel.DataAnnotations;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.OptOut;

public sealed class OptOutRecoveryOptions
{
    public const string Section = "ConsentHub:OptOut:Recovery";

    /// <summary>Off only for tests that drive <see cref="OptOutRecovery.RecoverAsync"/> themselves.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often every instance looks for opt-outs whose application is still owed.</summary>
    [Range(1, 3600)]
    public int IntervalSeconds { get; set; } = 30;

    /// <summary>
    /// How long after its receipt an unapplied opt-out counts as owed: the upload applies its records right after it
    /// commits, and the sweep leaves them that long to do it.
    /// </summary>
    [Range(1, 24 * 3600)]
    public int GraceSeconds { get; set; } = 60;

    /// <summary>Records read per round trip, oldest first.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 20;
}

/// <summary>
/// On every instance, at start and then every <see cref="OptOutRecoveryOptions.IntervalSeconds"/>: applies the successful
/// opt-out records whose application is still owed (the instance that received them stopped before applying them).
/// Applying is idempotent, so instances sweeping at once, or racing the upload, record every withdrawal once.
/// </summary>
public sealed class OptOutRecovery(
    IServiceScopeFactory scopes, TimeProvider time, IOptions<OptOutRecoveryOptions> options, ILogger<OptOutRecovery> logger)
    : PeriodicSweep(time, TimeSpan.FromSeconds(options.Value.IntervalSeconds), logger)
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.Enabled ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;

    protected override Task SweepAsync(CancellationToken ct) => RecoverAsync(ct);

    protected override string Failure => "Applying owed opt-outs failed";

    /// <summary>Applies every owed opt-out received more than the grace ago, oldest first; returns how many it applied.</summary>
    public async Task<int> RecoverAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var before = Time.Now().AddSeconds(-settings.GraceSeconds);
        var failed = new List<Guid>();
        var applied = 0;
        while (true)
        {
            List<Guid> batch;
            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
                batch = await db.OptOutRecords.AsNoTracking()
                    .Where(r => r.Successful && r.AppliedAt == null && r.ReceivedAt < before && !failed.Contains(r.Id))
                    .OrderBy(r => r.ReceivedAt).ThenBy(r => r.Id)
                    .Select(r => r.Id).Take(settings.BatchSize).ToListAsync(ct);
            }
            if (batch.Count == 0) return applied;
            foreach (var id in batch)
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<OptOutApplication>().ApplyAsync(id, ct);
                    applied++;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Left owed for the next round; this round goes on with the others.
                    failed.Add(id);
                    logger.LogWarning(e, "Applying opt-out {OptOutId} failed", id);
                }
            }
        }
    }
}
