using ConsentHub.Auth;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Rights;

public static class RightsEvents
{
    /// <summary>A person was erased: the erasure id and the customer ids of the records, nothing else.</summary>
    public const string Erasure = "erasure";
    /// <summary>Someone asked for a person's data: who, the organisation and how many records; no personal data.</summary>
    public const string SubjectAccess = "subject-access";
}

public abstract record ErasureOutcome
{
    /// <summary>Keys destroyed now.</summary>
    public sealed record Erased(Erasure Erasure, List<ErasedRecord> Records) : ErasureOutcome;
    /// <summary>Nothing left to destroy: an earlier erasure already erased the person.</summary>
    public sealed record AlreadyErased(Erasure Erasure, List<ErasedRecord> Records) : ErasureOutcome;
    public sealed record NoMatch : ErasureOutcome;
}

/// <summary>
/// Erases a person in one transaction: destroys the person keys of their records, deletes every row sealed under those
/// keys, clears the records' blind indexes, ends their open validations, appends one <c>erasure</c> ledger entry naming
/// the records by id, and writes a message to every record whose system is registered telling it to erase (sent to a
/// destination, or left in the system's pull feed). The
/// consents and channels stay (with null contact data), and so does every ledger entry: they commit to the data only
/// through keyed commitments, whose key is now gone, so every proof still verifies.
/// </summary>
public sealed class Erasures(ConsentDb db, LedgerWriter ledger, PropagationPlanner planner, PropagationSignal propagation, TimeProvider time)
{
    public Task<ErasureOutcome> EraseAsync(string nmsc, PersonCriterion criterion, Caller caller, CancellationToken ct) =>
        ConflictRetry.RunAsync(db, () => TryEraseAsync(nmsc, criterion, caller, ct));

    async Task<ErasureOutcome> TryEraseAsync(string nmsc, PersonCriterion criterion, Caller caller, CancellationToken ct)
    {
        // Row locks on the records first, the ledger lock last, in the order every change takes them.
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var matched = await PersonMatch.MatchedAsync(db, nmsc, criterion, ct);
        var person = await PersonMatch.WithClustersAsync(db, nmsc, matched, ct);
        await ClusterMembership.LockRecordsAsync(db, nmsc, person.Select(RecordKey.Of).ToList(), ct);

        // Read again under the locks: a concurrent erasure of the same person may have committed meanwhile.
        var ids = person.Select(c => c.Id).ToList();
        var withKeys = await db.PersonKeys.Where(k => ids.Contains(k.CustomerId)).Select(k => k.CustomerId).ToListAsync(ct);
        var withRows = await db.PersonalData.Where(p => ids.Contains(p.CustomerId)).Select(p => p.CustomerId).Distinct().ToListAsync(ct);
        var indexed = await db.Customers.Where(c => ids.Contains(c.Id) && (c.EmailKey != null || c.PhoneKey != null || c.LegacyEmail != null || c.LegacyPhone != null))
            .Select(c => c.Id).ToListAsync(ct);
        var live = person.Where(c => withKeys.Contains(c.Id) || withRows.Contains(c.Id) || indexed.Contains(c.Id)).ToList();

        if (live.Count == 0)
        {
            // Asking again answers the erasure that already did it, and destroys nothing twice.
            var earlier = await EarlierAsync(nmsc, criterion, ids, ct);
            if (earlier is not null) return new ErasureOutcome.AlreadyErased(earlier, await RecordsOfAsync(earlier.Id, ct));
            // A record named directly that never held personal data is still erased: its systems are told.
            if (person.Count == 0) return new ErasureOutcome.NoMatch();
            live = person;
        }

        var now = time.Now();
        var erasure = new Erasure
        {
            Id = Guid.CreateVersion7(), Nmsc = nmsc, Criterion = criterion.Kind, CriterionKey = criterion.Key,
            RequestedBy = caller.Subject, RequestedByRole = caller.Role, ErasedAt = now,
        };
        var liveIds = live.Select(c => c.Id).ToList();
        var records = live.Select(c => new ErasedRecord
        {
            ErasureId = erasure.Id, CustomerId = c.Id, Context = c.Context, SourceSystem = c.SourceSystem, SourceCustomerId = c.SourceCustomerId,
        }).ToList();

        // The key and everything sealed under it; then every clear trace of the address the records still had.
        await db.PersonKeys.Where(k => liveIds.Contains(k.CustomerId)).ExecuteDeleteAsync(ct);
        await db.PersonalData.Where(p => liveIds.Contains(p.CustomerId)).ExecuteDeleteAsync(ct);
        await db.Customers.Where(c => liveIds.Contains(c.Id)).ExecuteUpdateAsync(s => s
            .SetProperty(c => c.EmailKey, (string?)null).SetProperty(c => c.PhoneKey, (string?)null)
            .SetProperty(c => c.LegacyEmail, (string?)null).SetProperty(c => c.LegacyPhone, (string?)null), ct);
        await OptOut.OptOutErasure.ForgetAsync(db, nmsc, live.SelectMany(c => new[] { c.EmailKey, c.PhoneKey }).Append(criterion.Key), ct);
        var requestIds = db.ChangeRequests.Where(r => liveIds.Contains(r.CustomerId)).Select(r => r.Id);
        await db.Validations.Where(v => requestIds.Contains(v.ChangeRequestId) && v.LegacyEmail != null)
            .ExecuteUpdateAsync(s => s.SetProperty(v => v.LegacyEmail, (string?)null), ct);
        await db.IdempotencyRecords.Where(r => r.ChangeRequestId != null && requestIds.Contains(r.ChangeRequestId.Value) && r.ResponseBody != null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.ResponseBody, (string?)null), ct);
        var ended = await EndOpenValidationsAsync(liveIds, now, ct);
        // Told to erase: the erased records, and the records their clusters name that the hub has never seen (a cluster
        // feed named them, and their systems were sent the person's data). Records erased earlier were told then.
        var known = person.Select(RecordKey.Of).ToHashSet();
        var told = live.Select(RecordKey.Of)
            .Concat((await PersonMatch.ClusterMembersAsync(db, nmsc, live, ct)).Where(m => !known.Contains(m)))
            .Distinct().ToList();
        // Every registered system is told: by webhook when it has a destination, through its pull feed otherwise.
        var registered = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        var pushed = new HashSet<long>();
        foreach (var context in told.Select(m => m.Context).Distinct())
        {
            registered[context] = await planner.TargetSystemsAsync(nmsc, context, told, ct);
            pushed.UnionWith(await planner.FreshPushedSystemsAsync(nmsc, context, ct));
        }
        // The systems are told to erase what they were sent: a later change of the person is sent to them in full.
        foreach (var member in told)
        {
            if (!registered[member.Context].TryGetValue(member.SourceSystem, out var systemId)) continue;
            await db.PropagatedValues.Where(v => v.SourceSystemId == systemId && v.SourceCustomerId == member.SourceCustomerId).ExecuteDeleteAsync(ct);
        }

        await ledger.LockHeadAsync(ct);
        var entry = ledger.Append(RightsEvents.Erasure, new
        {
            erasureId = erasure.Id, nmsc, criterion = criterion.Kind, requestedBy = caller.Subject, role = caller.Role,
            records = liveIds, endedValidations = ended.Select(v => v.Id),
        });
        erasure.LedgerIndex = entry.Index;
        Outbound.ChangeLog.AddErasure(db, entry, erasure.Id, live, now);
        foreach (var validation in ended)
        {
            validation.EndLedgerIndex = entry.Index;
            (await db.ChangeRequests.SingleAsync(r => r.Id == validation.ChangeRequestId, ct)).OutcomeLedgerIndex = entry.Index;
        }
        var position = 0;
        foreach (var member in told)
        {
            if (registered[member.Context].TryGetValue(member.SourceSystem, out var systemId))
                planner.AddErasure(systemId, pushed.Contains(systemId), position++, nmsc, member, entry, now);
        }
        db.Erasures.Add(erasure);
        db.ErasedRecords.AddRange(records);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        propagation.Notify();
        return new ErasureOutcome.Erased(erasure, records);
    }

    /// <summary>Open validations of the records fail: there is no address left to ask, and nothing may apply them later.</summary>
    async Task<List<ValidationRequest>> EndOpenValidationsAsync(List<long> customerIds, DateTime now, CancellationToken ct)
    {
        var open = await (
                from v in db.Validations
                join r in db.ChangeRequests on v.ChangeRequestId equals r.Id
                where customerIds.Contains(r.CustomerId)
                    && (v.State == ValidationStates.Queued || v.State == ValidationStates.Sent || v.State == ValidationStates.Reminded
                        || v.State == ValidationStates.AwaitingPartner)
                select v)
            .ToListAsync(ct);
        foreach (var validation in open)
        {
            validation.State = ValidationStates.Failed;
            validation.LastError = "the person was erased";
            validation.EndedAt = now;
            validation.LeaseUntil = null;
            var request = await db.ChangeRequests.SingleAsync(r => r.Id == validation.ChangeRequestId, ct);
            request.Status = ChangeStatus.ValidationFailed;
            request.StatusReason = "the person was erased before confirming";
        }
        var ids = open.Select(v => v.Id).ToList();
        if (ids.Count > 0) await db.ValidationTokens.Where(t => ids.Contains(t.ValidationId)).ExecuteDeleteAsync(ct);
        return open;
    }

    async Task<Erasure?> EarlierAsync(string nmsc, PersonCriterion criterion, List<long> customerIds, CancellationToken ct)
    {
        if (criterion.Key is { } key)
        {
            return await db.Erasures.AsNoTracking().Where(e => e.Nmsc == nmsc && e.Criterion == criterion.Kind && e.CriterionKey == key)
                .OrderByDescending(e => e.LedgerIndex).FirstOrDefaultAsync(ct);
        }
        var erasureIds = db.ErasedRecords.Where(r => customerIds.Contains(r.CustomerId)).Select(r => r.ErasureId);
        return await db.Erasures.AsNoTracking().Where(e => e.Nmsc == nmsc && erasureIds.Contains(e.Id))
            .OrderByDescending(e => e.LedgerIndex).FirstOrDefaultAsync(ct);
    }

    public async Task<List<ErasedRecord>> RecordsOfAsync(Guid erasureId, CancellationToken ct) =>
        await db.ErasedRecords.AsNoTracking().Where(r => r.ErasureId == erasureId).OrderBy(r => r.CustomerId).ToListAsync(ct);
}
