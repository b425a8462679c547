using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ConsentHub.Hosting;

/// <summary>
/// Problem details (RFC 9457) for seed 002's clients, which read <c>"status": false</c> as the sign of a failure. The
/// problem's own <c>status</c> member (the HTTP status as a number, which RFC 9457 makes advisory) would carry the same
/// name, and a JSON object cannot hold both: the seed's member is written, and the status code travels in the HTTP
/// response as always.
/// </summary>
public sealed class SeedProblem(ProblemHttpResult problem) : IResult
{
    public const string MediaType = "application/problem+json";

    public int StatusCode => problem.StatusCode;

    public ProblemHttpResult Problem => problem;

    public async Task ExecuteAsync(HttpContext http)
    {
        var details = problem.ProblemDetails;
        http.Response.StatusCode = problem.StatusCode;
        http.Response.ContentType = MediaType;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, details, http.TraceIdentifier);
        }
        await http.Response.Body.WriteAsync(buffer.ToArray(), http.RequestAborted);
    }

    static void Write(Utf8JsonWriter json, Microsoft.AspNetCore.Mvc.ProblemDetails details, string traceId)
    {
        json.WriteStartObject();
        if (details.Type is { } type) json.WriteString("type", type);
        if (details.Title is { } title) json.WriteString("title", title);
        json.WriteBoolean("status", false);
        if (details.Detail is { } detail) json.WriteString("detail", detail);
        if (details.Instance is { } instance) json.WriteString("instance", instance);
        foreach (var (name, value) in details.Extensions)
        {
            if (name is "status" or "traceId") continue;
            json.WritePropertyName(name);
            JsonSerializer.Serialize(json, value, value?.GetType() ?? typeof(object), Hosting.Hal.Json);
        }
        json.WriteString("traceId", traceId);
        json.WriteEndObject();
    }
}
