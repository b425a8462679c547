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
/// current applied state. Customers are read in keyset batches, each batch's entries with one query per table, and
/// written straight to the stream: memory holds one batch, however large the organisation. All batches read one
/// database snapshot, so the file is consistent as of its start.
/// </summary>
public sealed class ExportWriter(ConsentDb db, PersonalDataVault vault, IOptions<ExportOptions> options)
{
    const int FlushBytes = 64 * 1024;

    static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    sealed record Row(long Id, string SourceSystem, string SourceCustomerId, string? Language, string? Country, long? LatestApplied, DateTime? CommandTimestamp);

    public async Task WriteAsync(Stream body, string context, string nmsc, ExportProgress progress, CancellationToken ct)
    {
        await using var snapshot = await LedgerVerifier.SnapshotAsync(db, ct);
        await using var json = new Utf8JsonWriter(body, Options);
        json.WriteStartArray();
        var batchSize = options.Value.BatchSize;
        long after = 0;
        while (true)
        {
            // The next records in id order, each with an index probe for its latest applied change. An EXISTS filter here
            // is planned as a join or hashed subplan reading change_requests from its start on every batch.
            var batch = await db.Customers.AsNoTracking()
                .Where(c => c.Nmsc == nmsc && c.Context == context && c.Id > after)
                .OrderBy(c => c.Id)
                .Take(batchSize)
                .Select(c => new Row(c.Id, c.SourceSystem, c.SourceCustomerId, c.Language, c.Country,
                    db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                        .OrderByDescending(r => r.Sequence).Select(r => (long?)r.Sequence).FirstOrDefault(),
                    db.ChangeRequests.Where(r => r.CustomerId == c.Id && r.Status == ChangeStatus.Applied)
                        .OrderByDescending(r => r.Sequence).Select(r => r.CommandTimestamp).FirstOrDefault()))
                .ToListAsync(ct);
            if (batch.Count == 0) break;
            var (last, more) = (batch[^1].Id, batch.Count == batchSize);
            // Records with no applied change have no validated consent: they are left out.
            batch.RemoveAll(r => r.LatestApplied is null);
            var ids = batch.Select(r => r.Id).ToList();
            var consents = (await db.ConsentEntries.AsNoTracking().Where(e => ids.Contains(e.CustomerId)).ToListAsync(ct)).ToLookup(e => e.CustomerId);
            var channels = (await db.ChannelEntries.AsNoTracking().Where(e => ids.Contains(e.CustomerId)).ToListAsync(ct)).ToLookup(e => e.CustomerId);
            var contacts = await vault.ContactsAsync(ids, ct);
            foreach (var row in batch)
            {
                WriteRecord(json, context, nmsc, row, contacts.GetValueOrDefault(row.Id), consents[row.Id], channels[row.Id]);
                progress.Records++;
                if (json.BytesPending > FlushBytes) await json.FlushAsync(ct);
            }
            await json.FlushAsync(ct);
            if (!more) break;
            after = last;
        }
        json.WriteEndArray();
        await json.FlushAsync(ct);
    }

    // Member order and names as in seed 004 §3.6.3. Strings the hub has no value for are written "", as in the seed's file;
    // communication attributes it does not know are null, so that the file uploads again unchanged (§3.5).
    static void WriteRecord(Utf8JsonWriter json, string context, string nmsc, Row row, Contact? contact,
        IEnumerable<ConsentEntry> consents, IEnumerable<ChannelEntry> channels)
    {
        json.WriteStartObject();
        json.WriteString("context", context);
        json.WriteString("nmsc", nmsc);
        json.WriteString("sourceSystemName", row.SourceSystem);
        json.WriteString("sourceCustomerId", row.SourceCustomerId);
        json.WriteStartObject("data");
        json.WriteString("commandType", CommandTypes.Requested);
        WriteStringOrNull(json, "commandTimestamp", HubTime.Format(row.CommandTimestamp));

        json.WriteStartObject("consent");
        json.WriteString("nmsc", nmsc);
        json.WriteBoolean("gdprCompliant", true);
        json.WriteBoolean("validated", true);
        json.WriteBoolean("notify", false);
        if (row.Language is null && row.Country is null && contact?.Email is null && contact?.Phone is null)
        {
            json.WriteNull("communicationAttributes");
        }
        else
        {
            json.WriteStartObject("communicationAttributes");
            WriteStringOrNull(json, "language", row.Language);
            WriteStringOrNull(json, "country", row.Country);
            WriteStringOrNull(json, "email", contact?.Email);
            // The hub's extension of the seed, written only when known (as in the consolidated read).
            if (contact?.Phone is { } phone) json.WriteString("phone", phone);
            json.WriteEndObject();
        }
        json.WriteStartArray("consentAttributes");
        foreach (var c in consents.OrderBy(c => c.Code, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            json.WriteString("consentCode", c.Code);
            json.WriteBoolean("consentFlag", c.Flag);
            json.WriteString("consentDescription", c.Description ?? "");
            json.WriteString("consentLongDescription", c.LongDescription ?? "");
            json.WriteString("validationReference", c.ValidationReference ?? "");
            json.WriteString("originSourceSystem", c.OriginSourceSystem ?? "");
            json.WriteString("modifiedByOrganization", c.ModifiedByOrganization ?? "");
            json.WriteString("modifiedByUser", c.ModifiedByUser ?? "");
            json.WriteString("requestedTimestamp", HubTime.Format(c.RequestedAt));
            // Applied consent is validated: the hub sets the validation time when the change did not carry one.
            WriteStringOrNull(json, "validatedTimestamp", HubTime.Format(c.ValidatedAt));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteStartObject("channel");
        json.WriteString("nmsc", nmsc);
        json.WriteStartArray("channelAttributes");
        foreach (var c in channels.OrderBy(c => c.Code, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            json.WriteString("channelCode", c.Code);
            json.WriteBoolean("channelFlag", c.Flag);
            json.WriteString("requestedTimestamp", HubTime.Format(c.RequestedAt));
            json.WriteString("originSourceSystem", c.OriginSourceSystem ?? "");
            json.WriteString("modifiedByOrganization", c.ModifiedByOrganization ?? "");
            json.WriteString("modifiedByUser", c.ModifiedByUser ?? "");
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteEndObject();
        json.WriteEndObject();
    }

    static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }
}
