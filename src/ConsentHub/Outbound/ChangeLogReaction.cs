using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;

namespace ConsentHub.Outbound;

/// <summary>
/// The change log's step in the write pipeline: the record's image before and after each applied change, written as
/// its row once the change's "change-applied" entry has an index, in the change's transaction.
/// </summary>
public sealed class ChangeLogReaction(ConsentDb db) : IChangeReaction
{
    /// <summary>Last: the images are taken around the apply, and the row needs the entry every other step precedes.</summary>
    public int Order => 100;

    sealed record Images(string Before)
    {
        public string? After { get; set; }
    }

    public void Applying(AppliedChange change) => change.Keep(new Images(ChangeLog.Image(change.State, change.Customer)));

    public void Applied(AppliedChange change)
    {
        if (change.Kept<Images>() is { } images) images.After = ChangeLog.Image(change.State, change.Customer);
    }

    public void Ledgered(AppliedChange change, LedgerEntry applied)
    {
        if (change.Kept<Images>() is not { After: { } after } images) return;
        ChangeLog.Add(db, new ChangeLog.Pending(change.Customer, change.Request.Id, images.Before, after, change.At), applied);
    }
}
