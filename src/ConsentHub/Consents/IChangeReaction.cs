using ConsentHub.Ledger;

namespace ConsentHub.Consents;

/// <summary>
/// A feature's part in the write pipeline (<see cref="SubscriptionChanges"/>, <see cref="BulkChanges"/>): what follows
/// from a recorded or applied change, staged in the change's own transaction so that it commits with it or not at all.
/// Features plug in by registering one (scoped, like the DbContext it writes to); the pipeline calls every reaction at
/// each step in <see cref="Order"/>, and never knows what they do.
/// </summary>
/// <remarks>
/// The steps of one applied change, in order: <see cref="Applying"/>, the state changes, <see cref="Applied"/>,
/// <see cref="StageAsync"/> (before the ledger lock; the changes of a group committed together, or of an upload's batch,
/// are staged all at once, once each is applied), <see cref="Describe"/> and <see cref="Ledgered"/> under the ledger
/// lock, around its "change-applied" entry, then <see cref="Committed"/> once the transaction has committed.
/// <see cref="Reset"/> when the unit of work starts again.
/// </remarks>
public interface IChangeReaction
{
    /// <summary>Where the reaction runs among the others: lower first. Built-in matching stages before propagation reads clusters.</summary>
    int Order { get; }

    /// <summary>A change that waits for confirmation was recorded: stage what follows (before the ledger lock).</summary>
    Task RequestedAsync(RequestedChange change, CancellationToken ct) => Task.CompletedTask;

    /// <summary>The change is about to apply: <see cref="AppliedChange.State"/> is still the state before it.</summary>
    void Applying(AppliedChange change) { }

    /// <summary>The change has just applied to the state and the record (language, country, blind indexes).</summary>
    void Applied(AppliedChange change) { }

    /// <summary>Stage what follows from applied changes: rows, locks, reads.</summary>
    Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Under the ledger lock: the members this reaction adds to the change's "change-applied" entry.</summary>
    void Describe(AppliedChange change, IDictionary<string, object> entry) { }

    /// <summary>Under the ledger lock, after the "change-applied" entry: append what follows it, stamp what was staged.</summary>
    void Ledgered(AppliedChange change, LedgerEntry applied) { }

    /// <summary>The unit of work has committed: wake whoever works on what it staged.</summary>
    void Committed() { }

    /// <summary>The unit of work starts again: forget what it staged.</summary>
    void Reset() { }
}
