using System.Linq.Expressions;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Subscriptions;

/// <summary>
/// The consolidated current subscription data of one record, as GET …/subscription-data answers it without ?at=.
/// Round trips were most of that read's cost, so the record, its state, its key, its sealed contact, its cluster and
/// the command timestamp of its latest applied change come in one round trip; only a record in a cluster costs a
/// second one, for the records of its cluster within its context. Each subquery adds work to every read, so the first
/// round trip asks only what every read needs. On PostgreSQL it is one statement read with Npgsql
/// (<see cref="OwnRecordOnPostgresAsync"/>), the entries as JSON aggregates in the record's row, where EF Core's one
/// query joining both entry tables returns consents × channels rows to take apart.
/// </summary>
public static class CurrentSubscriptionData
{
    public sealed record Answer(Customer Customer, SubscriptionState State, DateTime? CommandTimestamp);

    /// <returns>Null when no such record exists.</returns>
    public static async Task<Answer?> ReadAsync(
        ConsentDb db, PersonKeys keys, string nmsc, string context, string sourceSystem, string sourceCustomerId, CancellationToken ct)
    {
        var own = db.Provider == DatabaseProvider.Postgres
            ? await OwnRecordOnPostgresAsync(db, nmsc, context, sourceSystem, sourceCustomerId, ct)
            : await OwnRecordOnSqlite(db, nmsc, context, sourceSystem, sourceCustomerId, ct);
        if (own is null)
        {
            // A record its cluster names but that never sent a change of its own is sent the cluster's data: it reads it too.
            var clusterId = await ClusterMembership.ClusterIdAsync(db, nmsc, new RecordKey(context, sourceSystem, sourceCustomerId), ct);
            if (clusterId is null) return null;
            own = new OwnRecordRow(Unseen(nmsc, context, sourceSystem, sourceCustomerId), [], [], null, clusterId, null, null);
        }
        var customer = own.Customer;
        var state = SubscriptionState.Of(customer, own.Consents, own.Channels, PersonalDataVault.OpenContact(customer.Id, own.SealedContact, own.ProtectedKey, keys));
        if (own.ClusterId is null) return new Answer(customer, state, own.LatestCommandTimestamp);

        var records = new List<ClusterRecord>();
        await foreach (var record in ClusterRecords(db)(db, nmsc, own.ClusterId, context).WithCancellation(ct)) records.Add(record);
        var others = records.Where(r => r.Customer.Id != customer.Id).ToList();
        if (others.Count == 0) return new Answer(customer, state, own.LatestCommandTimestamp);

        var policy = others[0].MergePolicy ?? throw new InvalidOperationException($"Organisation {nmsc} of customer {customer.Id} is missing.");
        // Only the record asked about has its contact opened: the merge keeps its communication attributes alone.
        state = SubscriptionState.Merge(state, others.Select(o => SubscriptionState.Of(o.Customer, o.Consents, o.Channels, contact: null)), policy);
        // The command timestamp of the cluster's latest applied change (in ledger order), whichever record it was sent for.
        var latest = records.Where(r => r.LatestSequence is not null).MaxBy(r => r.LatestSequence);
        return new Answer(customer, state, latest?.LatestCommandTimestamp);
    }

    /// <summary>
    /// For a record that a cluster names but that never sent a change of its own, a stand-in without data (id 0, which
    /// no stored row has), so that it reads as its cluster; null when no cluster names it.
    /// </summary>
    public static async Task<Customer?> ClusterOnlyRecordAsync(
        ConsentDb db, string nmsc, string context, string sourceSystem, string sourceCustomerId, CancellationToken ct) =>
        await ClusterMembership.ClusterIdAsync(db, nmsc, new RecordKey(context, sourceSystem, sourceCustomerId), ct) is null
            ? null : Unseen(nmsc, context, sourceSystem, sourceCustomerId);

    static Customer Unseen(string nmsc, string context, string sourceSystem, string sourceCustomerId) =>
        new() { Id = 0, Nmsc = nmsc, Context = context, SourceSystem = sourceSystem, SourceCustomerId = sourceCustomerId };

    sealed record OwnRecordRow(
        Customer Customer, List<ConsentEntry> Consents, List<ChannelEntry> Channels, DateTime? LatestCommandTimestamp,
        string? ClusterId, string? ProtectedKey, byte[]? SealedContact);

    /// <summary>A record of the cluster with its latest applied change (by ledger order) and its organisation's merge policy.</summary>
    sealed record ClusterRecord(
        Customer Customer, List<ConsentEntry> Consents, List<ChannelEntry> Channels, long? LatestSequence, DateTime? LatestCommandTimestamp,
        string? MergePolicy);

    // A compiled query serves only the model it first ran with, so each provider has its own.
    static Func<ConsentDb, string, string, string, IAsyncEnumerable<ClusterRecord>> ClusterRecords(ConsentDb db) =>
        db.Provider == DatabaseProvider.Postgres ? ClusterRecordsOnPostgres : ClusterRecordsOnSqlite;

    static readonly Func<ConsentDb, string, string, string, string, CancellationToken, Task<OwnRecordRow?>> OwnRecordOnSqlite =
        EF.CompileAsyncQuery(OwnRecordQuery);

    static readonly Func<ConsentDb, string, string, string, IAsyncEnumerable<ClusterRecord>> ClusterRecordsOnPostgres =
        EF.CompileAsyncQuery(ClusterRecordsQuery), ClusterRecordsOnSqlite = EF.CompileAsyncQuery(ClusterRecordsQuery);

    static Expression<Func<ConsentDb, string, string, string, string, CancellationToken, OwnRecordRow?>> OwnRecordQuery =>
        (db, nmsc, context, sourceSystem, sourceCustomerId, ct) => db.Customers
            .AsNoTracking()
            .Where(c => c.Nmsc == nmsc && c.Context == context && c.SourceSystem == sourceSystem && c.SourceCustomerId == sourceCustomerId)
            .Select(c => new OwnRecordRow(
                c,
                db.ConsentEntries.Where(e => e.CustomerId == c.Id).ToList(),
                db.ChannelEntries.Where(e => e.CustomerId == c.Id).ToList(),
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                    .OrderByDescending(r => r.Sequence).Select(r => r.CommandTimestamp).FirstOrDefault(),
                db.ClusterMembers
                    .Where(m => m.Nmsc == c.Nmsc && m.Context == c.Context && m.SourceSystem == c.SourceSystem && m.SourceCustomerId == c.SourceCustomerId)
                    .Select(m => m.ClusterId).FirstOrDefault(),
                db.PersonKeys.Where(k => k.CustomerId == c.Id).Select(k => k.ProtectedKey).FirstOrDefault(),
                db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact && p.Reference == c.Id.ToString())
                    .Select(p => p.Sealed).FirstOrDefault()))
            .SingleOrDefault();

    /// <summary>
    /// What <see cref="OwnRecordQuery"/> asks, as one statement: the record with its scalars, then its consents and its
    /// channels as two JSON aggregates (<see cref="RecordRows.ConsentsAggregate"/>). It was a batch of three statements
    /// (the record, its consents, its channels); PostgreSQL ran the one statement in about half the time of the three.
    /// </summary>
    static readonly string OwnRecordStatement =
        $"""
        SELECT {RecordRows.CustomerColumns("c")},
               (SELECT r."CommandTimestamp" FROM change_requests r WHERE r."CustomerId" = c."Id" AND r."Status" = '{ChangeStatus.Applied}'
                ORDER BY r."Sequence" DESC LIMIT 1),
               (SELECT m."ClusterId" FROM cluster_members m WHERE m."Nmsc" = c."Nmsc" AND m."Context" = c."Context"
                AND m."SourceSystem" = c."SourceSystem" AND m."SourceCustomerId" = c."SourceCustomerId" LIMIT 1),
               (SELECT k."ProtectedKey" FROM person_keys k WHERE k."CustomerId" = c."Id" LIMIT 1),
               p."Sealed",
               {RecordRows.ConsentsAggregate("c.\"Id\"")},
               {RecordRows.ChannelsAggregate("c.\"Id\"")}
        FROM customers c
        LEFT JOIN LATERAL (SELECT d."Sealed" FROM personal_data d
                           WHERE d."Kind" = '{PersonalDataKinds.Contact}' AND d."Reference" = c."Id"::text LIMIT 1) p ON true
        WHERE c."Nmsc" = $1 AND c."Context" = $2 AND c."SourceSystem" = $3 AND c."SourceCustomerId" = $4
        """;

    /// <summary><see cref="OwnRecordQuery"/> on PostgreSQL: <see cref="OwnRecordStatement"/>, its row read by position.</summary>
    static Task<OwnRecordRow?> OwnRecordOnPostgresAsync(
        ConsentDb db, string nmsc, string context, string sourceSystem, string sourceCustomerId, CancellationToken ct) =>
        ContextConnection.RunAsync(db, async (connection, transaction) =>
        {
            await using var batch = RecordRows.Batch(connection, transaction, [OwnRecordStatement], nmsc, context, sourceSystem, sourceCustomerId);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return null;
            const int next = RecordRows.CustomerColumnCount;
            var customer = RecordRows.Customer(reader);
            var commandTimestamp = RecordRows.NullableDateTime(reader, next);
            var clusterId = RecordRows.NullableString(reader, next + 1);
            var protectedKey = RecordRows.NullableString(reader, next + 2);
            var sealedContact = reader.IsDBNull(next + 3) ? null : reader.GetFieldValue<byte[]>(next + 3);
            var consents = RecordRows.ConsentsFromJson(reader, next + 4);
            var channels = RecordRows.ChannelsFromJson(reader, next + 5);
            return new OwnRecordRow(customer, consents, channels, commandTimestamp, clusterId, protectedKey, sealedContact);
        }, ct);

    /// <summary>The records of a cluster within one context that the hub knows, in id order.</summary>
    static Expression<Func<ConsentDb, string, string, string, IQueryable<ClusterRecord>>> ClusterRecordsQuery =>
        (db, nmsc, clusterId, context) => db.ClusterMembers
            .AsNoTracking()
            .Where(m => m.Nmsc == nmsc && m.ClusterId == clusterId && m.Context == context)
            .Join(db.Customers, m => new { m.Nmsc, m.Context, m.SourceSystem, m.SourceCustomerId },
                c => new { c.Nmsc, c.Context, c.SourceSystem, c.SourceCustomerId }, (m, c) => c)
            .OrderBy(c => c.Id)
            .Select(c => new ClusterRecord(
                c,
                db.ConsentEntries.Where(e => e.CustomerId == c.Id).ToList(),
                db.ChannelEntries.Where(e => e.CustomerId == c.Id).ToList(),
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied).Max(r => (long?)r.Sequence),
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                    .OrderByDescending(r => r.Sequence).Select(r => r.CommandTimestamp).FirstOrDefault(),
                db.Organisations.Where(o => o.Nmsc == c.Nmsc).Select(o => o.MergePolicy).FirstOrDefault()));
}
