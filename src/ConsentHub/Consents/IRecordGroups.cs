namespace ConsentHub.Consents;

/// <summary>
/// Which records are the same person: the question the write pipeline's reactions ask (propagation tells every record of
/// a person), answered by the clusters. Its methods read in the caller's transaction.
/// </summary>
public interface IRecordGroups
{
    /// <summary>The records of the record's cluster within its context, itself included; alone, just itself.</summary>
    Task<List<RecordKey>> ContextGroupAsync(string nmsc, RecordKey record, CancellationToken ct);

    /// <summary>The records among <paramref name="records"/> that are in a cluster, read at once (a batch's).</summary>
    Task<HashSet<RecordKey>> ClusteredAsync(string nmsc, IReadOnlyCollection<RecordKey> records, CancellationToken ct);

    /// <summary>Locks the records that exist among <paramref name="records"/>, as a change of one of them locks it.</summary>
    Task LockRecordsAsync(string nmsc, IReadOnlyList<RecordKey> records, CancellationToken ct);

    /// <summary>The members of a cluster, in one context or (null) in all.</summary>
    Task<List<RecordKey>> MembersAsync(string nmsc, string clusterId, string? context, CancellationToken ct);
}
