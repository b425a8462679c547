using ConsentHub.Consents;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Clusters;

/// <summary>What built-in matching changed, for its ledger entry.</summary>
public sealed record MatchResult(string ClusterId, IReadOnlyList<string> MergedClusters, int LinkedRecords);

/// <summary>
/// Built-in matching, switched on per organisation: records of one organisation that share a normalised email
/// or a phone in E.164 form are the same person. Linking a record joins its matches' cluster; clusters it
/// bridges are merged into one.
/// </summary>
public static class ClusterMatching
{
    /// <summary>
    /// Stages the cluster changes in the caller's transaction; the caller records the result in the ledger. Called only
    /// for an organisation that has switched built-in matching on.
    /// </summary>
    public static async Task<MatchResult?> LinkAsync(ConsentDb db, Customer customer, DateTime now, CancellationToken ct)
    {
        var (emailKey, phoneKey) = (customer.EmailKey, customer.PhoneKey);
        if (emailKey is null && phoneKey is null) return null;
        // Records of one person arriving at once must see each other: on PostgreSQL, whoever links by an address
        // holds a lock on it until commit, so the next one's query below sees the first one's record. (SQLite has
        // one writer at a time already.) Email before phone, always, so two of these locks never wait on each other.
        if (db.Provider == DatabaseProvider.Postgres)
        {
            foreach (var key in new[] { emailKey is null ? null : "email:" + emailKey, phoneKey is null ? null : "phone:" + phoneKey })
            {
                if (key is not null)
                    await db.Database.ExecuteSqlInterpolatedAsync($"SELECT pg_advisory_xact_lock(hashtextextended({customer.Nmsc + "|" + key}, 0))", ct);
            }
        }
        // The null checks matter: a missing key must not match every record that lacks one too.
        var matches = await db.Customers.AsNoTracking()
            .Where(c => c.Nmsc == customer.Nmsc && c.Id != customer.Id
                && ((emailKey != null && c.EmailKey == emailKey) || (phoneKey != null && c.PhoneKey == phoneKey)))
            .ToListAsync(ct);
        if (matches.Count == 0) return null;

        var records = matches.Prepend(customer).Select(RecordKey.Of).ToHashSet();
        var ids = records.Select(r => r.SourceCustomerId).Distinct().ToList();
        var memberships = (await db.ClusterMembers.Where(m => m.Nmsc == customer.Nmsc && ids.Contains(m.SourceCustomerId)).ToListAsync(ct))
            .Where(m => records.Contains(ClusterMembership.KeyOf(m))).ToList();
        var clusters = memberships.Select(m => m.ClusterId).Distinct().Order(StringComparer.Ordinal).ToList();
        var own = memberships.SingleOrDefault(m => ClusterMembership.KeyOf(m) == RecordKey.Of(customer))?.ClusterId;
        var target = own ?? clusters.FirstOrDefault() ?? "match-" + Guid.CreateVersion7().ToString("N");

        // Everyone already in a bridged cluster comes along, not only the matched records.
        var merged = clusters.Where(c => c != target).ToList();
        foreach (var member in await db.ClusterMembers.Where(m => m.Nmsc == customer.Nmsc && merged.Contains(m.ClusterId)).ToListAsync(ct))
            Move(db, member, target, now);
        var placed = memberships.Select(ClusterMembership.KeyOf).ToHashSet();
        foreach (var membership in memberships.Where(m => m.ClusterId != target)) Move(db, membership, target, now);
        foreach (var record in records.Where(r => !placed.Contains(r)))
        {
            db.ClusterMembers.Add(new ClusterMember
            {
                Nmsc = customer.Nmsc, ClusterId = target, Context = record.Context, SourceSystem = record.SourceSystem,
                SourceCustomerId = record.SourceCustomerId, UpdatedAt = now,
            });
            ClusterHistory.Record(db, customer.Nmsc, record, target, now);
        }
        return new MatchResult(target, merged, records.Count);
    }

    static void Move(ConsentDb db, ClusterMember member, string target, DateTime now)
    {
        member.ClusterId = target;
        member.UpdatedAt = now;
        ClusterHistory.Record(db, member.Nmsc, ClusterMembership.KeyOf(member), target, now);
    }
}
