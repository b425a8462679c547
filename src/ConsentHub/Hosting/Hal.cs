using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConsentHub.Hosting;

/// <summary>A HAL link (application/hal+json).</summary>
public sealed record HalLink(
    string Href,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Templated = null);

public static class Hal
{
    public const string MediaType = "application/hal+json";

    // Relaxed escaping keeps '+' in timestamp offsets readable; responses are never embedded in HTML.
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IResult Ok<T>(T body) => TypedResults.Json(body, Json, MediaType);

    /// <summary>A response whose body was serialised earlier (and may have been stored for idempotent replay).</summary>
    public static IResult Raw(int status, string body, string? location) => new RawHalResult(status, body, location);

    public static string Serialize<T>(T body) => JsonSerializer.Serialize(body, Json);

    sealed class RawHalResult(int status, string body, string? location) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = status;
            if (location is not null) http.Response.Headers.Location = location;
            http.Response.ContentType = MediaType;
            return http.Response.WriteAsync(body);
        }
    }
}

/// <summary>Builds the hub's resource paths, escaping every segment.</summary>
public static class Paths
{
    static string E(string segment) => Uri.EscapeDataString(segment);

    public static string SourceSystemOf(string context, string nmsc, string sourceSystem) =>
        $"/contexts/{E(context)}/nmscs/{E(nmsc)}/source-systems/{E(sourceSystem)}";

    public static string Customer(string context, string nmsc, string sourceSystem, string sourceCustomerId) =>
        SourceSystemOf(context, nmsc, sourceSystem) + $"/customers/{E(sourceCustomerId)}";

    public static string SubscriptionData(string context, string nmsc, string sourceSystem, string sourceCustomerId) =>
        Customer(context, nmsc, sourceSystem, sourceCustomerId) + "/subscription-data";

    public static string ChangeRequest(Guid id) => $"/change-requests/{id}";

    public static string SourceSystem(long id) => $"/admin/source-systems/{id}";

    public static string Organisation(string nmsc) => $"/admin/organisations/{E(nmsc)}";

    public static string Context(string context) => $"/admin/contexts/{E(context)}";
}
