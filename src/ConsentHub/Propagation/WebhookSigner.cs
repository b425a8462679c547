using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ConsentHub.Propagation;

/// <summary>
/// Signs webhook calls the Standard Webhooks way (https://www.standardwebhooks.com): the
/// <c>webhook-signature</c> header carries <c>v1,</c> + base64(HMAC-SHA256(secret, "id.timestamp.body")).
/// </summary>
public static class WebhookSigner
{
    public const string SecretPrefix = "whsec_";

    // The spec allows keys of 24 to 64 bytes; ours are 32, but a secret issued elsewhere may be any of those.
    const int MinKeyBytes = 24;
    const int MaxKeyBytes = 64;

    /// <summary>A new signing secret: <c>whsec_</c> + base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>A new value for the <c>api-key</c> header (seed FAQ 1): 32 random bytes, base64url, safe in any header.</summary>
    public static string NewApiKey() => Auth.Secrets.Generate(32);

    /// <summary>One signature, <c>v1,</c> + base64 of the HMAC-SHA256 of <c>{messageId}.{timestampSeconds}.{body}</c>.</summary>
    public static string Sign(string secret, string messageId, long timestampSeconds, string body)
    {
        var key = KeyOf(secret);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentNullException.ThrowIfNull(body);
        var signed = Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{messageId}.{timestampSeconds}.{body}"));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }

    /// <summary>
    /// The <c>webhook-signature</c> header value: one signature per secret, separated by a space, so a receiver
    /// still holding the previous secret keeps verifying during a rotation's overlap.
    /// </summary>
    public static string SignatureHeader(IEnumerable<string> secrets, string messageId, long timestampSeconds, string body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var signatures = secrets.Select(secret => Sign(secret, messageId, timestampSeconds, body)).ToList();
        if (signatures.Count == 0)
            throw new ArgumentException("At least one signing secret is required.", nameof(secrets));
        return string.Join(' ', signatures);
    }

    /// <summary>Whether <paramref name="secret"/> is a well-formed signing secret; the reason when it is not.</summary>
    public static string? SecretProblem(string? secret)
    {
        if (string.IsNullOrEmpty(secret))
            return "The signing secret is empty.";
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
            return $"The signing secret must start with \"{SecretPrefix}\".";
        var encoded = secret.AsSpan(SecretPrefix.Length);
        var key = new byte[encoded.Length]; // base64 never decodes to more bytes than it has characters
        if (!Convert.TryFromBase64Chars(encoded, key, out var length))
            return $"The signing secret must be \"{SecretPrefix}\" followed by standard base64.";
        if (length is < MinKeyBytes or > MaxKeyBytes)
            return $"The signing secret's key must be {MinKeyBytes} to {MaxKeyBytes} bytes; it is {length}.";
        return null;
    }

    // The messages never echo the secret: they end up in logs and problem details.
    static byte[] KeyOf(string secret)
    {
        if (SecretProblem(secret) is { } problem)
            throw new ArgumentException(problem, nameof(secret));
        return Convert.FromBase64String(secret[SecretPrefix.Length..]);
    }
}
