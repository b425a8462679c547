using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Outbound;
using ConsentHub.Tenancy;

namespace ConsentHub.Clusters;

/// <summary>
/// Built-in matching as a step of the write pipeline: a change that sends an email or phone links its record to the
/// records of the same person, when the organisation has switched matching on. It stages first, so that propagation,
/// which tells every record of the cluster, sees the cluster as the change leaves it.
/// </summary>
public sealed class BuiltInMatchingReaction(ConsentDb db, LedgerWriter ledger, TenancyCache tenancy) : IChangeReaction
{
    public int Order => 10;

    public async Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct)
    {
        // A batch is one organisation's: its switch is read once, not once a record.
        var switchedOn = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            var customer = change.Customer;
            if (change.Change.Communication is null || (customer.EmailKey is null && customer.PhoneKey is null)) continue;
            if (!switchedOn.TryGetValue(customer.Nmsc, out var on))
            {
                var settings = await tenancy.SettingsAsync(db, customer.Nmsc, ct)
                    ?? throw new InvalidOperationException($"Organisation '{customer.Nmsc}' of customer {customer.Id} is missing.");
                switchedOn[customer.Nmsc] = on = settings.BuiltInMatching;
            }
            if (!on) continue;
            // Matching reads other records' blind indexes: those the unit's earlier changes set must be saved to be seen.
            if (change.SharesUnitOfWork) await db.SaveChangesAsync(ct);
            if (await ClusterMatching.LinkAsync(db, customer, change.At, ct) is not { } match) continue;
            change.Keep(match);
            change.LinkedToCluster = match.ClusterId;
        }
    }

    /// <summary>Its own entry follows the change's, naming what matching linked and merged; the change log says so too.</summary>
    public void Ledgered(AppliedChange change, LedgerEntry applied)
    {
        if (change.Kept<MatchResult>() is not { } match) return;
        var entry = ledger.Append(ClusterEvents.ClusterMatched, new
        {
            changeRequestId = change.Request.Id, clusterId = match.ClusterId, mergedClusters = match.MergedClusters, linkedRecords = match.LinkedRecords,
        });
        ChangeLog.AddMatched(db, entry, change.Customer, match.ClusterId, match.MergedClusters, change.At);
    }
}
