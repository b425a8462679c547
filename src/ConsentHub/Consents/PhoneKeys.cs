using PhoneNumbers;

namespace ConsentHub.Consents;

/// <summary>Phone numbers of <see cref="CommunicationAttributes"/>, in the E.164 form built-in matching compares.</summary>
public static class PhoneKeys
{
    static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    /// <summary>The ISO 3166 alpha-2 regions (upper case) whose numbering plans libphonenumber knows, so a number can be read in them.</summary>
    public static bool IsSupportedRegion(string region) => Util.GetSupportedRegions().Contains(region);

    /// <summary>
    /// The number in E.164 form (+447700900123), or null when it is not a possible phone number. A number written
    /// without a leading + is read as dialled in <paramref name="country"/> (ISO 3166 alpha-2): 07700 900123 in GB.
    /// </summary>
    public static string? Key(string? phone, string? country)
    {
        if (string.IsNullOrWhiteSpace(phone) || phone.Length > SubscriptionDataRules.MaxPhone) return null;
        try
        {
            var number = Util.Parse(phone, country?.ToUpperInvariant());
            // Possible (a plausible length for the country), not valid (an allocated range): allocations change with
            // every metadata release and stored changes are checked again on replay, and reserved ranges such as
            // the UK's 07700 900xxx must still be accepted.
            return Util.IsPossibleNumber(number) ? Util.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }
}
