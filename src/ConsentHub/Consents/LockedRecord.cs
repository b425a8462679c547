using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

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
    public static Task<LockedRecord?> ReadAsync(ConsentDb db, long sourceSystemId, string sourceCustomerId, CancellationToken ct) =>
        ContextConnection.RunAsync(db, async (connection, transaction) =>
        {
            LockedRecord record;
            await using (var batch = RecordRows.Batch(connection, transaction, Statements, sourceSystemId, sourceCustomerId))
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct)) return null;
                var customer = RecordRows.Customer(reader);
                await reader.NextResultAsync(ct);
                var protectedKey = await reader.ReadAsync(ct) ? reader.GetString(0) : null;
                await reader.NextResultAsync(ct);
                var consents = await RecordRows.ConsentsAsync(reader, ct);
                await reader.NextResultAsync(ct);
                var channels = await RecordRows.ChannelsAsync(reader, ct);
                await reader.NextResultAsync(ct);
                var contact = await reader.ReadAsync(ct) ? RecordRows.Contact(reader) : null;
                record = new LockedRecord(customer, protectedKey, consents, channels, contact);
            }
            db.Customers.Attach(record.Customer);
            db.ConsentEntries.AttachRange(record.Consents);
            db.ChannelEntries.AttachRange(record.Channels);
            if (record.Contact is not null) db.PersonalData.Attach(record.Contact);
            return record;
        }, ct);

    /// <summary>A record created in this unit of work: nothing stored of it yet.</summary>
    public static LockedRecord New(Customer customer) => new(customer, null, [], [], null);
}
