using System.Text;
using System.Text.Json;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Bulk;

/// <summary>
/// The rules of seed 004 §3.5 for one record: the envelope names the upload's own organisation, context and source
/// system; only validated, GDPR-compliant REQUESTED consent; the data passes every rule of a single submission.
/// </summary>
public static class UploadRules
{
    public sealed record Checked(UploadRecord? Record, string? SourceCustomerId, IReadOnlyList<Violation> Violations);

    public static Checked Check(byte[] bytes, long position, SourceSystem system, CategoryCatalogue catalogue, string submittedBy)
    {
        // Valid JSON may escape U+0000, which no text column can store (PostgreSQL refuses it outright).
        if (bytes.AsSpan().IndexOf("\\u0000"u8) >= 0)
            return new(null, null, [new("record", "nul-character", "Strings may not contain the character U+0000.")]);

        UploadEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<UploadEnvelope>(bytes, SubscriptionChanges.StoredJson);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "record" : e.Path.TrimStart('$').TrimStart('.');
            return new(null, CustomerIdOf(bytes), [new(field, "json", $"{field} has the wrong JSON type.")]);
        }
        if (envelope is null) return new(null, null, [new("record", "required", "A record may not be null.")]);

        var v = new List<Violation>();
        Envelope(envelope.Context is null ? null : Names.Normalise(envelope.Context), system.Context, "context", v);
        Envelope(envelope.Nmsc is null ? null : Names.Normalise(envelope.Nmsc), system.Nmsc, "nmsc", v);
        Envelope(envelope.SourceSystemName, system.Name, "sourceSystemName", v);
        var customerId = envelope.SourceCustomerId;
        if (customerId is null)
            v.Add(new("sourceCustomerId", "required", "sourceCustomerId is required."));
        else if (!Names.IsSourceCustomerId(customerId))
            v.Add(new("sourceCustomerId", "source-customer-id",
                $"sourceCustomerId must be 1 to {Names.MaxSourceCustomerIdLength} characters without control characters or surrounding spaces."));

        if (envelope.Data is not { } data)
        {
            v.Add(new("data", "required", "data is required: the subscription data of the customer."));
            return new(null, customerId, v);
        }
        if (data.Consent?.Validated is not true)
            v.Add(new("data.consent.validated", "must-be-true", "Only validated consent can be uploaded: validated must be true."));
        if (data.Consent is null)
            v.Add(new("data.consent.gdprCompliant", "must-be-true", "Only GDPR-compliant consent can be uploaded: gdprCompliant must be true."));
        var (change, rules) = SubscriptionDataRules.Check(data, catalogue);
        v.AddRange(rules.Select(r => r with { Field = "data." + r.Field }));
        if (v.Count > 0 || change is null) return new(null, customerId, v);

        return new(new UploadRecord(position, customerId!, data, change, ContentHash(customerId!, data), submittedBy), customerId, v);
    }

    /// <summary>The same customer with the same data hashes alike, however the file spaced or ordered its members.</summary>
    public static string ContentHash(string sourceCustomerId, SubscriptionData data) =>
        Secrets.Sha256Hex([.. Encoding.UTF8.GetBytes(sourceCustomerId + "\n"), .. JsonSerializer.SerializeToUtf8Bytes(data, SubscriptionChanges.StoredJson)]);

    static void Envelope(string? given, string expected, string field, List<Violation> v)
    {
        if (given is null) v.Add(new(field, "required", $"{field} is required in every record."));
        else if (given != expected)
            v.Add(new(field, "envelope-mismatch", $"{field} '{Short(given)}' is not the upload's {field} '{expected}': a source system uploads only its own records."));
    }

    /// <summary>For the error report of a record that did not deserialise: its customer id, when it has a readable one.</summary>
    static string? CustomerIdOf(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("sourceCustomerId", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static string Short(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
