using System.Linq.Expressions;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Consents;

/// <summary>
/// The consolidated current subscription data of one record, as GET …/subscription-data answers it without ?at=.
/// Round trips to the database were most of that read's cost, so the record, its state, its key, its sealed contact,
/// its cluster and its latest applied change come in one query, and the other records of its cluster (within its
/// context) in a second one only when it is in a cluster. The queries are compiled once.
/// </summary>
public static class CurrentSubscriptionData
{
    public sealed record Answer(Customer Customer, SubscriptionState State, DateTime? CommandTimestamp);

    /// <returns>Null when no such record exists.</returns>
    public static async Task<Answer?> ReadAsync(
        ConsentDb db, PersonKeys keys, PersonalDataVault vault, string nmsc, string context, string sourceSystem, string sourceCustomerId,
        CancellationToken ct)
    {
        var own = await OwnRecord(db)(db, nmsc, context, sourceSystem, sourceCustomerId, ct);
        if (own is null) return null;
        var customer = own.Record.Customer;
        var state = SubscriptionState.Of(customer, own.Record.Consents, own.Record.Channels, await ContactAsync(own, keys, vault, ct));
        if (own.ClusterId is null) return new Answer(customer, state, own.Record.LatestCommandTimestamp);

        var others = new List<RecordRow>();
        await foreach (var other in OtherRecords(db)(db, nmsc, own.ClusterId, context, customer.Id).WithCancellation(ct)) others.Add(other);
        if (others.Count == 0) return new Answer(customer, state, own.Record.LatestCommandTimestamp);

        var policy = own.MergePolicy ?? throw new InvalidOperationException($"Organisation {nmsc} of customer {customer.Id} is missing.");
        // Only the record asked about has its contact opened: the merge keeps its communication attributes alone.
        state = SubscriptionState.Merge(state, others.Select(o => SubscriptionState.Of(o.Customer, o.Consents, o.Channels, contact: null)), policy);
        // The command timestamp of the cluster's latest applied change, whichever record it was sent for.
        var latest = others.Append(own.Record).Where(r => r.LatestSequence is not null).MaxBy(r => r.LatestSequence);
        return new Answer(customer, state, latest?.LatestCommandTimestamp);
    }

    static async Task<Contact?> ContactAsync(OwnRow own, PersonKeys keys, PersonalDataVault vault, CancellationToken ct)
    {
        var customer = own.Record.Customer;
        if (own.SealedContact is null || own.ProtectedKey is null) return null;
        // Every writer seals a record's contact under the record itself; a row that did not would need its own record's key.
        if (own.ContactCustomerId != customer.Id) return await vault.ContactAsync(customer.Id, ct);
        var row = new SealedPersonalData
        {
            Id = own.ContactId!.Value, CustomerId = customer.Id, Kind = PersonalDataKinds.Contact,
            Reference = PersonalDataVault.Reference(customer.Id), Sealed = own.SealedContact,
        };
        return PersonalDataVault.OpenContact(row, keys.Open(customer.Id, own.ProtectedKey));
    }

    /// <summary>A record with its current entries and its latest applied change (by ledger order).</summary>
    sealed record RecordRow(
        Customer Customer, List<ConsentEntry> Consents, List<ChannelEntry> Channels, long? LatestSequence, DateTime? LatestCommandTimestamp);

    sealed record OwnRow(
        RecordRow Record, string? ClusterId, string? MergePolicy, string? ProtectedKey, long? ContactId, long? ContactCustomerId, byte[]? SealedContact);

    // A compiled query serves only the model it first ran with, so each provider has its own.
    static Func<ConsentDb, string, string, string, string, CancellationToken, Task<OwnRow?>> OwnRecord(ConsentDb db) =>
        db.Provider == DatabaseProvider.Postgres ? OwnRecordOnPostgres : OwnRecordOnSqlite;

    static Func<ConsentDb, string, string, string, long, IAsyncEnumerable<RecordRow>> OtherRecords(ConsentDb db) =>
        db.Provider == DatabaseProvider.Postgres ? OtherRecordsOnPostgres : OtherRecordsOnSqlite;

    static readonly Func<ConsentDb, string, string, string, string, CancellationToken, Task<OwnRow?>> OwnRecordOnPostgres =
        EF.CompileAsyncQuery(OwnRecordQuery), OwnRecordOnSqlite = EF.CompileAsyncQuery(OwnRecordQuery);

    static readonly Func<ConsentDb, string, string, string, long, IAsyncEnumerable<RecordRow>> OtherRecordsOnPostgres =
        EF.CompileAsyncQuery(OtherRecordsQuery), OtherRecordsOnSqlite = EF.CompileAsyncQuery(OtherRecordsQuery);

    static Expression<Func<ConsentDb, string, string, string, string, CancellationToken, OwnRow?>> OwnRecordQuery =>
        (db, nmsc, context, sourceSystem, sourceCustomerId, ct) => db.Customers
            .AsNoTracking()
            .Where(c => c.Nmsc == nmsc && c.Context == context && c.SourceSystem == sourceSystem && c.SourceCustomerId == sourceCustomerId)
            .Select(c => new OwnRow(
                new RecordRow(
                    c,
                    db.ConsentEntries.Where(e => e.CustomerId == c.Id).ToList(),
                    db.ChannelEntries.Where(e => e.CustomerId == c.Id).ToList(),
                    db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied).Max(r => (long?)r.Sequence),
                    db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                        .OrderByDescending(r => r.Sequence).Select(r => r.CommandTimestamp).FirstOrDefault()),
                db.ClusterMembers
                    .Where(m => m.Nmsc == c.Nmsc && m.Context == c.Context && m.SourceSystem == c.SourceSystem && m.SourceCustomerId == c.SourceCustomerId)
                    .Select(m => m.ClusterId).FirstOrDefault(),
                db.Organisations.Where(o => o.Nmsc == c.Nmsc).Select(o => o.MergePolicy).FirstOrDefault(),
                db.PersonKeys.Where(k => k.CustomerId == c.Id).Select(k => k.ProtectedKey).FirstOrDefault(),
                db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact && p.Reference == c.Id.ToString())
                    .Select(p => (long?)p.Id).FirstOrDefault(),
                db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact && p.Reference == c.Id.ToString())
                    .Select(p => (long?)p.CustomerId).FirstOrDefault(),
                db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact && p.Reference == c.Id.ToString())
                    .Select(p => p.Sealed).FirstOrDefault()))
            .SingleOrDefault();

    /// <summary>The records of a cluster within one context, but one, that the hub knows, in id order.</summary>
    static Expression<Func<ConsentDb, string, string, string, long, IQueryable<RecordRow>>> OtherRecordsQuery =>
        (db, nmsc, clusterId, context, ownId) => db.ClusterMembers
            .AsNoTracking()
            .Where(m => m.Nmsc == nmsc && m.ClusterId == clusterId && m.Context == context)
            .Join(db.Customers, m => new { m.Nmsc, m.Context, m.SourceSystem, m.SourceCustomerId },
                c => new { c.Nmsc, c.Context, c.SourceSystem, c.SourceCustomerId }, (m, c) => c)
            .Where(c => c.Id != ownId)
            .OrderBy(c => c.Id)
            .Select(c => new RecordRow(
                c,
                db.ConsentEntries.Where(e => e.CustomerId == c.Id).ToList(),
                db.ChannelEntries.Where(e => e.CustomerId == c.Id).ToList(),
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied).Max(r => (long?)r.Sequence),
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                    .OrderByDescending(r => r.Sequence).Select(r => r.CommandTimestamp).FirstOrDefault()));
}
