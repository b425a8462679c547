using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>What applying one opt-out record did: the organisation's records it matched and the changes recorded for them.</summary>
public sealed record OptOutOutcome(int MatchedRecords, int ChangesApplied);

/// <summary>
/// Applies a committed opt-out record through the consent core: every record of the organisation its identifiers match
/// gets a validated withdrawal. Safe to call again for the same record (after a crash): what was applied is not applied twice.
/// </summary>
public sealed class OptOutApplication(ConsentDb db, TimeProvider time)
{
    // PLACEHOLDER until the application lands (issue 15 work in progress): marks the record applied with no match.
    public async Task<OptOutOutcome> ApplyAsync(Guid optOutRecordId, CancellationToken ct)
    {
        var record = await db.OptOutRecords.SingleAsync(r => r.Id == optOutRecordId, ct);
        record.AppliedAt ??= Hosting.HubTime.Now(time);
        await db.SaveChangesAsync(ct);
        return new OptOutOutcome(record.MatchedRecords, record.ChangesApplied);
    }
}
