using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ConsentHub.Consents;

/// <summary>
/// What a change needs of its record, read for update in one round trip on PostgreSQL: the customer row (locked), its
/// person key, its consent and channel entries and its sealed contact row. A batch of five statements: the first takes
/// the row lock and the four after it run once it is held, each with a snapshot of its own (read committed), so they see
/// what the previous holder of the lock committed. The rows are attached to the context as read, so a change updates
/// them in place as it would rows EF Core had queried.
/// </summary>
/// <param name="ProtectedKey">The record's person key as stored, or null when it has none (erased, or written by hand).</param>
/// <param name="Contact">The record's sealed contact row, tracked; null when it has none.</param>
sealed record LockedRecord(
    Customer Customer, string? ProtectedKey, List<ConsentEntry> Consents, List<ChannelEntry> Channels, SealedPersonalData? Contact)
{
    const string RecordId = """SELECT "Id" FROM customers WHERE "SourceSystemId" = $1 AND "SourceCustomerId" = $2""";

    static readonly string[] Statements =
    [
        $"""SELECT {RecordRows.CustomerColumns("c")} FROM customers c WHERE c."SourceSystemId" = $1 AND c."SourceCustomerId" = $2 FOR UPDATE""",
        $"""SELECT "ProtectedKey" FROM person_keys WHERE "CustomerId" = ({RecordId})""",
        $"""SELECT {RecordRows.ConsentColumns} FROM consent_entries WHERE "CustomerId" = ({RecordId})""",
        $"""SELECT {RecordRows.ChannelColumns} FROM channel_entries WHERE "CustomerId" = ({RecordId})""",
        $"""SELECT {RecordRows.ContactColumns} FROM personal_data WHERE "Kind" = '{PersonalDataKinds.Contact}' AND "Reference" = ({RecordId})::text""",
    ];

    /// <summary>The record, locked and attached to <paramref name="db"/>; null when the source system has no such record.</summary>
    public static async Task<LockedRecord?> ReadAsync(ConsentDb db, long sourceSystemId, string sourceCustomerId, CancellationToken ct) =>
        (await ReadManyAsync(db, [(sourceSystemId, sourceCustomerId)], ct)).GetValueOrDefault((sourceSystemId, sourceCustomerId));

    /// <summary>
    /// Several records, each locked and read as <see cref="ReadAsync"/> reads one, all in one round trip: a group of changes
    /// (<see cref="GroupCommit"/>) reads its records together. The records are locked in the order given; those the source
    /// systems do not have are absent from the answer.
    /// </summary>
    public static Task<Dictionary<(long SourceSystemId, string SourceCustomerId), LockedRecord>> ReadManyAsync(
        ConsentDb db, IReadOnlyCollection<(long SourceSystemId, string SourceCustomerId)> records, CancellationToken ct) =>
        ContextConnection.RunAsync(db, async (connection, transaction) =>
        {
            var read = new Dictionary<(long, string), LockedRecord>();
            if (records.Count == 0) return read;
            var batch = new NpgsqlBatch(connection, transaction);
            await using (batch)
            {
                foreach (var (sourceSystemId, sourceCustomerId) in records) RecordRows.Add(batch, Statements, sourceSystemId, sourceCustomerId);
                await using var reader = await batch.ExecuteReaderAsync(ct);
                var first = true;
                foreach (var key in records)
                {
                    if (!first) await reader.NextResultAsync(ct);
                    first = false;
                    var customer = await reader.ReadAsync(ct) ? RecordRows.Customer(reader) : null;
                    await reader.NextResultAsync(ct);
                    var protectedKey = await reader.ReadAsync(ct) ? reader.GetString(0) : null;
                    await reader.NextResultAsync(ct);
                    var consents = await RecordRows.ConsentsAsync(reader, ct);
                    await reader.NextResultAsync(ct);
                    var channels = await RecordRows.ChannelsAsync(reader, ct);
                    await reader.NextResultAsync(ct);
                    var contact = await reader.ReadAsync(ct) ? RecordRows.Contact(reader) : null;
                    if (customer is not null) read[key] = new LockedRecord(customer, protectedKey, consents, channels, contact);
                }
            }
            foreach (var record in read.Values)
            {
                db.Customers.Attach(record.Customer);
                db.ConsentEntries.AttachRange(record.Consents);
                db.ChannelEntries.AttachRange(record.Channels);
                if (record.Contact is not null) db.PersonalData.Attach(record.Contact);
            }
            return read;
        }, ct);

    /// <summary>A record created in this unit of work: nothing stored of it yet.</summary>
    public static LockedRecord New(Customer customer) => new(customer, null, [], [], null);
}
