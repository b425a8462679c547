using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;

namespace ConsentHub.Propagation;

/// <summary>
/// Propagation's step in the write pipeline: an applied change stages a PROPAGATED message for every record of the
/// person (<see cref="IRecordGroups"/>) whose system is registered and whose consolidated data changed; its
/// "change-applied" entry names them, and the messages carry that entry's index.
/// </summary>
public sealed class ChangePropagation(ConsentDb db, PropagationPlanner planner, IRecordGroups groups, PropagationSignal signal) : IChangeReaction
{
    /// <summary>After built-in matching, whose cluster it reads.</summary>
    public int Order => 50;

    /// <summary>Whether this unit of work applied a change, which wakes the dispatcher once it commits.</summary>
    bool applied;

    public async Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct)
    {
        applied = true;
        var propagated = changes.Where(c => c.Propagate).ToList();
        var alone = propagated.Count > 1 ? await AloneAsync(propagated, ct) : [];
        foreach (var change in propagated)
        {
            await PlanAsync(change, alone.Contains(change), ct);
            var staged = planner.TakeStaged();
            // Planned on a group's committer, maybe: the trace is the request's that submitted the change.
            if (change.TraceParent is { } trace)
                foreach (var planned in staged.Planned) planned.Message.TraceParent = trace;
            change.Keep(staged);
        }
    }

    /// <summary>
    /// For a batch: its changes whose records are in no cluster, found with one query per organisation and context,
    /// and what was last sent to them read with one more, so that planning each of them reads nothing. A record in a
    /// cluster, when the batch shares its unit of work, refuses the batch at once (<see cref="UnitOfWorkOverlap"/>).
    /// </summary>
    async Task<HashSet<AppliedChange>> AloneAsync(List<AppliedChange> changes, CancellationToken ct)
    {
        var alone = new HashSet<AppliedChange>();
        foreach (var batch in changes.Where(c => c.LinkedToCluster is null).GroupBy(c => (c.Customer.Nmsc, c.Customer.Context)))
        {
            var (nmsc, context) = batch.Key;
            var keys = batch.Select(c => RecordKey.Of(c.Customer)).ToList();
            var clustered = await groups.ClusteredAsync(nmsc, keys, ct);
            var clusteredChange = batch.FirstOrDefault(c => clustered.Contains(RecordKey.Of(c.Customer)));
            if (clusteredChange is { SharesUnitOfWork: true })
                throw new UnitOfWorkOverlap($"The record of change request {clusteredChange.Request.Id} is in a cluster.", clusteredChange.Request.Id);
            var lone = batch.Where(c => !clustered.Contains(RecordKey.Of(c.Customer))).ToList();
            var targets = await planner.TargetSystemsAsync(nmsc, context, keys, ct);
            await planner.PreloadSentAsync([.. lone
                .Where(c => targets.ContainsKey(c.Customer.SourceSystem))
                .Select(c => (targets[c.Customer.SourceSystem], c.Customer.SourceCustomerId))], ct);
            alone.UnionWith(lone);
        }
        return alone;
    }

    /// <summary>
    /// The other records of the cluster are locked first, so a concurrent change of one of them or of the cluster is
    /// either seen here or sees this one.
    /// </summary>
    /// <param name="alone">The record is known to be alone in its cluster (<see cref="AloneAsync"/>).</param>
    async Task PlanAsync(AppliedChange change, bool alone, CancellationToken ct)
    {
        var (request, customer, now) = (change.Request, change.Customer, change.At);
        // Built-in matching staged its cluster change; the membership read below must see it.
        if (change.LinkedToCluster is not null) await db.SaveChangesAsync(ct);
        var own = RecordKey.Of(customer);
        // Every registered system of the cluster is told: by webhook, or through its pull feed when it has no destination.
        var group = alone ? [own] : await groups.ContextGroupAsync(customer.Nmsc, own, ct);
        // The states of the other records are read below: a change of one of them staged earlier in the unit is not saved.
        if (change.SharesUnitOfWork && (group.Count > 1 || change.LinkedToCluster is not null))
            throw new UnitOfWorkOverlap($"The record of change request {request.Id} is in a cluster.", request.Id);
        var targets = await planner.TargetSystemsAsync(customer.Nmsc, customer.Context, group, ct);
        if (targets.Count > 0)
        {
            if (group.Count > 1) await groups.LockRecordsAsync(customer.Nmsc, [.. group.Where(m => m != own)], ct);
            await planner.PlanContextAsync(customer.Nmsc, customer.Context, group, targets, PropagationCause.Change(request),
                new Dictionary<RecordKey, SubscriptionState> { [own] = change.State }, now, ct);
        }
        // Matching may have merged clusters that reach into other contexts: their records' consolidation changed too.
        if (change.LinkedToCluster is { } clusterId)
        {
            var elsewhere = (await groups.MembersAsync(customer.Nmsc, clusterId, context: null, ct)).Where(m => m.Context != customer.Context).ToList();
            if (elsewhere.Count > 0) await planner.PlanAsync(customer.Nmsc, elsewhere, PropagationCause.Cluster, null, now, ct);
        }
    }

    public void Describe(AppliedChange change, IDictionary<string, object> entry)
    {
        if (change.Kept<StagedMessages>()?.Targets is { Count: > 0 } targets) entry["propagatedTo"] = targets;
    }

    public void Ledgered(AppliedChange change, LedgerEntry applied)
    {
        if (change.Kept<StagedMessages>() is { } messages) planner.Stamp(messages, applied);
    }

    public void Committed()
    {
        if (applied) signal.Notify();
        applied = false;
    }

    public void Reset()
    {
        applied = false;
        planner.Reset();
    }
}
