using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Hosting;

namespace ConsentHub.OptOut;

/// <summary>One record of the seed's answer: the fields as sent (null once erased), then its outcome.</summary>
public sealed record AnsweredRecord(JsonElement? Fields, Guid RecordId, bool Successful, string? UnsuccessfulReason);

/// <summary>
/// The answer of seed 002, written member by member so that its order is the seed's: <c>status</c>,
/// <c>transaction_id</c>, <c>successful</c>, <c>unsuccessful</c>, <c>unsuccessful_ids</c>, <c>results</c>; each result
/// echoes the record's fields in the order sent, then <c>recordID</c> and <c>successful: true</c>, or
/// <c>successful: false</c> and <c>unsuccessful_reason</c>. The same writer answers the upload, its idempotent replay
/// and the transaction read, so the three are the same bytes.
/// </summary>
public static class OptOutAnswer
{
    public const string MediaType = "application/json; charset=utf-8";

    static readonly JsonWriterOptions Options = new()
    {
        Indented = true, IndentSize = 4,
        // Names and addresses are echoed as sent (é, +, &), not as \u escapes; the answer is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] Write(Guid transactionId, IReadOnlyList<AnsweredRecord> records)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteBoolean("status", true);
            json.WriteString("transaction_id", transactionId.ToString());
            json.WriteNumber("successful", records.Count(r => r.Successful));
            json.WriteNumber("unsuccessful", records.Count(r => !r.Successful));
            json.WriteStartArray("unsuccessful_ids");
            for (var i = 0; i < records.Count; i++)
                if (!records[i].Successful) json.WriteNumberValue(i);
            json.WriteEndArray();
            json.WriteStartArray("results");
            foreach (var record in records)
            {
                json.WriteStartObject();
                if (record.Fields is { ValueKind: JsonValueKind.Object } fields)
                {
                    foreach (var field in fields.EnumerateObject().Where(f => OptOutRules.IsEchoed(f.Name)))
                    {
                        json.WritePropertyName(field.Name);
                        field.Value.WriteTo(json);
                    }
                }
                if (record.Successful)
                {
                    json.WriteString("recordID", record.RecordId.ToString());
                    json.WriteBoolean("successful", true);
                }
                else
                {
                    json.WriteBoolean("successful", false);
                    json.WriteString("unsuccessful_reason", record.UnsuccessfulReason);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static IResult Result(byte[] body) => TypedResults.Bytes(body, MediaType);

    /// <summary>A whole-request refusal: problem details with the seed's <c>"status": false</c>, so seed clients see it failed.</summary>
    public static IResult Refused(IResult problem) => problem is Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult details ? new SeedProblem(details) : problem;
}

/// <summary>A record of the seed's request, for the API reference (the route reads the body itself, field by field).</summary>
public sealed record OptOutRecordDTO(
    string? firstname, string? lastname, string? address1, string? address2, string? city, string? state, string? zip,
    string? phone1, string? phone2, string? email1, string? email2, string validation, string? projectid);

/// <summary>One result of the seed's answer, for the API reference.</summary>
public sealed record OptOutResultDTO(
    string? firstname, string? lastname, string? address1, string? address2, string? city, string? state, string? zip,
    string? phone1, string? phone2, string? email1, string? email2, string? validation, string? projectid,
    Guid? recordID, bool successful, string? unsuccessful_reason);

/// <summary>The seed's answer, for the API reference (written by <see cref="OptOutAnswer"/>).</summary>
public sealed record OptOutUploadResponseDTO(
    bool status, Guid transaction_id, int successful, int unsuccessful, IReadOnlyList<int> unsuccessful_ids, IReadOnlyList<OptOutResultDTO> results);

/// <summary>One opt-out record as the organisation's list shows it: its outcome, never the person's values.</summary>
public sealed record OptOutView(
    [property: JsonPropertyName("recordID")] Guid RecordId,
    [property: JsonPropertyName("transaction_id")] Guid TransactionId,
    string ReceivedAt,
    bool Successful,
    [property: JsonPropertyName("unsuccessful_reason")] string? UnsuccessfulReason,
    string? Validation,
    [property: JsonPropertyName("projectid")] string? ProjectId,
    string Source,
    IReadOnlyList<string> Kinds,
    int MatchedRecords,
    int ChangesApplied,
    bool Applied,
    long? LedgerIndex);

public sealed record OptOutPage(
    int Count,
    IReadOnlyList<OptOutView> OptOuts,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);
