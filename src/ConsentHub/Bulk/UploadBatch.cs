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
        if (!matching)
        {
            try
            {
                // The whole batch in one transaction, set by set.
                var applied = await bulk.ApplyAsync(system,
                    [.. records.Select(r => new BulkChange(r.SourceCustomerId, r.Data, r.Change, r.ContentHash))], records[0].SubmittedBy, scope,
                    propagate, ct);
                return [.. applied.Select(a => a ? UploadOutcome.Applied : UploadOutcome.Skipped)];
            }
            catch (UnitOfWorkOverlap)
            {
                // Propagated, a record of the batch is in a cluster or comes twice: nothing was committed.
                db.ChangeTracker.Clear();
                changes.Reset();
            }
        }

        // Built-in matching (and propagation to a cluster) need each record to see the ones before it committed: the
        // single-change pipeline, its group committers taking the batch many records to a transaction.
        var hashes = records.Select(r => r.ContentHash).Distinct().ToList();
        // A re-upload is mostly records applied before: one query finds them, instead of one submission each.
        var done = await db.IdempotencyRecords.AsNoTracking()
            .Where(r => r.Scope == scope && hashes.Contains(r.Key)).Select(r => r.Key).ToHashSetAsync(ct);
        var todo = Enumerable.Range(0, records.Count).Where(i => !done.Contains(records[i].ContentHash)).ToList();
        // An initial upload never notifies, whichever way it applies (its data keeps the flag as sent).
        var answers = await changes.SubmitManyAsync([.. todo.Select(i => records[i]).Select(record => new Submission(system,
            record.SourceCustomerId, record.Data, record.Change, record.SubmittedBy,
            new IdempotencyKey(scope, record.ContentHash, record.ContentHash), propagate, new SubmitExtras(NeverNotify: true)))], ct);
        var outcomes = new UploadOutcome[records.Count];
        Array.Fill(outcomes, UploadOutcome.Skipped);
        for (var n = 0; n < todo.Count; n++)
            if (answers[n] is SubmitOutcome.Accepted) outcomes[todo[n]] = UploadOutcome.Applied;
        return outcomes;
    }
}
