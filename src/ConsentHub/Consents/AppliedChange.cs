namespace ConsentHub.Consents;

/// <summary>
/// One change on its way to becoming the record's current state, as the write pipeline hands it to the features that
/// react to it (<see cref="IChangeReaction"/>): from just before it is applied until its transaction commits.
/// </summary>
public sealed class AppliedChange(ChangeRequest request, Customer customer, NormalisedChange change, SubscriptionState state, DateTime at, bool propagate)
{
    readonly Dictionary<Type, object> kept = [];

    public ChangeRequest Request => request;

    public Customer Customer => customer;

    public NormalisedChange Change => change;

    /// <summary>The record's state: before the change in <see cref="IChangeReaction.Applying"/>, with it afterwards.</summary>
    public SubscriptionState State => state;

    public DateTime At => at;

    /// <summary>False for a change recorded without telling any system (an upload that only bootstraps the hub).</summary>
    public bool Propagate => propagate;

    /// <summary>
    /// The cluster built-in matching linked the record into with this change, if it did: the consolidated data of that
    /// cluster's records changed with it, and the rows that say so are staged but not yet saved.
    /// </summary>
    public string? LinkedToCluster { get; set; }

    /// <summary>
    /// Other changes were staged before this one in the same unit of work (a group, <see cref="GroupCommit"/>) and are not
    /// saved yet: a reaction that reads records they may have changed saves first, and one that would reach another
    /// record's state refuses with <see cref="UnitOfWorkOverlap"/>, so that the change starts a group of its own.
    /// </summary>
    public bool SharesUnitOfWork { get; init; }

    /// <summary>The W3C traceparent of the request that submitted the change, if it was traced (what it propagates continues it).</summary>
    public string? TraceParent { get; init; }

    /// <summary>Keeps a value of a reaction's own type with the change, for a later step of the same reaction.</summary>
    public void Keep<T>(T value) where T : class => kept[typeof(T)] = value;

    /// <summary>The value of type <typeparamref name="T"/> kept with the change, or null.</summary>
    public T? Kept<T>() where T : class => kept.GetValueOrDefault(typeof(T)) as T;
}

/// <summary>A change recorded to wait for the person's confirmation (not applied), as its reactions see it.</summary>
public sealed record RequestedChange(ChangeRequest Request, Customer Customer, NormalisedChange Change, DateTime At, SubmitExtras? Extras);
