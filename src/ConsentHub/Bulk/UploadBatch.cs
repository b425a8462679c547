using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>
/// Applies one batch of checked records of an upload. Everything else of an upload (reading, rules, counting, the
/// job) is independent of how this applies them; it gets a fresh scope, and so a fresh DbContext, for every batch.
/// </summary>
public sealed class UploadBatch(ConsentDb db, SubscriptionChanges changes)
{
    /// <summary>
    /// Applies <paramref name="records"/> in order for <paramref name="system"/>; one outcome per record, in the same
    /// order. A record an earlier upload applied (same customer, same data) is skipped. With <paramref name="propagate"/>
    /// false no propagation is planned for them.
    /// </summary>
    public async Task<IReadOnlyList<UploadOutcome>> ApplyAsync(
        SourceSystem system, IReadOnlyList<UploadRecord> records, bool propagate, CancellationToken ct)
    {
        // One submission per record, each in its own transaction with its ledger entries. Its idempotency key is the
        // record's content, in a scope of its own, so a re-upload replays instead of applying twice.
        var scope = $"upload:{system.Id}";
        var hashes = records.Select(r => r.ContentHash).Distinct().ToList();
        // A re-upload is mostly records applied before: one query finds them, instead of one transaction each.
        var applied = await db.IdempotencyRecords.AsNoTracking()
            .Where(r => r.Scope == scope && hashes.Contains(r.Key)).Select(r => r.Key).ToHashSetAsync(ct);
        var outcomes = new List<UploadOutcome>(records.Count);
        foreach (var record in records)
        {
            if (applied.Contains(record.ContentHash))
            {
                outcomes.Add(UploadOutcome.Skipped);
                continue;
            }
            var key = new IdempotencyKey(scope, record.ContentHash, record.ContentHash);
            var outcome = await changes.SubmitAsync(system, record.SourceCustomerId, record.Data, record.Change, record.SubmittedBy, key, propagate, ct);
            outcomes.Add(outcome is SubmitOutcome.Accepted ? UploadOutcome.Applied : UploadOutcome.Skipped);
            // What was committed need not be tracked: a batch would otherwise slow down with every record.
            db.ChangeTracker.Clear();
            changes.Reset();
        }
        return outcomes;
    }
}
