using System.Text.Json;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using ConsentHub.Consents;

namespace ConsentHub.Outbound;

/// <summary>One CloudEvent ready for the broker: its id, routing key and structured-mode body.</summary>
public sealed record CdcMessage(long LedgerIndex, int Position, string Id, string RoutingKey, ReadOnlyMemory<byte> Body);

/// <summary>
/// Turns change-log rows into a subscription's CloudEvents 1.0 (structured JSON): which rows it wants (its contexts;
/// for a consent change, one of its fields changed) and what their data holds (only its fields, before and after).
/// </summary>
public sealed class CdcEvents
{
    public const string ContentType = "application/cloudevents+json";
    static readonly JsonEventFormatter Formatter = new();

    readonly HashSet<string>? contexts;
    readonly List<string> fields;
    readonly string source;

    public CdcEvents(CdcSubscription subscription, string publicBaseUrl)
    {
        contexts = subscription.Contexts is null ? null : [.. JsonSerializer.Deserialize<List<string>>(subscription.Contexts)!];
        fields = JsonSerializer.Deserialize<List<string>>(subscription.Fields)!;
        source = $"{publicBaseUrl.TrimEnd('/')}/organisations/{Uri.EscapeDataString(subscription.Nmsc)}";
    }

    /// <summary>The row's event for this subscription, or null when it is not one of its changes.</summary>
    public CdcMessage? For(ChangeLogEntry row, Contact? personalData)
    {
        if (contexts is not null && !contexts.Contains(row.Context)) return null;
        JsonObject data;
        string subject;
        if (row.Kind == ChangeKinds.ConsentChanged)
        {
            var before = Image(row.Before);
            var after = Image(row.After);
            var listedBefore = new JsonObject();
            var listedAfter = new JsonObject();
            var touched = false;
            foreach (var field in fields)
            {
                var was = before[field];
                var now = after[field];
                if (!JsonNode.DeepEquals(was, now)) touched = true;
                if (was is not null) listedBefore[field] = was.DeepClone();
                if (now is not null) listedAfter[field] = now.DeepClone();
            }
            if (!touched) return null;
            data = new JsonObject { ["before"] = listedBefore, ["after"] = listedAfter };
            subject = $"{row.Context}/{row.SourceSystem}/{row.SourceCustomerId}";
        }
        else
        {
            // Cluster changes and erasures pass for every subscription of the context: what happened, as the log holds it.
            data = Image(row.After);
            subject = row.Kind == ChangeKinds.ClusterChanged
                ? $"{row.Context}/clusters/{data["clusterId"]?.GetValue<string>()}"
                : $"{row.Context}/{row.SourceSystem}/{row.SourceCustomerId}";
        }
        if (row.SourceSystem is not null)
        {
            data["record"] = new JsonObject
            {
                ["nmsc"] = row.Nmsc, ["context"] = row.Context, ["sourceSystem"] = row.SourceSystem, ["sourceCustomerId"] = row.SourceCustomerId,
            };
        }
        if (row.ChangeRequestId is { } changeRequest) data["changeRequestId"] = changeRequest.ToString();
        data["ledgerIndex"] = row.LedgerIndex;
        data["leafHash"] = row.LeafHash;
        if (personalData is not null && row.Kind == ChangeKinds.ConsentChanged)
            data["personalData"] = new JsonObject { ["email"] = personalData.Email, ["phone"] = personalData.Phone };

        var id = $"{row.LedgerIndex}.{row.Position}";
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = id,
            Source = new Uri(source, UriKind.RelativeOrAbsolute),
            Type = row.Kind,
            Subject = subject,
            Time = new DateTimeOffset(DateTime.SpecifyKind(row.OccurredAt, DateTimeKind.Utc)),
            DataContentType = "application/json",
            Data = JsonSerializer.SerializeToElement(data),
        };
        var body = Formatter.EncodeStructuredModeMessage(cloudEvent, out _);
        return new CdcMessage(row.LedgerIndex, row.Position, id, $"{row.Kind}.{row.Nmsc}.{row.Context}", body);
    }

    /// <summary>Whether the subscription publishes personal data for this row (a record's consent change).</summary>
    public static bool CarriesPersonalData(ChangeLogEntry row) => row.Kind == ChangeKinds.ConsentChanged && row.CustomerId is not null;

    static JsonObject Image(string? json) => json is null ? [] : JsonNode.Parse(json) as JsonObject ?? [];
}
