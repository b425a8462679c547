using System.Security.Cryptography;

namespace ConsentHub.Hosting;

/// <summary>Idempotency-Key handling for POSTs: a retry gets the first answer; the same key with another body gets 422.</summary>
public static class Idempotency
{
    public const string Header = "Idempotency-Key";
    public const int MaxKeyLength = 255;

    public static string Hash(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    /// <summary>Null when the header is absent; a problem when it is malformed.</summary>
    public static (string? Key, IResult? Error) ReadKey(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(Header, out var values)) return (null, null);
        var key = values.ToString();
        if (values.Count != 1 || key.Length is 0 or > MaxKeyLength || key.Any(c => c < 0x21 || c > 0x7e))
            return (null, Problems.Invalid(Header, "idempotency-key",
                $"{Header} must be one value of 1 to {MaxKeyLength} visible ASCII characters."));
        return (key, null);
    }

    public static IResult Replay(IdempotencyRecord record) => Hal.Raw(record.StatusCode, record.ResponseBody ?? "{}", record.Location);

    public static IResult KeyReused() => Problems.Unprocessable(
        $"This {Header} was already used for a different request (another body or another customer). Use a new key for a new request.", "idempotency-key-reused");
}
