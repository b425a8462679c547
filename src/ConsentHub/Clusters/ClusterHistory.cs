using ConsentHub.Consents;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Clusters;

/// <summary>
/// One change of one record's cluster membership, written beside the change itself: the record joined or moved to
/// <see cref="ClusterId"/>, or left every cluster (null). Append-only, so the membership of any past instant can be
/// read back (seed 004 §2.4: the cluster used for a decision is part of its record).
/// </summary>
public sealed class ClusterMembershipChange
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SourceCustomerId { get; set; }
    public string? ClusterId { get; set; }
    public DateTime At { get; set; }
}

sealed class ClusterMembershipChangeConfiguration : IEntityTypeConfiguration<ClusterMembershipChange>
{
    public void Configure(EntityTypeBuilder<ClusterMembershipChange> b)
    {
        b.ToTable("cluster_membership_history");
        b.HasIndex(c => new { c.Nmsc, c.Context, c.SourceSystem, c.SourceCustomerId, c.At });
        b.HasIndex(c => new { c.Nmsc, c.ClusterId, c.At });
        b.Property(c => c.Nmsc).HasMaxLength(64);
        b.Property(c => c.ClusterId).HasMaxLength(ClusterRules.MaxClusterIdLength);
        b.Property(c => c.Context).HasMaxLength(64);
        b.Property(c => c.SourceSystem).HasMaxLength(64);
        b.Property(c => c.SourceCustomerId).HasMaxLength(200);
    }
}

/// <summary>Writes and reads the membership history. Memberships older than the history count from their last update.</summary>
public static class ClusterHistory
{
    static IQueryable<ClusterMembershipChange> Changes(ConsentDb db) => db.Set<ClusterMembershipChange>().AsNoTracking();

    /// <summary>Stages the record's new membership (null: it left its cluster) in the caller's unit of work.</summary>
    public static void Record(ConsentDb db, string nmsc, RecordKey record, string? clusterId, DateTime at) =>
        db.Set<ClusterMembershipChange>().Add(new ClusterMembershipChange
        {
            Nmsc = nmsc, Context = record.Context, SourceSystem = record.SourceSystem, SourceCustomerId = record.SourceCustomerId,
            ClusterId = clusterId, At = at,
        });

    /// <summary>The cluster <paramref name="record"/> belonged to at <paramref name="at"/>, or null.</summary>
    public static async Task<string?> ClusterAtAsync(ConsentDb db, string nmsc, RecordKey record, DateTime at, CancellationToken ct)
    {
        var changes = await Changes(db)
            .Where(c => c.Nmsc == nmsc && c.Context == record.Context && c.SourceSystem == record.SourceSystem
                && c.SourceCustomerId == record.SourceCustomerId)
            .ToListAsync(ct);
        if (changes.Count > 0) return Latest(changes, at)?.ClusterId;
        // A membership from before the history was kept.
        return await db.ClusterMembers.AsNoTracking()
            .Where(m => m.Nmsc == nmsc && m.Context == record.Context && m.SourceSystem == record.SourceSystem
                && m.SourceCustomerId == record.SourceCustomerId && m.UpdatedAt <= at)
            .Select(m => m.ClusterId).SingleOrDefaultAsync(ct);
    }

    /// <summary>The records of one context that were members of <paramref name="clusterId"/> at <paramref name="at"/>.</summary>
    public static async Task<List<RecordKey>> MembersAtAsync(
        ConsentDb db, string nmsc, string clusterId, string context, DateTime at, CancellationToken ct)
    {
        var joined = (await Changes(db)
                .Where(c => c.Nmsc == nmsc && c.ClusterId == clusterId && c.Context == context && c.At <= at)
                .Select(c => new { c.SourceSystem, c.SourceCustomerId }).Distinct().ToListAsync(ct))
            .Select(c => new RecordKey(context, c.SourceSystem, c.SourceCustomerId));
        var current = (await db.ClusterMembers.AsNoTracking()
                .Where(m => m.Nmsc == nmsc && m.ClusterId == clusterId && m.Context == context)
                .Select(m => new { m.SourceSystem, m.SourceCustomerId, m.UpdatedAt }).ToListAsync(ct))
            .Select(m => (Key: new RecordKey(context, m.SourceSystem, m.SourceCustomerId), m.UpdatedAt)).ToList();
        var candidates = joined.Concat(current.Select(c => c.Key)).ToHashSet();
        if (candidates.Count == 0) return [];

        // Each candidate's own history decides; narrowed by customer id in SQL, by the whole key here.
        var ids = candidates.Select(c => c.SourceCustomerId).Distinct().ToList();
        var histories = (await Changes(db)
                .Where(c => c.Nmsc == nmsc && c.Context == context && ids.Contains(c.SourceCustomerId))
                .ToListAsync(ct))
            .GroupBy(c => new RecordKey(c.Context, c.SourceSystem, c.SourceCustomerId))
            .Where(g => candidates.Contains(g.Key))
            .ToDictionary(g => g.Key, g => g.ToList());
        var members = new List<RecordKey>();
        foreach (var candidate in candidates)
        {
            var member = histories.TryGetValue(candidate, out var changes)
                ? Latest(changes, at)?.ClusterId == clusterId
                : current.Any(c => c.Key == candidate && c.UpdatedAt <= at);
            if (member) members.Add(candidate);
        }
        return members;
    }

    static ClusterMembershipChange? Latest(List<ClusterMembershipChange> changes, DateTime at) =>
        changes.Where(c => c.At <= at).OrderBy(c => c.At).ThenBy(c => c.Id).LastOrDefault();
}
