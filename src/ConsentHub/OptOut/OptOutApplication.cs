using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>What applying one opt-out record did: the organisation's records it matched and the changes recorded for them.</summary>
public sealed record OptOutOutcome(int MatchedRecords, int ChangesApplied);

/// <summary>
/// Applies a committed opt-out record through the consent core: every record of the organisation (every context) whose
/// email or phone blind index equals one of the opt-out's identifiers gets a validated withdrawal, submitted as that
/// record's own source system with the opt-out's source system as its origin, so rules, ledger, clusters and
/// propagation hold as for any change. Safe to call again, or on two instances at once: each withdrawal carries an
/// idempotency key of the opt-out, so what was applied is never applied twice.
/// </summary>
public sealed class OptOutApplication(ConsentDb db, SubscriptionChanges changes, TimeProvider time)
{
    /// <summary>Every withdrawal of an opt-out is "the same request" for its key: only the first one is recorded.</summary>
    public const string RequestHash = "opt-out-withdrawal";

    /// <summary>The idempotency scope of an opt-out's withdrawals; the keys are the matched records' customer ids.</summary>
    public static string Scope(Guid optOutId) => $"opt-out:{optOutId}";

    /// <summary>The validation reference the withdrawals carry: the opt-out record that the sender verified (or not).</summary>
    public static string ValidationReference(Guid optOutId) => $"opt-out:{optOutId}";

    public async Task<OptOutOutcome> ApplyAsync(Guid optOutRecordId, CancellationToken ct)
    {
        var record = await db.OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == optOutRecordId, ct);
        // A refused record named nobody the hub may act on; an applied one is answered as it was.
        if (!record.Successful) return new OptOutOutcome(0, 0);
        if (record.AppliedAt is not null) return new OptOutOutcome(record.MatchedRecords, record.ChangesApplied);

        var transaction = await db.OptOutTransactions.AsNoTracking().SingleAsync(t => t.Id == record.TransactionId, ct);
        var entries = await db.SuppressionEntries.AsNoTracking().Where(e => e.OptOutId == record.Id).ToListAsync(ct);
        var emailKeys = KeysOf(entries, SuppressionKinds.Email);
        var phoneKeys = KeysOf(entries, SuppressionKinds.Phone);
        // Postal identities have no blind index: the hub keeps no postal addresses, so they match no record.
        var matched = emailKeys.Count + phoneKeys.Count == 0 ? [] : await db.Customers.AsNoTracking()
            .Where(c => c.Nmsc == record.Nmsc
                && ((c.EmailKey != null && emailKeys.Contains(c.EmailKey)) || (c.PhoneKey != null && phoneKeys.Contains(c.PhoneKey))))
            .OrderBy(c => c.Id)
            .ToListAsync(ct);

        var scope = Scope(record.Id);
        foreach (var customer in matched)
        {
            var channels = new List<string>();
            if (customer.EmailKey is { } email && emailKeys.Contains(email)) channels.Add("EMAIL");
            if (customer.PhoneKey is { } phone && phoneKeys.Contains(phone)) channels.AddRange(["SMS", "PHONE"]);
            await WithdrawAsync(customer, channels, record, transaction, ct);
            // Each submission is its own unit of work; what it tracked is not needed by the next.
            db.ChangeTracker.Clear();
        }

        // Counted from what the core recorded under the opt-out's scope, so a replay after a crash, or a second
        // instance applying the same record, counts the same changes.
        var changesApplied = await db.IdempotencyRecords.CountAsync(r => r.Scope == scope, ct);
        var tracked = await db.OptOutRecords.SingleAsync(r => r.Id == record.Id, ct);
        tracked.AppliedAt ??= time.Now();
        tracked.MatchedRecords = matched.Count;
        tracked.ChangesApplied = changesApplied;
        await db.SaveChangesAsync(ct);
        return new OptOutOutcome(tracked.MatchedRecords, tracked.ChangesApplied);
    }

    async Task WithdrawAsync(
        Customer customer, List<string> channels, OptOutRecord record, OptOutTransaction transaction, CancellationToken ct)
    {
        // What was recorded is read before the state: a change committed in between shows in the state, never twice.
        var scope = Scope(record.Id);
        var recorded = await db.IdempotencyRecords.AsNoTracking().Where(r => r.Scope == scope).Select(r => r.Key).ToListAsync(ct);
        var state = await SubscriptionChanges.CurrentStateAsync(db, vault: null, customer, tracked: false, ct);
        var withdrawal = OptOutWithdrawal.Plan(state, channels, transaction.ReceivedAt);
        if (withdrawal.Count == 0) return;

        var system = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == customer.SourceSystemId, ct);
        // Keys of this record already recorded (by an earlier call that stopped half-way) keep their numbers; the
        // changes still owed take the next ones, which a concurrent application of the same record computes alike.
        var done = recorded.Count(k => OptOutWithdrawal.IsKeyOf(k, customer.Id));
        for (var part = 0; part < withdrawal.Count; part++)
        {
            var data = OptOutWithdrawal.Data(withdrawal[part], transaction.SourceSystem, transaction.ReceivedAt, ValidationReference(record.Id));
            // The codes come from the record's own stored state, which passed the catalogue of its day: a category the
            // organisation has hidden since must still be withdrawable, so they are checked as stored changes are.
            var (change, violations) = SubscriptionDataRules.Check(data, Tenancy.CategoryCatalogue.Replay);
            if (change is null)
                throw new InvalidOperationException($"The withdrawal of opt-out {record.Id} breaks a rule: {violations[0].Field} {violations[0].Message}");
            var key = new IdempotencyKey(Scope(record.Id), OptOutWithdrawal.Key(customer.Id, done + part), RequestHash);
            await changes.SubmitAsync(system, customer.SourceCustomerId, data, change, $"api-key:{transaction.ApiKeyId}", key, propagate: true, ct);
        }
    }

    static List<string> KeysOf(List<SuppressionEntry> entries, string kind) =>
        entries.Where(e => e.Kind == kind && e.BlindKey is not null).Select(e => e.BlindKey!).Distinct().ToList();
}
