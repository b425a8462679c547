using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Bulk;

/// <summary>How far an export got: records written so far (also when it fails or is cut off).</summary>
public sealed class ExportProgress
{
    public int Records { get; set; }
}

/// <summary>
/// Writes the validated consent of one organisation and context as the file of seed 004 §3.6.3 (the §3.5 upload format):
/// a JSON array of envelopes {context, nmsc, sourceSystemName, sourceCustomerId, data}, where data is the record's own
/// current applied state. Records are read in keyset batches and written straight to the stream; the next batch is read
/// while the last one is written (its contacts opened as they are written), so memory holds two batches, however large
/// the organisation. All batches read one database snapshot, so the file is consistent as of its start. On PostgreSQL a
/// batch is two round trips read with Npgsql (<see cref="ReadOnPostgresAsync"/>): the records, then their consents and
/// channels; on SQLite, EF Core queries.
/// </summary>
public sealed class ExportWriter(ConsentDb db, PersonKeys keys, IOptions<ExportOptions> options)
{
    const int FlushBytes = 64 * 1024;

    static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// What the file holds of one record: its row (its contact still sealed: it is opened as the record is written, so
    /// that reading the next batch and writing this one share the work), its consents and its channels.
    /// </summary>
    sealed record ExportRecord(RecordRow Row, IReadOnlyList<ConsentEntry> Consents, IReadOnlyList<ChannelEntry> Channels);

    /// <summary>
    /// The records of one batch that have validated consent, the last id the batch looked at (where the next starts),
    /// and whether more may follow.
    /// </summary>
    sealed record ExportBatch(List<ExportRecord> Records, long Last, bool More);

    /// <summary>A record of a batch as read, before its contact is opened; no applied change means no validated consent.</summary>
    sealed record RecordRow(
        long Id, string SourceSystem, string SourceCustomerId, string? Language, string? Country, long? LatestApplied,
        DateTime? CommandTimestamp, string? ProtectedKey, byte[]? SealedContact);

    public async Task WriteAsync(Stream body, string context, string nmsc, ExportProgress progress, CancellationToken ct)
    {
        await using var snapshot = await LedgerVerifier.SnapshotAsync(db, ct);
        await using var json = new Utf8JsonWriter(body, Options);
        json.WriteStartArray();
        Task<ExportBatch>? reading = ReadAsync(context, nmsc, after: 0, ct);
        try
        {
            while (reading is not null)
            {
                var batch = await reading;
                // Only this read uses the context while the batch is written.
                reading = batch.More ? ReadAsync(context, nmsc, batch.Last, ct) : null;
                foreach (var record in batch.Records)
                {
                    WriteRecord(json, context, nmsc, record, PersonalDataVault.OpenContact(record.Row.Id, record.Row.SealedContact, record.Row.ProtectedKey, keys));
                    progress.Records++;
                    if (json.BytesPending > FlushBytes) await json.FlushAsync(ct);
                }
                await json.FlushAsync(ct);
            }
        }
        finally
        {
            // A write that failed (the download cut off) leaves a read running on the context: it ends before the
            // snapshot does and before the caller records the export.
            if (reading is not null) await ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        json.WriteEndArray();
        await json.FlushAsync(ct);
    }

    async Task<ExportBatch> ReadAsync(string context, string nmsc, long after, CancellationToken ct)
    {
        var batchSize = options.Value.BatchSize;
        var (rows, consents, channels) = db.Provider == DatabaseProvider.Postgres
            ? await ReadOnPostgresAsync(context, nmsc, after, batchSize, ct)
            : await ReadOnSqliteAsync(context, nmsc, after, batchSize, ct);
        var records = new List<ExportRecord>(rows.Count);
        foreach (var row in rows)
        {
            if (row.LatestApplied is null) continue;
            records.Add(new ExportRecord(row, consents[row.Id].ToList(), channels[row.Id].ToList()));
        }
        return new ExportBatch(records, rows.Count == 0 ? after : rows[^1].Id, rows.Count == batchSize);
    }


    /// <summary>
    /// The batch's records in id order, each with its latest applied change, key and sealed contact. Each of those is an
    /// index probe per record (a lateral subquery with LIMIT 1, a scalar subquery): joins here were planned as hash
    /// joins reading the whole of person_keys and personal_data on every batch.
    /// </summary>
    const string RecordsStatement =
        $"""
        SELECT c."Id", c."SourceSystem", c."SourceCustomerId", c."Language", c."Country", a."Sequence", a."CommandTimestamp",
               (SELECT k."ProtectedKey" FROM person_keys k WHERE k."CustomerId" = c."Id"), p."Sealed"
        FROM customers c
        LEFT JOIN LATERAL (SELECT r."Sequence", r."CommandTimestamp" FROM change_requests r
                           WHERE r."CustomerId" = c."Id" AND r."Status" = '{ChangeStatus.Applied}' ORDER BY r."Sequence" DESC LIMIT 1) a ON true
        LEFT JOIN LATERAL (SELECT d."Sealed" FROM personal_data d
                           WHERE d."Kind" = '{PersonalDataKinds.Contact}' AND d."Reference" = c."Id"::text LIMIT 1) p ON true
        WHERE c."Nmsc" = $1 AND c."Context" = $2 AND c."Id" > $3
        ORDER BY c."Id"
        LIMIT $4
        """;

    /// <summary>
    /// The consents and channels of the records given by id, in (record, code) order, code ordinal as the seed's file.
    /// By an array of ids: the first column of each table's key, which a generic plan probes; a subquery selecting the
    /// batch was planned as a hash join over the whole table.
    /// </summary>
    static readonly string[] EntryStatements =
    [
        $"""SELECT {RecordRows.ConsentColumns} FROM consent_entries WHERE "CustomerId" = ANY($1) ORDER BY "CustomerId", "Code" COLLATE "C" """,
        $"""SELECT {RecordRows.ChannelColumns} FROM channel_entries WHERE "CustomerId" = ANY($1) ORDER BY "CustomerId", "Code" COLLATE "C" """,
    ];

    Task<(List<RecordRow>, ILookup<long, ConsentEntry>, ILookup<long, ChannelEntry>)> ReadOnPostgresAsync(
        string context, string nmsc, long after, int batchSize, CancellationToken ct) =>
        ContextConnection.RunAsync(db, async (connection, transaction) =>
        {
            var rows = new List<RecordRow>(batchSize);
            await using (var batch = RecordRows.Batch(connection, transaction, [RecordsStatement], nmsc, context, after, batchSize))
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    rows.Add(new RecordRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), RecordRows.NullableString(reader, 3),
                        RecordRows.NullableString(reader, 4), RecordRows.NullableInt64(reader, 5), RecordRows.NullableDateTime(reader, 6),
                        RecordRows.NullableString(reader, 7), reader.IsDBNull(8) ? null : reader.GetFieldValue<byte[]>(8)));
                }
            }
            var ids = rows.Where(r => r.LatestApplied is not null).Select(r => r.Id).ToArray();
            if (ids.Length == 0) return (rows, Enumerable.Empty<ConsentEntry>().ToLookup(e => e.CustomerId), Enumerable.Empty<ChannelEntry>().ToLookup(e => e.CustomerId));
            await using (var batch = RecordRows.Batch(connection, transaction, EntryStatements, ids))
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                var consents = await RecordRows.ConsentsAsync(reader, ct);
                await reader.NextResultAsync(ct);
                var channels = await RecordRows.ChannelsAsync(reader, ct);
                return (rows, consents.ToLookup(e => e.CustomerId), channels.ToLookup(e => e.CustomerId));
            }
        }, ct);

    async Task<(List<RecordRow>, ILookup<long, ConsentEntry>, ILookup<long, ChannelEntry>)> ReadOnSqliteAsync(
        string context, string nmsc, long after, int batchSize, CancellationToken ct)
    {
        // The next records in id order, each with its latest applied change, key and sealed contact as subqueries.
        var rows = await db.Customers.AsNoTracking()
            .Where(c => c.Nmsc == nmsc && c.Context == context && c.Id > after)
            .OrderBy(c => c.Id)
            .Take(batchSize)
            .Select(c => new RecordRow(c.Id, c.SourceSystem, c.SourceCustomerId, c.Language, c.Country,
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                    .OrderByDescending(r => r.Sequence).Select(r => (long?)r.Sequence).FirstOrDefault(),
                db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                    .OrderByDescending(r => r.Sequence).Select(r => r.CommandTimestamp).FirstOrDefault(),
                db.PersonKeys.Where(k => k.CustomerId == c.Id).Select(k => k.ProtectedKey).FirstOrDefault(),
                db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact && p.Reference == c.Id.ToString())
                    .Select(p => p.Sealed).FirstOrDefault()))
            .ToListAsync(ct);
        var ids = rows.Where(r => r.LatestApplied is not null).Select(r => r.Id).ToList();
        var consents = await db.ConsentEntries.AsNoTracking().Where(e => ids.Contains(e.CustomerId)).ToListAsync(ct);
        var channels = await db.ChannelEntries.AsNoTracking().Where(e => ids.Contains(e.CustomerId)).ToListAsync(ct);
        return (rows,
            consents.OrderBy(e => e.Code, StringComparer.Ordinal).ToLookup(e => e.CustomerId),
            channels.OrderBy(e => e.Code, StringComparer.Ordinal).ToLookup(e => e.CustomerId));
    }

    // Member order and names as in seed 004 §3.6.3. Strings the hub has no value for are written "", as in the seed's file;
    // communication attributes it does not know are null, so that the file uploads again unchanged (§3.5). Names are
    // encoded once, and instants formatted into a buffer: per record, escaping names and parsing a format string showed.
    static void WriteRecord(Utf8JsonWriter json, string context, string nmsc, ExportRecord record, Contact? contact)
    {
        var row = record.Row;
        Span<char> instant = stackalloc char[HubTime.FormattedLength];
        json.WriteStartObject();
        json.WriteString(Members.Context, context);
        json.WriteString(Members.Nmsc, nmsc);
        json.WriteString(Members.SourceSystemName, row.SourceSystem);
        json.WriteString(Members.SourceCustomerId, row.SourceCustomerId);
        json.WriteStartObject(Members.Data);
        json.WriteString(Members.CommandType, Members.Requested);
        WriteInstantOrNull(json, Members.CommandTimestamp, row.CommandTimestamp, instant);

        json.WriteStartObject(Members.Consent);
        json.WriteString(Members.Nmsc, nmsc);
        json.WriteBoolean(Members.GdprCompliant, true);
        json.WriteBoolean(Members.Validated, true);
        json.WriteBoolean(Members.Notify, false);
        if (row.Language is null && row.Country is null && contact?.Email is null && contact?.Phone is null)
        {
            json.WriteNull(Members.CommunicationAttributes);
        }
        else
        {
            json.WriteStartObject(Members.CommunicationAttributes);
            WriteStringOrNull(json, Members.Language, row.Language);
            WriteStringOrNull(json, Members.Country, row.Country);
            WriteStringOrNull(json, Members.Email, contact?.Email);
            // The hub's extension of the seed, written only when known (as in the consolidated read).
            if (contact?.Phone is { } phone) json.WriteString(Members.Phone, phone);
            json.WriteEndObject();
        }
        json.WriteStartArray(Members.ConsentAttributes);
        foreach (var c in record.Consents)
        {
            json.WriteStartObject();
            json.WriteString(Members.ConsentCode, c.Code);
            json.WriteBoolean(Members.ConsentFlag, c.Flag);
            json.WriteString(Members.ConsentDescription, c.Description ?? "");
            json.WriteString(Members.ConsentLongDescription, c.LongDescription ?? "");
            json.WriteString(Members.ValidationReference, c.ValidationReference ?? "");
            json.WriteString(Members.OriginSourceSystem, c.OriginSourceSystem ?? "");
            json.WriteString(Members.ModifiedByOrganization, c.ModifiedByOrganization ?? "");
            json.WriteString(Members.ModifiedByUser, c.ModifiedByUser ?? "");
            json.WriteString(Members.RequestedTimestamp, instant[..HubTime.Format(c.RequestedAt, instant)]);
            // Applied consent is validated: the hub sets the validation time when the change did not carry one.
            WriteInstantOrNull(json, Members.ValidatedTimestamp, c.ValidatedAt, instant);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteStartObject(Members.Channel);
        json.WriteString(Members.Nmsc, nmsc);
        json.WriteStartArray(Members.ChannelAttributes);
        foreach (var c in record.Channels)
        {
            json.WriteStartObject();
            json.WriteString(Members.ChannelCode, c.Code);
            json.WriteBoolean(Members.ChannelFlag, c.Flag);
            json.WriteString(Members.RequestedTimestamp, instant[..HubTime.Format(c.RequestedAt, instant)]);
            json.WriteString(Members.OriginSourceSystem, c.OriginSourceSystem ?? "");
            json.WriteString(Members.ModifiedByOrganization, c.ModifiedByOrganization ?? "");
            json.WriteString(Members.ModifiedByUser, c.ModifiedByUser ?? "");
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteEndObject();
        json.WriteEndObject();
    }

    static void WriteStringOrNull(Utf8JsonWriter json, JsonEncodedText name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }

    static void WriteInstantOrNull(Utf8JsonWriter json, JsonEncodedText name, DateTime? value, Span<char> buffer)
    {
        if (value is { } instant) json.WriteString(name, buffer[..HubTime.Format(instant, buffer)]);
        else json.WriteNull(name);
    }

    /// <summary>The file's member names and fixed values, encoded once.</summary>
    static class Members
    {
        public static readonly JsonEncodedText Context = JsonEncodedText.Encode("context");
        public static readonly JsonEncodedText Nmsc = JsonEncodedText.Encode("nmsc");
        public static readonly JsonEncodedText SourceSystemName = JsonEncodedText.Encode("sourceSystemName");
        public static readonly JsonEncodedText SourceCustomerId = JsonEncodedText.Encode("sourceCustomerId");
        public static readonly JsonEncodedText Data = JsonEncodedText.Encode("data");
        public static readonly JsonEncodedText CommandType = JsonEncodedText.Encode("commandType");
        public static readonly JsonEncodedText Requested = JsonEncodedText.Encode(CommandTypes.Requested);
        public static readonly JsonEncodedText CommandTimestamp = JsonEncodedText.Encode("commandTimestamp");
        public static readonly JsonEncodedText Consent = JsonEncodedText.Encode("consent");
        public static readonly JsonEncodedText GdprCompliant = JsonEncodedText.Encode("gdprCompliant");
        public static readonly JsonEncodedText Validated = JsonEncodedText.Encode("validated");
        public static readonly JsonEncodedText Notify = JsonEncodedText.Encode("notify");
        public static readonly JsonEncodedText CommunicationAttributes = JsonEncodedText.Encode("communicationAttributes");
        public static readonly JsonEncodedText Language = JsonEncodedText.Encode("language");
        public static readonly JsonEncodedText Country = JsonEncodedText.Encode("country");
        public static readonly JsonEncodedText Email = JsonEncodedText.Encode("email");
        public static readonly JsonEncodedText Phone = JsonEncodedText.Encode("phone");
        public static readonly JsonEncodedText ConsentAttributes = JsonEncodedText.Encode("consentAttributes");
        public static readonly JsonEncodedText ConsentCode = JsonEncodedText.Encode("consentCode");
        public static readonly JsonEncodedText ConsentFlag = JsonEncodedText.Encode("consentFlag");
        public static readonly JsonEncodedText ConsentDescription = JsonEncodedText.Encode("consentDescription");
        public static readonly JsonEncodedText ConsentLongDescription = JsonEncodedText.Encode("consentLongDescription");
        public static readonly JsonEncodedText ValidationReference = JsonEncodedText.Encode("validationReference");
        public static readonly JsonEncodedText OriginSourceSystem = JsonEncodedText.Encode("originSourceSystem");
        public static readonly JsonEncodedText ModifiedByOrganization = JsonEncodedText.Encode("modifiedByOrganization");
        public static readonly JsonEncodedText ModifiedByUser = JsonEncodedText.Encode("modifiedByUser");
        public static readonly JsonEncodedText RequestedTimestamp = JsonEncodedText.Encode("requestedTimestamp");
        public static readonly JsonEncodedText ValidatedTimestamp = JsonEncodedText.Encode("validatedTimestamp");
        public static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
        public static readonly JsonEncodedText ChannelAttributes = JsonEncodedText.Encode("channelAttributes");
        public static readonly JsonEncodedText ChannelCode = JsonEncodedText.Encode("channelCode");
        public static readonly JsonEncodedText ChannelFlag = JsonEncodedText.Encode("channelFlag");
    }
}
