using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Clusters;

public static class ClusterEvents
{
    public const string ClusterFeedRegistered = "cluster-feed-registered";
    public const string ClusterUpdated = "cluster-updated";
    public const string ClusterDeleted = "cluster-deleted";
    /// <summary>Built-in matching linked records that share a normalised email.</summary>
    public const string ClusterMatched = "cluster-matched";
}

/// <summary>Reads and replaces a cluster's membership; each replacement is one transaction with its ledger entry.</summary>
public static class ClusterMembership
{
    /// <summary>The customer records the hub knows among <paramref name="keys"/> (all of one context).</summary>
    public static async Task<List<Customer>> CustomersAsync(ConsentDb db, string nmsc, string context, IReadOnlyCollection<RecordKey> keys, CancellationToken ct)
    {
        if (keys.Count == 0) return [];
        var ids = keys.Select(k => k.SourceCustomerId).Distinct().ToList();
        var wanted = keys.ToHashSet();
        return (await db.Customers.AsNoTracking()
                .Where(c => c.Nmsc == nmsc && c.Context == context && ids.Contains(c.SourceCustomerId))
                .ToListAsync(ct))
            .Where(c => wanted.Contains(RecordKey.Of(c)))
            .ToList();
    }

    static readonly ProviderQuery<Func<ConsentDb, string, string, string, string, CancellationToken, Task<string?>>> ClusterOf = new(() =>
        EF.CompileAsyncQuery((ConsentDb db, string nmsc, string context, string sourceSystem, string sourceCustomerId, CancellationToken ct) =>
            db.ClusterMembers.AsNoTracking()
                .Where(m => m.Nmsc == nmsc && m.Context == context && m.SourceSystem == sourceSystem && m.SourceCustomerId == sourceCustomerId)
                .Select(m => m.ClusterId).SingleOrDefault()));

    /// <summary>The cluster <paramref name="record"/> belongs to now, or null.</summary>
    public static Task<string?> ClusterIdAsync(ConsentDb db, string nmsc, RecordKey record, CancellationToken ct) =>
        ClusterOf.For(db)(db, nmsc, record.Context, record.SourceSystem, record.SourceCustomerId, ct);

    /// <summary>The records among <paramref name="records"/> that belong to a cluster now, in one query.</summary>
    public static async Task<HashSet<RecordKey>> ClusteredAsync(ConsentDb db, string nmsc, IReadOnlyCollection<RecordKey> records, CancellationToken ct)
    {
        if (records.Count == 0) return [];
        var ids = records.Select(r => r.SourceCustomerId).Distinct().ToList();
        var wanted = records.ToHashSet();
        return (await db.ClusterMembers.AsNoTracking()
                .Where(m => m.Nmsc == nmsc && ids.Contains(m.SourceCustomerId))
                .Select(m => new { m.Context, m.SourceSystem, m.SourceCustomerId })
                .ToListAsync(ct))
            .Select(m => new RecordKey(m.Context, m.SourceSystem, m.SourceCustomerId))
            .Where(wanted.Contains)
            .ToHashSet();
    }

    /// <summary>The records of <paramref name="record"/>'s cluster within its own context, itself included.</summary>
    public static async Task<List<RecordKey>> ContextGroupAsync(ConsentDb db, string nmsc, RecordKey record, CancellationToken ct)
    {
        var clusterId = await ClusterIdAsync(db, nmsc, record, ct);
        if (clusterId is null) return [record];
        var members = await MembersAsync(db, nmsc, clusterId, record.Context, ct);
        if (!members.Contains(record)) members.Add(record);
        return members;
    }

    /// <summary>
    /// On PostgreSQL, locks the customer rows of these records (those the hub knows) in id order, so that a cluster
    /// change and a change of subscription data of the same records take turns. SQLite has one writer anyway.
    /// </summary>
    public static async Task LockRecordsAsync(ConsentDb db, string nmsc, IReadOnlyCollection<RecordKey> records, CancellationToken ct)
    {
        if (db.Provider != DatabaseProvider.Postgres || records.Count == 0) return;
        var wanted = records.ToHashSet();
        var ids = records.Select(r => r.SourceCustomerId).Distinct().ToList();
        var keys = (await db.Customers.AsNoTracking()
                .Where(c => c.Nmsc == nmsc && ids.Contains(c.SourceCustomerId))
                .Select(c => new { c.Id, c.Context, c.SourceSystem, c.SourceCustomerId })
                .ToListAsync(ct))
            .Where(c => wanted.Contains(new RecordKey(c.Context, c.SourceSystem, c.SourceCustomerId)))
            .Select(c => c.Id)
            .Order()
            .ToArray();
        if (keys.Length == 0) return;
        await db.Customers.Where(c => keys.Contains(c.Id)).OrderBy(c => c.Id).Select(c => c.Id).ForUpdate(db).ToListAsync(ct);
    }

    /// <summary>
    /// Makes <paramref name="members"/> the whole cluster. Records that were in another cluster move here. Every record
    /// whose consolidated data changes with it is sent the difference (see <see cref="PropagationPlanner"/>).
    /// </summary>
    /// <returns>The cluster as it now is, and whether it is new.</returns>
    public static async Task<(ClusterView View, bool Created)> ReplaceAsync(
        ConsentDb db, LedgerWriter ledger, PropagationPlanner planner, TimeProvider time, string nmsc, string clusterId,
        IReadOnlyList<RecordKey> members, CancellationToken ct)
    {
        // A change of one of these records or a concurrent feed of the same records may win: then it starts again.
        return await ConflictRetry.RunAsync(db, () => TryReplaceAsync(db, ledger, planner, time, nmsc, clusterId, members, ct), planner.Reset);
    }

    static async Task<(ClusterView View, bool Created)> TryReplaceAsync(
        ConsentDb db, LedgerWriter ledger, PropagationPlanner planner, TimeProvider time, string nmsc, string clusterId,
        IReadOnlyList<RecordKey> members, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var now = time.Now();
        var current = await db.ClusterMembers.Where(m => m.Nmsc == nmsc && m.ClusterId == clusterId).ToListAsync(ct);
        var wanted = members.ToHashSet();
        var ids = members.Select(m => m.SourceCustomerId).Distinct().ToList();
        // Narrowed by customer id in SQL, by the whole key here: the same id may exist in other systems.
        var named = (await db.ClusterMembers.Where(m => m.Nmsc == nmsc && ids.Contains(m.SourceCustomerId)).ToListAsync(ct))
            .Where(m => wanted.Contains(KeyOf(m)))
            .ToDictionary(KeyOf);

        var movedFrom = named.Values.Where(m => m.ClusterId != clusterId).Select(m => m.ClusterId).Distinct().Order(StringComparer.Ordinal).ToList();
        // Whose consolidated data may change: the members before and after, and those left behind where records moved from.
        var leftBehind = movedFrom.Count == 0 ? [] : (await db.ClusterMembers.AsNoTracking()
                .Where(m => m.Nmsc == nmsc && movedFrom.Contains(m.ClusterId)).ToListAsync(ct))
            .Where(m => !wanted.Contains(KeyOf(m))).ToList();
        var removed = current.Where(m => !wanted.Contains(KeyOf(m))).ToList();
        await LockRecordsAsync(db, nmsc, [.. members, .. removed.Select(KeyOf), .. leftBehind.Select(KeyOf)], ct);

        db.ClusterMembers.RemoveRange(removed);
        foreach (var gone in removed) ClusterHistory.Record(db, nmsc, KeyOf(gone), null, now);
        foreach (var key in members)
        {
            if (named.TryGetValue(key, out var row))
            {
                if (row.ClusterId == clusterId) continue;
                row.ClusterId = clusterId;
                row.UpdatedAt = now;
            }
            else
            {
                db.ClusterMembers.Add(new ClusterMember
                {
                    Nmsc = nmsc, ClusterId = clusterId, Context = key.Context, SourceSystem = key.SourceSystem,
                    SourceCustomerId = key.SourceCustomerId, UpdatedAt = now,
                });
            }
            ClusterHistory.Record(db, nmsc, key, clusterId, now);
        }

        await planner.PlanAsync(nmsc, members, PropagationCause.Cluster, null, now, ct);
        foreach (var alone in removed) await planner.PlanAsync(nmsc, [KeyOf(alone)], PropagationCause.Cluster, null, now, ct);
        foreach (var rest in leftBehind.GroupBy(m => m.ClusterId))
            await planner.PlanAsync(nmsc, [.. rest.Select(KeyOf)], PropagationCause.Cluster, null, now, ct);

        await ledger.LockHeadAsync(ct);
        var entry = ledger.Append(ClusterEvents.ClusterUpdated, new
        {
            nmsc, clusterId, memberCount = members.Count, members = Sorted(members).Select(Member), movedFrom,
            propagatedTo = planner.StagedTargets(),
        });
        Outbound.ChangeLog.AddCluster(db, entry, nmsc, clusterId, members, now);
        planner.Stamp(entry);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return (View(nmsc, clusterId, members), current.Count == 0);
    }

    /// <returns>False when the cluster has no members (is unknown).</returns>
    public static async Task<bool> DeleteAsync(ConsentDb db, LedgerWriter ledger, PropagationPlanner planner, TimeProvider time,
        string nmsc, string clusterId, CancellationToken ct)
    {
        return await ConflictRetry.RunAsync(db, () => TryDeleteAsync(db, ledger, planner, time, nmsc, clusterId, ct), planner.Reset);
    }

    static async Task<bool> TryDeleteAsync(ConsentDb db, LedgerWriter ledger, PropagationPlanner planner, TimeProvider time,
        string nmsc, string clusterId, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var rows = await db.ClusterMembers.Where(m => m.Nmsc == nmsc && m.ClusterId == clusterId).ToListAsync(ct);
        if (rows.Count == 0) return false;
        await LockRecordsAsync(db, nmsc, [.. rows.Select(KeyOf)], ct);
        db.ClusterMembers.RemoveRange(rows);
        var now = time.Now();
        // Each record is a cluster of one again.
        foreach (var row in rows)
        {
            ClusterHistory.Record(db, nmsc, KeyOf(row), null, now);
            await planner.PlanAsync(nmsc, [KeyOf(row)], PropagationCause.Cluster, null, now, ct);
        }
        await ledger.LockHeadAsync(ct);
        var entry = ledger.Append(ClusterEvents.ClusterDeleted, new
        {
            nmsc, clusterId, memberCount = rows.Count, members = Sorted(rows.Select(KeyOf)).Select(Member), propagatedTo = planner.StagedTargets(),
        });
        Outbound.ChangeLog.AddCluster(db, entry, nmsc, clusterId, rows.Select(KeyOf), now, deleted: true);
        planner.Stamp(entry);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>The members of a cluster, optionally only those of one context; empty when the cluster is unknown.</summary>
    public static async Task<List<RecordKey>> MembersAsync(ConsentDb db, string nmsc, string clusterId, string? context, CancellationToken ct)
    {
        var query = db.ClusterMembers.AsNoTracking().Where(m => m.Nmsc == nmsc && m.ClusterId == clusterId);
        if (context is not null) query = query.Where(m => m.Context == context);
        return Sorted((await query.ToListAsync(ct)).Select(KeyOf)).ToList();
    }

    public static ClusterView View(string nmsc, string clusterId, IEnumerable<RecordKey> members) => new(
        clusterId, nmsc,
        Sorted(members).Select(m => new ClusterMemberView(m.Context, m.SourceSystem, m.SourceCustomerId)).ToList(),
        new Dictionary<string, HalLink> { ["self"] = new(PathOf(nmsc, clusterId)) });

    public static string PathOf(string nmsc, string clusterId) => $"/nmscs/{Uri.EscapeDataString(nmsc)}/clusters/{Uri.EscapeDataString(clusterId)}";

    public static RecordKey KeyOf(ClusterMember m) => new(m.Context, m.SourceSystem, m.SourceCustomerId);

    static IEnumerable<RecordKey> Sorted(IEnumerable<RecordKey> members) => members
        .OrderBy(m => m.Context, StringComparer.Ordinal)
        .ThenBy(m => m.SourceSystem, StringComparer.Ordinal)
        .ThenBy(m => m.SourceCustomerId, StringComparer.Ordinal);

    static object Member(RecordKey m) => new { context = m.Context, sourceSystem = m.SourceSystem, sourceCustomerId = m.SourceCustomerId };
}
