using ConsentHub.Ledger;

namespace ConsentHub.Consents;

/// <summary>Every registered <see cref="IChangeReaction"/> of the unit of work, called step by step in their order.</summary>
public sealed class ChangeReactions(IEnumerable<IChangeReaction> registered)
{
    readonly IChangeReaction[] reactions = [.. registered.OrderBy(r => r.Order)];

    public async Task RequestedAsync(RequestedChange change, CancellationToken ct)
    {
        foreach (var reaction in reactions) await reaction.RequestedAsync(change, ct);
    }

    public void Applying(AppliedChange change)
    {
        foreach (var reaction in reactions) reaction.Applying(change);
    }

    public void Applied(AppliedChange change)
    {
        foreach (var reaction in reactions) reaction.Applied(change);
    }

    public async Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct)
    {
        if (changes.Count == 0) return;
        foreach (var reaction in reactions) await reaction.StageAsync(changes, ct);
    }

    /// <summary>The "change-applied" entry's payload: the change's codes and flags, then what each reaction adds.</summary>
    public Dictionary<string, object> Describe(AppliedChange change)
    {
        var entry = ChangeRecording.Applied(change.Request.Id, change.Change);
        foreach (var reaction in reactions) reaction.Describe(change, entry);
        return entry;
    }

    public void Ledgered(AppliedChange change, LedgerEntry applied)
    {
        foreach (var reaction in reactions) reaction.Ledgered(change, applied);
    }

    public void Committed()
    {
        foreach (var reaction in reactions) reaction.Committed();
    }

    public void Reset()
    {
        foreach (var reaction in reactions) reaction.Reset();
    }
}
