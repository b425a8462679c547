namespace ConsentHub.Consents;

/// <summary>
/// One customer record, named as the source systems name it: its context, its source system and its id there. Clusters
/// list their members by it, propagation addresses records by it, and a record may be named before the hub has seen it.
/// </summary>
public readonly record struct RecordKey(string Context, string SourceSystem, string SourceCustomerId)
{
    /// <summary>The key of a stored record.</summary>
    public static RecordKey Of(Customer customer) => new(customer.Context, customer.SourceSystem, customer.SourceCustomerId);
}
