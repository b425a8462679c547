using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Subscriptions;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Rights;

/// <summary>Everything the hub holds about one person in one organisation, as one JSON document (GDPR art. 15 and 20).</summary>
public sealed record SubjectAccessDocument(
    string Nmsc, string Criterion, string GeneratedAt, string RequestedBy, long RequestLedgerIndex,
    IReadOnlyList<SubjectRecord> Records,
    // Every ledger entry the document cites, with its Merkle leaf hash: the proofs in the ZIP are for these.
    IReadOnlyList<LedgerReference> Ledger);

public sealed record SubjectRecord(
    long CustomerId, string Context, string SourceSystem, string SourceCustomerId, string? ClusterId, string FirstSeenAt,
    // How it was found: "matched" (by the criterion) or "cluster" (another record of a matched record's cluster).
    string FoundBy,
    ConsolidatedView? SubscriptionData,
    IReadOnlyList<ChangeRequestView> History,
    IReadOnlyList<ValidationEventView> Validations,
    IReadOnlyList<PropagationOutcomeView> Propagations,
    IReadOnlyList<ErasureReference> Erasures,
    // The raw bodies of the inbound events (seed 001) that became its change requests, as they were received.
    IReadOnlyList<InboundEventView> InboundEvents);

public sealed record InboundEventView(Guid ChangeRequestId, string? EventType, string Via, string ReceivedAt, System.Text.Json.JsonElement? Event);

public sealed record ValidationEventView(
    Guid ValidationId, Guid ChangeRequestId, string State, string CreatedAt,
    string? SentAt, long? SentLedgerIndex, string? ReminderSentAt, long? ReminderLedgerIndex, string? EndedAt, long? EndLedgerIndex);

public sealed record PropagationOutcomeView(
    Guid PropagationId, string Cause, Guid? ChangeRequestId, string Status, long LedgerIndex, int Attempts, string CreatedAt,
    string? DeliveredAt, string? ProcessedAt, long? ProcessedLedgerIndex);

public sealed record ErasureReference(Guid ErasureId, string ErasedAt, long LedgerIndex);

public sealed record LedgerReference(long Index, string? LeafHash);

/// <summary>
/// Builds the subject access document, after recording in the ledger who asked (a <c>subject-access</c> entry: the
/// caller, the organisation, the criterion's kind and the record ids; no personal data).
/// </summary>
public sealed class SubjectAccess(ConsentDb db, LedgerWriter ledger, PersonKeys keys, PersonalDataVault vault, TimeProvider time)
{
    public async Task<SubjectAccessDocument?> BuildAsync(string nmsc, PersonCriterion criterion, Caller caller, string format, CancellationToken ct)
    {
        var matched = await PersonMatch.MatchedAsync(db, nmsc, criterion, ct);
        if (matched.Count == 0) return null;
        var person = await PersonMatch.WithClustersAsync(db, nmsc, matched, ct);
        var matchedIds = matched.Select(c => c.Id).ToHashSet();

        long requestIndex;
        await using (var transaction = await ledger.BeginAsync(ct))
        {
            requestIndex = ledger.Append(RightsEvents.SubjectAccess, new
            {
                nmsc, criterion = criterion.Kind, requestedBy = caller.Subject, role = caller.Role, format, records = person.Select(c => c.Id),
            }).Index;
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }

        var records = new List<SubjectRecord>();
        foreach (var customer in person) records.Add(await RecordAsync(customer, matchedIds.Contains(customer.Id) ? "matched" : "cluster", ct));

        var indices = records.SelectMany(Indices).Append(requestIndex).Distinct().Order().ToList();
        var leaves = await LeafHashes.OfAsync(db, indices, ct);
        return new SubjectAccessDocument(nmsc, criterion.Kind, HubTime.Format(time.Now()), caller.Subject, requestIndex, records,
            [.. indices.Select(i => new LedgerReference(i, leaves.GetValueOrDefault(i)))]);
    }

    async Task<SubjectRecord> RecordAsync(Customer customer, string foundBy, CancellationToken ct)
    {
        var current = await CurrentSubscriptionData.ReadAsync(db, keys, customer.Nmsc, customer.Context, customer.SourceSystem, customer.SourceCustomerId, ct);
        var consolidated = current is null ? null : Views.Consolidated(current.Customer, current.State, current.CommandTimestamp);

        var changes = await db.ChangeRequests.AsNoTracking().Where(c => c.CustomerId == customer.Id).OrderBy(c => c.Sequence).ToListAsync(ct);
        var changeIds = changes.Select(c => c.Id).ToList();
        var validations = await db.Validations.AsNoTracking().Where(v => changeIds.Contains(v.ChangeRequestId)).ToListAsync(ct);
        var byChange = validations.ToDictionary(v => v.ChangeRequestId);
        var leaves = await LeafHashes.OfAsync(db, changes.Select(c => c.Sequence), ct);
        var sent = await vault.RequestDataAsync(changes, ct);
        var history = changes.Select(c => Views.ChangeRequest(c, customer, sent[c.Id], leaves.GetValueOrDefault(c.Sequence),
            ValidationTimeline.Of(byChange.GetValueOrDefault(c.Id), notification: null))).ToList();

        var propagations = await db.Propagations.AsNoTracking()
            .Where(p => p.SourceSystemId == customer.SourceSystemId && p.SourceCustomerId == customer.SourceCustomerId)
            .OrderBy(p => p.LedgerIndex).ThenBy(p => p.Id).ToListAsync(ct);
        var clusterId = await ClusterMembership.ClusterIdAsync(db, customer.Nmsc, RecordKey.Of(customer), ct);
        var erasures = await (
                from r in db.ErasedRecords
                join e in db.Erasures on r.ErasureId equals e.Id
                where r.CustomerId == customer.Id
                orderby e.LedgerIndex
                select e)
            .AsNoTracking().ToListAsync(ct);

        var inbound = await (
                from e in db.InboundEvents.AsNoTracking()
                join t in db.EventTypes.AsNoTracking() on e.EventTypeId equals t.Id into types
                from t in types.DefaultIfEmpty()
                where e.CustomerId == customer.Id
                orderby e.ReceivedAt, e.Id
                select new { e.ChangeRequestId, EventType = t == null ? null : t.Name, e.Via, e.ReceivedAt })
            .ToListAsync(ct);
        var bodies = await vault.OpenAsync(PersonalDataKinds.InboundEvent, [.. inbound.Select(e => PersonalDataVault.Reference(e.ChangeRequestId))], ct);
        var inboundEvents = inbound.Select(e => new InboundEventView(e.ChangeRequestId, e.EventType, e.Via, HubTime.Format(e.ReceivedAt),
            bodies.TryGetValue(PersonalDataVault.Reference(e.ChangeRequestId), out var raw) ? Parsed(raw) : null)).ToList();

        return new SubjectRecord(
            customer.Id, customer.Context, customer.SourceSystem, customer.SourceCustomerId, clusterId, HubTime.Format(customer.CreatedAt), foundBy,
            consolidated, history,
            [.. validations.OrderBy(v => v.CreatedAt).Select(v => new ValidationEventView(
                v.Id, v.ChangeRequestId, v.State, HubTime.Format(v.CreatedAt), HubTime.Format(v.SentAt), v.SentLedgerIndex,
                HubTime.Format(v.ReminderSentAt), v.ReminderLedgerIndex, HubTime.Format(v.EndedAt), v.EndLedgerIndex))],
            [.. propagations.Select(p => new PropagationOutcomeView(
                p.Id, p.Cause, p.ChangeRequestId, p.State, p.LedgerIndex, p.Attempts, HubTime.Format(p.CreatedAt),
                HubTime.Format(p.DeliveredAt), HubTime.Format(p.ProcessedAt), p.ProcessedLedgerIndex))],
            [.. erasures.Select(e => new ErasureReference(e.Id, HubTime.Format(e.ErasedAt), e.LedgerIndex))],
            inboundEvents);
    }

    static System.Text.Json.JsonElement Parsed(byte[] raw)
    {
        using var document = System.Text.Json.JsonDocument.Parse(raw);
        return document.RootElement.Clone();
    }

    static IEnumerable<long> Indices(SubjectRecord record)
    {
        foreach (var change in record.History)
            foreach (var step in change.Timeline) yield return step.LedgerIndex;
        foreach (var v in record.Validations)
            foreach (var index in new[] { v.SentLedgerIndex, v.ReminderLedgerIndex, v.EndLedgerIndex })
                if (index is { } i) yield return i;
        foreach (var p in record.Propagations)
        {
            yield return p.LedgerIndex;
            if (p.ProcessedLedgerIndex is { } processed) yield return processed;
        }
        foreach (var e in record.Erasures) yield return e.LedgerIndex;
    }
}
