using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>
/// Applies one batch of checked records of an upload. Everything else of an upload (reading, rules, counting, the
/// job) is independent of how this applies them; it gets a fresh scope, and so a fresh DbContext, for every batch.
/// </summary>
public sealed class UploadBatch(ConsentDb db, SubscriptionChanges changes, BulkChanges bulk)
{
    /// <summary>
    /// Applies <paramref name="records"/> in order for <paramref name="system"/>; one outcome per record, in the same
    /// order. A record an earlier upload applied (same customer, same data) is skipped. With <paramref name="propagate"/>
    /// false no propagation is planned for them.
    /// </summary>
    public async Task<IReadOnlyList<UploadOutcome>> ApplyAsync(
        SourceSystem system, IReadOnlyList<UploadRecord> records, bool propagate, CancellationToken ct)
    {
        if (records.Count == 0) return [];
        // Each record's idempotency key is its content, in a scope of its own: a re-upload skips instead of applying twice.
        var scope = $"upload:{system.Id}";
        var matching = await db.Organisations.AsNoTracking().Where(o => o.Nmsc == system.Nmsc).Select(o => o.BuiltInMatching).SingleAsync(ct);
        if (!propagate && !matching)
        {
            // The whole batch in one transaction, set by set: the path of a bootstrap.
            var applied = await bulk.ApplyAsync(system,
                [.. records.Select(r => new BulkChange(r.SourceCustomerId, r.Data, r.Change, r.ContentHash))], records[0].SubmittedBy, scope, ct);
            return [.. applied.Select(a => a ? UploadOutcome.Applied : UploadOutcome.Skipped)];
        }

        // Propagation and built-in matching need each record to see the ones before it committed: one by one.
        var hashes = records.Select(r => r.ContentHash).Distinct().ToList();
        // A re-upload is mostly records applied before: one query finds them, instead of one transaction each.
        var done = await db.IdempotencyRecords.AsNoTracking()
            .Where(r => r.Scope == scope && hashes.Contains(r.Key)).Select(r => r.Key).ToHashSetAsync(ct);
        var outcomes = new List<UploadOutcome>(records.Count);
        foreach (var record in records)
        {
            if (done.Contains(record.ContentHash))
            {
                outcomes.Add(UploadOutcome.Skipped);
                continue;
            }
            var key = new IdempotencyKey(scope, record.ContentHash, record.ContentHash);
            // An initial upload never notifies, whichever way it applies (its data keeps the flag as sent).
            var outcome = await changes.SubmitAsync(system, record.SourceCustomerId, record.Data, record.Change, record.SubmittedBy, key, propagate, ct,
                new SubmitExtras(NeverNotify: true));
            outcomes.Add(outcome is SubmitOutcome.Accepted ? UploadOutcome.Applied : UploadOutcome.Skipped);
            // What was committed need not be tracked: a batch would otherwise slow down with every record.
            db.ChangeTracker.Clear();
            changes.Reset();
        }
        return outcomes;
    }
}
