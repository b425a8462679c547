using System.Security.Cryptography;
using System.Text.Json;

namespace ConsentHub.Ledger;

/// <summary>
/// The canonical encoding of an entry and its chained hash:
/// <c>hash = SHA-256(UTF-8 of {"index":…,"type":…,"timestamp":…,"payload":…,"prevHash":…})</c>,
/// members in that order, no whitespace, timestamp as UTC with microseconds.
/// </summary>
public static class LedgerHash
{
    public static readonly string Genesis = new('0', 64);

    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public static byte[] Canonical(LedgerEntry entry)
    {
        using var buffer = new MemoryStream(256 + entry.Payload.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("index", entry.Index);
            json.WriteString("type", entry.Type);
            json.WriteString("timestamp", entry.Timestamp.ToString(TimestampFormat, System.Globalization.CultureInfo.InvariantCulture));
            json.WritePropertyName("payload");
            json.WriteRawValue(entry.Payload, skipInputValidation: true);
            json.WriteString("prevHash", entry.PrevHash);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static string Of(LedgerEntry entry) => Of(Canonical(entry));

    public static string Of(ReadOnlySpan<byte> canonical) => Convert.ToHexStringLower(SHA256.HashData(canonical));

    /// <summary>The same hash as <see cref="Of(ReadOnlySpan{byte})"/>, its 64 hex digits written as ASCII, without allocating.</summary>
    public static void Of(ReadOnlySpan<byte> canonical, Span<byte> utf8Hex)
    {
        Span<byte> hash = stackalloc byte[Merkle.HashSize];
        Merkle.Sha256(canonical, hash);
        if (!Convert.TryToHexStringLower(hash, utf8Hex, out _))
            throw new ArgumentException($"The destination holds fewer than {2 * Merkle.HashSize} bytes.", nameof(utf8Hex));
    }

    /// <summary>The entry's Merkle leaf hash, SHA-256(0x00 ‖ canonical encoding) (RFC 9162 §2.1.1).</summary>
    public static byte[] LeafOf(LedgerEntry entry) => Merkle.LeafHash(Canonical(entry));
}
