using System.Text.Json;

namespace ConsentHub.Hosting;

/// <summary>
/// Reads a JSON request body by hand so that every failure (media type, size, syntax, types) becomes a
/// problem naming the field, instead of the framework's generic 400.
/// </summary>
public static class JsonBody
{
    public const int DefaultLimit = 256 * 1024;

    static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { MaxDepth = 16 };

    public sealed record Read<T>(T? Value, byte[] Bytes, IResult? Error);

    /// <param name="noBreakSpaceIsWhitespace">
    /// Reads U+00A0 between tokens as a space: seed 003 publishes its samples indented with no-break spaces (as copied
    /// from its web page), and its interface accepts them as published.
    /// </param>
    public static async Task<Read<T>> ReadAsync<T>(HttpRequest request, CancellationToken ct, int limit = DefaultLimit, bool noBreakSpaceIsWhitespace = false)
        where T : class
    {
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is null || !(mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal)))
            return Fail<T>(Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.",
                "Send the body as application/json.", "unsupported-media-type"));
        if (request.ContentLength > limit)
            return Fail<T>(TooLarge(limit));

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit) return Fail<T>(TooLarge(limit));
            buffer.Write(chunk, 0, read);
        }
        var bytes = buffer.ToArray();
        if (noBreakSpaceIsWhitespace) SpaceOutNoBreakSpaces(bytes);
        if (bytes.Length == 0)
            return Fail<T>(Problems.Invalid("body", "required", "The request body is empty; send a JSON object."));
        // Valid JSON may escape U+0000, which no text column can store (PostgreSQL refuses it outright).
        if (bytes.AsSpan().IndexOf("\\u0000"u8) >= 0)
            return Fail<T>(Problems.Invalid("body", "nul-character", "Strings may not contain the character U+0000."));
        try
        {
            var value = JsonSerializer.Deserialize<T>(bytes, Options);
            return value is null
                ? Fail<T>(Problems.Invalid("body", "required", "The request body is null; send a JSON object."))
                : new Read<T>(value, bytes, null);
        }
        catch (JsonException e)
        {
            var field = FieldOf(e.Path);
            return Fail<T>(Problems.Invalid(field, "json", e.Message.Contains("could not be converted", StringComparison.Ordinal)
                ? $"{field} has the wrong JSON type (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})."
                : $"The body is not valid JSON near {field} (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})."));
        }
    }

    /// <summary>Like <see cref="ReadAsync{T}"/>, but a request without a body stands for an empty object.</summary>
    public static Task<Read<T>> ReadOptionalAsync<T>(HttpRequest request, CancellationToken ct) where T : class, new() =>
        request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding"))
            ? Task.FromResult(new Read<T>(new T(), [], null))
            : ReadAsync<T>(request, ct);

    /// <summary>Replaces each UTF-8 U+00A0 (C2 A0) outside a string with two spaces, in place; strings keep theirs.</summary>
    static void SpaceOutNoBreakSpaces(byte[] bytes)
    {
        var inString = false;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (inString)
            {
                if (bytes[i] == (byte)'\\') i++;
                else if (bytes[i] == (byte)'"') inString = false;
            }
            else if (bytes[i] == (byte)'"') inString = true;
            else if (bytes[i] == 0xC2 && i + 1 < bytes.Length && bytes[i + 1] == 0xA0) bytes[i] = bytes[++i] = (byte)' ';
        }
    }

    /// <summary>Turns System.Text.Json's <c>$.consent.consentAttributes[0].consentFlag</c> into the field name.</summary>
    static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.TrimStart('$').TrimStart('.');

    static IResult TooLarge(int limit) => Problems.Problem(StatusCodes.Status413PayloadTooLarge,
        "The body is too large.", $"The body may be at most {limit} bytes.", "payload-too-large");

    static Read<T> Fail<T>(IResult error) where T : class => new(null, [], error);
}
