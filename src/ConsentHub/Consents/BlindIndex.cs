using System.Security.Cryptography;
using System.Text;
using ConsentHub.Auth;
using ConsentHub.Data;
using Microsoft.AspNetCore.DataProtection;

namespace ConsentHub.Consents;

/// <summary>
/// What built-in matching compares instead of addresses: HMAC-SHA256 of the normalised email or phone under a key
/// only the hub holds. Equal addresses give equal indexes, so records of one person still find each other, but the
/// customers table no longer holds an address anyone could read or look up by guessing.
/// </summary>
public sealed class BlindIndex
{
    const string Name = "matching-blind-index";
    const string Purpose = "ConsentHub.BlindIndex.v1";

    byte[]? key;

    public async Task LoadAsync(ConsentDb db, IDataProtectionProvider protection, TimeProvider time, CancellationToken ct)
    {
        key = await ServerKeys.GetOrCreateProtectedAsync(db, protection, Name, Purpose, () => RandomNumberGenerator.GetBytes(32), time, ct);
    }

    /// <summary>The index of an email address (trimmed, lower-cased), or null when there is none.</summary>
    public string? Email(string? address) => MailAddresses.Key(address) is { } normalised ? Compute("email:" + normalised) : null;

    /// <summary>The index of a phone number in its E.164 form, or null when it is not a possible number.</summary>
    public string? Phone(string? phone, string? country) => PhoneKeys.Key(phone, country) is { } e164 ? Compute("phone:" + e164) : null;

    /// <summary>
    /// A stable identifier that reveals nothing of <paramref name="text"/> to anyone without the hub's key (the opt-in
    /// interface's <c>pk</c>s): the same text gives the same identifier on every read and every instance.
    /// </summary>
    public string Opaque(string text) => Compute("opaque:" + text);

    string Compute(string text) => Convert.ToHexStringLower(HMACSHA256.HashData(
        key ?? throw new InvalidOperationException("The blind index key is not loaded: the host must call LoadAsync at start."),
        Encoding.UTF8.GetBytes(text)));
}
