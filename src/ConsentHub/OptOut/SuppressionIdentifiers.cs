using System.Text;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Validation;

namespace ConsentHub.OptOut;

public static class SuppressionKinds
{
    public const string Email = "email";
    public const string Phone = "phone";
    public const string Postal = "postal";

    public static bool IsKnown(string kind) => kind is Email or Phone or Postal;
}

/// <summary>
/// An identifier in the normalised form every party hashes alike: an email trimmed and lower-cased; a phone in E.164
/// (+19418675309); a postal identity as "FIRSTNAME|LASTNAME|ADDRESS1|ZIP5", upper-cased with inner spaces collapsed.
/// </summary>
public sealed record SuppressionIdentifier(string Kind, string Normalised)
{
    /// <summary>Lower-case hex SHA-256 of the UTF-8 normalised value: the form suppression files and the industry pool carry.</summary>
    public string Sha256 => Secrets.Sha256Hex(Normalised);
}

public static class SuppressionIdentifiers
{
    /// <summary>
    /// The identifier of an email address, or null when it is not one bare address: MimeKit also reads
    /// "John &lt;john@example.com&gt;", whose normalised form would not be the address.
    /// </summary>
    public static SuppressionIdentifier? Email(string? address) =>
        MailAddresses.TryParse(address, out var mailbox) && mailbox.Address == address!.Trim() && MailAddresses.Key(address) is { } key
            ? new(SuppressionKinds.Email, key) : null;

    /// <summary>The identifier of a phone number, read as dialled in <paramref name="defaultCountry"/> unless it starts with +.</summary>
    public static SuppressionIdentifier? Phone(string? phone, string defaultCountry) =>
        PhoneKeys.Key(phone, defaultCountry) is { } e164 ? new(SuppressionKinds.Phone, e164) : null;

    /// <summary>The identifier of a postal identity; all four parts are needed.</summary>
    public static SuppressionIdentifier? Postal(string? firstname, string? lastname, string? address1, string? zip)
    {
        if (new[] { firstname, lastname, address1, zip }.Any(string.IsNullOrWhiteSpace)) return null;
        // ZIP+4 and ZIP name the same delivery area for matching: the five digits count.
        var zip5 = zip!.Trim();
        if (zip5.Length > 5) zip5 = zip5[..5];
        return new(SuppressionKinds.Postal, string.Join('|', Part(firstname!), Part(lastname!), Part(address1!), zip5));
    }

    static string Part(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var word in value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (builder.Length > 0) builder.Append(' ');
            builder.Append(word.ToUpperInvariant());
        }
        return builder.ToString();
    }

    /// <summary>A line of a provider's list or of a check: a known kind and 64 lower-case hex digits.</summary>
    public static bool IsSha256(string value) => value.Length == 64 && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
