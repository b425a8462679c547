using System.Threading.Channels;
using ConsentHub.Data;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Consents;

/// <summary>
/// Commits the changes that arrive at one instance at the same moment together (issue 20 §2): one transaction stages
/// each change in arrival order, then takes the ledger lock once, appends their entries, writes the ledger head once and
/// is flushed once; each change is answered when its group has committed, so a 2xx still means it is durable.
/// </summary>
/// <remarks>
/// <para>Several committers (<see cref="LedgerOptions.GroupCommitters"/>) each stage a group of their own at once; a
/// record's changes always go to the same committer. A group takes its locks in a lone change's order, its records
/// first and the ledger last, so the ledger lock is held only while the group's entries are appended, saved and
/// flushed. The group waits for no row lock held elsewhere on PostgreSQL (<c>lock_timeout</c>): such a lock fails the
/// group, whose changes then commit alone rather than wait with it.</para>
/// <para>A group never holds two changes of one record, and a change whose record is in a cluster starts a group of
/// its own (<see cref="UnitOfWorkOverlap"/>): a group reads each record's state once, before any of its changes is
/// saved.</para>
/// <para>A failed group is rolled back whole and each of its changes is committed again on its own, in arrival order,
/// with the lone path's retry on conflict: a change that fails again fails only its own request, with its own error.</para>
/// <para>Instances each group their own changes; between instances and lone writers the ledger lock orders them, as before.</para>
/// </remarks>
public sealed class GroupCommit(IServiceScopeFactory scopes, IOptions<LedgerOptions> options, ILogger<GroupCommit> logger) : BackgroundService
{
    /// <summary>How long a group waits for a row lock another transaction holds before it gives up (PostgreSQL).</summary>
    const string LockTimeout = "50ms";

    sealed record Waiting(Submission Submission, TaskCompletionSource<SubmitOutcome> Answer)
    {
        public (long, string) Record => (Submission.SourceSystem.Id, Submission.SourceCustomerId);
    }

    /// <summary>One queue per committer; a record's changes always go to the same one, so they commit in arrival order.</summary>
    readonly Channel<Waiting>[] queues = [.. Enumerable.Range(0, options.Value.GroupCommitters).Select(_ => Channel.CreateUnbounded<Waiting>())];
    volatile bool running;
    int committing;
    long groups;
    long changes;

    /// <summary>
    /// Commits made for queued changes since start and the changes they held: a change committed alone (a group of one,
    /// or after its group failed) counts as a commit of one; a failed group counts in neither.
    /// </summary>
    public (long Groups, long Changes) Committed => (Interlocked.Read(ref groups), Interlocked.Read(ref changes));

    /// <summary>Changes queued and not yet taken into a group.</summary>
    public int Queued => queues.Sum(q => q.Reader.Count);

    /// <summary>Changes of the groups being committed now.</summary>
    public int Committing => Volatile.Read(ref committing);

    /// <summary>The answer to come for a change queued to be committed in a group; null when groups are off or stopped.</summary>
    public Task<SubmitOutcome>? TryQueue(Submission submission)
    {
        if (!running) return null;
        var waiting = new Waiting(submission, new TaskCompletionSource<SubmitOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        var queue = queues[(int)((uint)HashCode.Combine(waiting.Record.Item1, waiting.Record.Item2) % (uint)queues.Length)];
        return queue.Writer.TryWrite(waiting) ? waiting.Answer.Task : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.GroupCommit) return;
        running = true;
        try
        {
            await Task.WhenAll(queues.Select(queue => Task.Run(() => CommitQueuedAsync(queue, stoppingToken), CancellationToken.None)));
        }
        finally
        {
            // Changes queued before the door closed are committed one by one; later ones go alone from the start.
            running = false;
            var left = new List<Waiting>();
            foreach (var queue in queues)
            {
                queue.Writer.TryComplete();
                while (queue.Reader.TryRead(out var waiting)) left.Add(waiting);
            }
            await CommitAloneAsync(left);
        }
    }

    /// <summary>
    /// One committer: takes what is queued into a group, up to the maximum and never two changes of one record (the
    /// second waits for the next group, since a group reads each record once), and commits it.
    /// </summary>
    async Task CommitQueuedAsync(Channel<Waiting> queue, CancellationToken stoppingToken)
    {
        var max = options.Value.GroupCommitMaxChanges;
        Waiting? next = null;
        try
        {
            while (next is not null || await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var group = new List<Waiting>(max);
                var records = new HashSet<(long, string)>();
                if (next is not null)
                {
                    group.Add(next);
                    records.Add(next.Record);
                    next = null;
                }
                while (group.Count < max && queue.Reader.TryRead(out var waiting))
                {
                    if (records.Add(waiting.Record)) group.Add(waiting);
                    else
                    {
                        next = waiting;
                        break;
                    }
                }
                Interlocked.Add(ref committing, group.Count);
                try
                {
                    await CommitAsync(group);
                }
                finally
                {
                    Interlocked.Add(ref committing, -group.Count);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        if (next is not null) await CommitAloneAsync([next]);
    }

    async Task CommitAsync(List<Waiting> group)
    {
        if (group.Count == 1)
        {
            await CommitAloneAsync(group);
            return;
        }
        List<SubmitOutcome>? outcomes;
        int splitAt;
        try
        {
            (outcomes, splitAt) = await CommitTogetherAsync(group);
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
        if (outcomes is null)
        {
            // A change that reaches other records (a cluster) starts a group of its own; those before it commit first.
            await CommitAsync(group[..splitAt]);
            await CommitAsync(group[splitAt..]);
            return;
        }
        Interlocked.Increment(ref groups);
        Interlocked.Add(ref changes, group.Count);
        for (var i = 0; i < group.Count; i++) group[i].Answer.TrySetResult(outcomes[i]);
    }

    /// <summary>
    /// One transaction for the group, in the lone path's lock order: each change's record (and cluster) first, without
    /// waiting on a row lock held elsewhere; the ledger lock last, held for the entries, the save and the commit only, so
    /// that other committers stage their groups meanwhile.
    /// </summary>
    async Task<(List<SubmitOutcome>? Outcomes, int SplitAt)> CommitTogetherAsync(List<Waiting> group)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var db = services.GetRequiredService<ConsentDb>();
        var ledger = services.GetRequiredService<LedgerWriter>();
        var pipeline = services.GetRequiredService<SubscriptionChanges>();
        // Taken changes are committed whatever becomes of their requests: no request's cancellation stops the group.
        var ct = CancellationToken.None;
        var postgres = db.Database.IsNpgsql();
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        if (postgres) await db.Database.ExecuteSqlRawAsync($"SET LOCAL lock_timeout = '{LockTimeout}'", ct);
        var (outcomes, splitAt) = await pipeline.StageGroupAsync([.. group.Select(w => w.Submission)], async () =>
        {
            // The ledger lock is waited for as long as it takes, as a lone change waits for it.
            if (postgres) await db.Database.ExecuteSqlRawAsync("SET LOCAL lock_timeout = DEFAULT", ct);
        }, ct);
        if (outcomes is null) return (null, splitAt);
        await transaction.CommitAsync(ct);
        pipeline.Committed();
        return (outcomes, splitAt);
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
