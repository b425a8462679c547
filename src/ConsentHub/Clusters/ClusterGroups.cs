using ConsentHub.Consents;
using ConsentHub.Data;

namespace ConsentHub.Clusters;

/// <summary>The clusters' answer to the write pipeline's question of which records are the same person.</summary>
public sealed class ClusterGroups(ConsentDb db) : IRecordGroups
{
    public Task<List<RecordKey>> ContextGroupAsync(string nmsc, RecordKey record, CancellationToken ct) =>
        ClusterMembership.ContextGroupAsync(db, nmsc, record, ct);

    public Task<HashSet<RecordKey>> ClusteredAsync(string nmsc, IReadOnlyCollection<RecordKey> records, CancellationToken ct) =>
        ClusterMembership.ClusteredAsync(db, nmsc, records, ct);

    public Task LockRecordsAsync(string nmsc, IReadOnlyList<RecordKey> records, CancellationToken ct) =>
        ClusterMembership.LockRecordsAsync(db, nmsc, records, ct);

    public Task<List<RecordKey>> MembersAsync(string nmsc, string clusterId, string? context, CancellationToken ct) =>
        ClusterMembership.MembersAsync(db, nmsc, clusterId, context, ct);
}
