using System.Threading.Channels;
using ConsentHub.Data;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Consents;

/// <summary>
/// Commits the changes that arrive at one instance at the same moment together (issue 20 §2): one transaction that takes
/// the ledger lock once, stages each change in arrival order, writes the ledger head once and is flushed once; each
/// change is answered when its group has committed, so a 2xx still means it is durable.
/// </summary>
/// <remarks>
/// <para>A group holds the ledger lock while it takes its changes' row locks, the reverse of a lone change's order
/// (its customer first, the ledger last). So that the two never wait for each other, the group waits for no row lock
/// on PostgreSQL (<c>lock_timeout</c>): a lock held elsewhere fails the group.</para>
/// <para>A failed group is rolled back whole and each of its changes is committed again on its own, in arrival order,
/// with the lone path's retry on conflict: a change that fails again fails only its own request, with its own error.</para>
/// <para>Instances each group their own changes; between instances and lone writers the ledger lock orders them, as before.</para>
/// </remarks>
public sealed class GroupCommit(IServiceScopeFactory scopes, IOptions<LedgerOptions> options, ILogger<GroupCommit> logger) : BackgroundService
{
    /// <summary>How long a group waits for a row lock another transaction holds before it gives up (PostgreSQL).</summary>
    const string LockTimeout = "50ms";

    sealed record Waiting(Submission Submission, TaskCompletionSource<SubmitOutcome> Answer);

    readonly Channel<Waiting> queue = Channel.CreateUnbounded<Waiting>();
    volatile bool running;
    volatile int committing;
    long groups;
    long changes;

    /// <summary>
    /// Commits made for queued changes since start and the changes they held: a change committed alone (a group of one,
    /// or after its group failed) counts as a commit of one; a failed group counts in neither.
    /// </summary>
    public (long Groups, long Changes) Committed => (Interlocked.Read(ref groups), Interlocked.Read(ref changes));

    /// <summary>Changes queued and not yet taken into a group.</summary>
    public int Queued => queue.Reader.Count;

    /// <summary>Changes of the group being committed now.</summary>
    public int Committing => committing;

    /// <summary>The answer to come for a change queued to be committed in a group; null when groups are off or stopped.</summary>
    public Task<SubmitOutcome>? TryQueue(Submission submission)
    {
        if (!running) return null;
        var waiting = new Waiting(submission, new TaskCompletionSource<SubmitOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        return queue.Writer.TryWrite(waiting) ? waiting.Answer.Task : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.GroupCommit) return;
        running = true;
        var max = options.Value.GroupCommitMaxChanges;
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var group = new List<Waiting>(max);
                while (group.Count < max && queue.Reader.TryRead(out var waiting)) group.Add(waiting);
                committing = group.Count;
                await CommitAsync(group);
                committing = 0;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Changes queued before the door closed are committed one by one; later ones go alone from the start.
            running = false;
            queue.Writer.TryComplete();
            var left = new List<Waiting>();
            while (queue.Reader.TryRead(out var waiting)) left.Add(waiting);
            await CommitAloneAsync(left);
        }
    }

    async Task CommitAsync(List<Waiting> group)
    {
        if (group.Count == 1)
        {
            await CommitAloneAsync(group);
            return;
        }
        List<SubmitOutcome> outcomes;
        try
        {
            outcomes = await CommitTogetherAsync(group);
        }
        catch (Exception e)
        {
            // A lock held elsewhere is expected beside lone writers of the same records: not a fault, so no stack.
            if (DbErrors.IsLockTimeout(e))
                logger.LogInformation("A group of {Count} changes met a row lock held elsewhere; each is committed on its own", group.Count);
            else
                logger.LogWarning(e, "A group of {Count} changes could not be committed; each is committed on its own", group.Count);
            await CommitAloneAsync(group);
            return;
        }
        Interlocked.Increment(ref groups);
        Interlocked.Add(ref changes, group.Count);
        for (var i = 0; i < group.Count; i++) group[i].Answer.TrySetResult(outcomes[i]);
    }

    async Task<List<SubmitOutcome>> CommitTogetherAsync(List<Waiting> group)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var db = services.GetRequiredService<ConsentDb>();
        var ledger = services.GetRequiredService<LedgerWriter>();
        var pipeline = services.GetRequiredService<SubscriptionChanges>();
        // Taken changes are committed whatever becomes of their requests: no request's cancellation stops the group.
        var ct = CancellationToken.None;
        await using var transaction = await ledger.BeginGroupAsync(ct);
        if (db.Database.IsNpgsql())
            await db.Database.ExecuteSqlRawAsync($"SET LOCAL lock_timeout = '{LockTimeout}'", ct);
        var outcomes = new List<SubmitOutcome>(group.Count);
        foreach (var waiting in group) outcomes.Add(await pipeline.StageInGroupAsync(waiting.Submission, ct));
        await ledger.SaveGroupHeadAsync(ct);
        await transaction.CommitAsync(ct);
        pipeline.Committed();
        return outcomes;
    }

    /// <summary>Commits each change in a transaction of its own, in order, and answers it.</summary>
    async Task CommitAloneAsync(List<Waiting> alone)
    {
        foreach (var waiting in alone)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var outcome = await scope.ServiceProvider.GetRequiredService<SubscriptionChanges>().SubmitAloneAsync(waiting.Submission, CancellationToken.None);
                if (outcome is SubmitOutcome.Accepted)
                {
                    Interlocked.Increment(ref groups);
                    Interlocked.Increment(ref changes);
                }
                waiting.Answer.TrySetResult(outcome);
            }
            catch (Exception e)
            {
                waiting.Answer.TrySetException(e);
            }
        }
    }
}
