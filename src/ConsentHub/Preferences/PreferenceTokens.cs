using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;

namespace ConsentHub.Preferences;

public enum PreferenceLinkKind : byte
{
    /// <summary>Asked for on the page: opens the centre once.</summary>
    Requested = 1,
    /// <summary>At the foot of a hub email: opens the centre until it expires.</summary>
    Email = 2,
}

/// <summary>
/// What a link or a session proves: the person controls the address whose blind index is <paramref name="EmailKey"/>.
/// <paramref name="LinkId"/> names the link (a hash of it) in the ledger's changes and in the one-time check.
/// </summary>
public sealed record PreferenceGrant(string EmailKey, string Language, PreferenceLinkKind Kind, string LinkId, DateTime ExpiresAt);

/// <summary>
/// Links and sessions of the preference centre, sealed with Data Protection (encrypted and authenticated under the key
/// ring every instance shares), so nothing is stored when an email is sent: a link carries the address's blind index,
/// never the address, and only the hub can open it. Expiry is checked against the hub's clock.
/// </summary>
public sealed class PreferenceTokens(IDataProtectionProvider protection, TimeProvider time)
{
    const byte Version = 1;
    const int KeyBytes = 32;

    readonly IDataProtector links = protection.CreateProtector("ConsentHub.Preferences.Link.v1");
    readonly IDataProtector sessions = protection.CreateProtector("ConsentHub.Preferences.Session.v1");

    /// <summary>A link token for the address whose blind index is <paramref name="emailKey"/>; base64url, about 160 characters.</summary>
    public string Link(string emailKey, string language, PreferenceLinkKind kind, DateTime expiresAt) =>
        WebEncoders.Base64UrlEncode(links.Protect(Payload(emailKey, language, kind, expiresAt, linkId: "")));

    /// <summary>The grant of a link, or null when it is forged, damaged or expired.</summary>
    public PreferenceGrant? OpenLink(string token)
    {
        if (token.Length is < 40 or > 600) return null;
        var grant = Open(links, token);
        return grant is null ? null : grant with { LinkId = LinkIdOf(token) };
    }

    /// <summary>The value of the session cookie for a grant, valid until <paramref name="expiresAt"/>.</summary>
    public string Session(PreferenceGrant grant, DateTime expiresAt) =>
        WebEncoders.Base64UrlEncode(sessions.Protect(Payload(grant.EmailKey, grant.Language, grant.Kind, expiresAt, grant.LinkId)));

    public PreferenceGrant? OpenSession(string? value) => value is { Length: >= 40 and <= 800 } ? Open(sessions, value) : null;

    /// <summary>The link's name: the first 128 bits of its SHA-256, hex.</summary>
    public static string LinkIdOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token)))[..32];

    static byte[] Payload(string emailKey, string language, PreferenceLinkKind kind, DateTime expiresAt, string linkId)
    {
        var key = Convert.FromHexString(emailKey);
        if (key.Length != KeyBytes) throw new ArgumentException("An email key is 32 bytes in hex.", nameof(emailKey));
        var languageBytes = Encoding.ASCII.GetBytes(language);
        var linkBytes = Encoding.ASCII.GetBytes(linkId);
        var payload = new byte[2 + 8 + KeyBytes + 1 + languageBytes.Length + 1 + linkBytes.Length];
        payload[0] = Version;
        payload[1] = (byte)kind;
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(2), new DateTimeOffset(DateTime.SpecifyKind(expiresAt, DateTimeKind.Utc)).ToUnixTimeSeconds());
        key.CopyTo(payload, 10);
        var at = 10 + KeyBytes;
        payload[at++] = (byte)languageBytes.Length;
        languageBytes.CopyTo(payload, at);
        at += languageBytes.Length;
        payload[at++] = (byte)linkBytes.Length;
        linkBytes.CopyTo(payload, at);
        return payload;
    }

    PreferenceGrant? Open(IDataProtector protector, string token)
    {
        byte[] payload;
        try
        {
            payload = protector.Unprotect(WebEncoders.Base64UrlDecode(token));
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            return null;
        }
        if (payload.Length < 2 + 8 + KeyBytes + 2 || payload[0] != Version || !Enum.IsDefined((PreferenceLinkKind)payload[1])) return null;
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(payload.AsSpan(2))).UtcDateTime;
        if (expiresAt <= time.GetUtcNow().UtcDateTime) return null;
        var at = 10 + KeyBytes;
        var languageLength = payload[at++];
        if (at + languageLength + 1 > payload.Length) return null;
        var language = Encoding.ASCII.GetString(payload, at, languageLength);
        at += languageLength;
        var linkLength = payload[at++];
        if (at + linkLength != payload.Length) return null;
        var linkId = Encoding.ASCII.GetString(payload, at, linkLength);
        return new PreferenceGrant(Convert.ToHexStringLower(payload.AsSpan(10, KeyBytes)), language, (PreferenceLinkKind)payload[1], linkId, expiresAt);
    }
}
