using System.Text.RegularExpressions;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Consents;

public sealed record ConsentValue(
    string Code, bool Flag, string? Description, string? LongDescription, DateTime RequestedAt, DateTime? ValidatedAt,
    string? ValidationReference, string? OriginSourceSystem, string? ModifiedByOrganization, string? ModifiedByUser);

public sealed record ChannelValue(
    string Code, bool Flag, DateTime RequestedAt, string? OriginSourceSystem, string? ModifiedByOrganization, string? ModifiedByUser);

/// <summary>A REQUESTED change that passed every rule, with its timestamps parsed.</summary>
public sealed record NormalisedChange(
    bool Validated, DateTime? CommandTimestamp, CommunicationAttributes? Communication,
    IReadOnlyList<ConsentValue> Consents, IReadOnlyList<ChannelValue> Channels);

/// <summary>The rules of seed 004 for sending subscription data, each violation named by field and rule.</summary>
public static partial class SubscriptionDataRules
{
    // Documented in the README ("Limits").
    public const int MaxDescription = 1_000;
    public const int MaxLongDescription = 10_000;
    public const int MaxReference = 200;
    public const int MaxEmail = 254;
    public const int MaxPhone = 40;

    [GeneratedRegex(@"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    private static partial Regex LanguageTag();

    [GeneratedRegex(@"^[A-Za-z]{2}$")]
    private static partial Regex CountryCode();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailShape();

    /// <summary>Whether a text passes the rule of communicationAttributes.email.</summary>
    public static bool IsEmail(string text) => text.Length <= MaxEmail && EmailShape().IsMatch(text);

    /// <param name="partnerConfirms">
    /// An unvalidated change that the partner that sent it will confirm for the person (seed 003's double opt-in): no
    /// email address is needed, the hub asks nobody.
    /// </param>
    public static (NormalisedChange? Change, List<Violation> Violations) Check(SubscriptionData data, CategoryCatalogue catalogue, bool partnerConfirms = false)
    {
        var v = new List<Violation>();
        switch (data.CommandType)
        {
            case null:
                v.Add(new("commandType", "required", "commandType is required; a source system sends REQUESTED."));
                break;
            case CommandTypes.Requested:
                break;
            case CommandTypes.Propagated:
                v.Add(new("commandType", "not-accepted", "PROPAGATED is what the hub sends to source systems; send REQUESTED."));
                break;
            case CommandTypes.Processed:
                v.Add(new("commandType", "not-accepted", "PROCESSED acknowledges a propagation and is answered on its own; it carries no change."));
                break;
            default:
                v.Add(new("commandType", "unknown-command-type", $"'{data.CommandType}' is not a command type; send REQUESTED."));
                break;
        }

        if (data.PropagationId is not null)
            v.Add(new("propagationId", "not-allowed", "propagationId belongs only in a PROCESSED command."));

        DateTime? commandTimestamp = null;
        if (data.CommandTimestamp is not null)
            commandTimestamp = Instant(data.CommandTimestamp, "commandTimestamp", v);

        var consents = new List<ConsentValue>();
        var channels = new List<ChannelValue>();
        var consentCount = data.Consent?.ConsentAttributes?.Count ?? 0;
        var channelCount = data.Channel?.ChannelAttributes?.Count ?? 0;
        // Rectification: a validated change may carry only a new email or phone (communicationAttributes), nothing else.
        var contactOnly = data.Consent is { Validated: true, CommunicationAttributes: { } contact } && (contact.Email is not null || contact.Phone is not null);
        if (consentCount == 0 && channelCount == 0 && !contactOnly)
            v.Add(new("consent", "required", "Send at least one consent attribute or one channel attribute, or (validated) a new email or phone."));

        if (data.Consent is { } consent)
        {
            if (consent.GdprCompliant is not true)
                v.Add(new("consent.gdprCompliant", "must-be-true", "Only GDPR-compliant consent is accepted: gdprCompliant must be true."));
            CheckCommunication(consent.CommunicationAttributes, v);
            CheckConsents(consent.ConsentAttributes ?? [], catalogue, v, consents);
        }
        CheckChannels(data.Channel?.ChannelAttributes ?? [], v, channels);

        var validated = data.Consent?.Validated ?? false;
        // A stored change (replayed) passed this rule when it arrived, or arrived for a partner to confirm.
        if (!validated && !partnerConfirms && !catalogue.AcceptsAny && consentCount + channelCount > 0 && string.IsNullOrEmpty(data.Consent?.CommunicationAttributes?.Email))
            v.Add(new("consent.communicationAttributes.email", "required-for-validation",
                "An unvalidated change needs the person's email address: they confirm it by email. " +
                "Send validated: true only when the person has already validated the change."));

        if (v.Count > 0) return (null, v);
        return (new NormalisedChange(validated, commandTimestamp,
            data.Consent?.CommunicationAttributes, consents, channels), v);
    }

    static void CheckCommunication(CommunicationAttributes? attributes, List<Violation> v)
    {
        if (attributes is null) return;
        const string at = "consent.communicationAttributes";
        if (attributes.Language is { } language && (language.Length > 35 || !LanguageTag().IsMatch(language)))
            v.Add(new($"{at}.language", "language-tag", "language must be an ISO 639 language code such as 'en' or 'nl-BE'."));
        if (attributes.Country is { } country && !CountryCode().IsMatch(country))
            v.Add(new($"{at}.country", "country-code", "country must be an ISO 3166-1 alpha-2 code such as 'GB'."));
        if (attributes.Email is { } email && (email.Length > MaxEmail || !EmailShape().IsMatch(email)))
            v.Add(new($"{at}.email", "email-address", $"email must be one address of at most {MaxEmail} characters, like name@example.com."));
        Length(attributes.Phone, MaxPhone, $"{at}.phone", v);
        if (attributes.Phone is { Length: <= MaxPhone } phone && PhoneKeys.Key(phone, attributes.Country) is null)
            v.Add(new($"{at}.phone", "phone-number",
                "phone must be a phone number, international like '+44 7700 900123' or national like '07700 900123' with country 'GB'."));
    }

    static void CheckConsents(List<ConsentAttribute> attributes, CategoryCatalogue catalogue, List<Violation> v, List<ConsentValue> result)
    {
        if (attributes.Count > Categories.MaxPerRequest)
            v.Add(new("consent.consentAttributes", "max-categories", $"At most {Categories.MaxPerRequest} consent categories may be sent in one request; got {attributes.Count}."));

        var claimed = new Dictionary<string, string>(); // canonical part -> code that claimed it
        for (var i = 0; i < attributes.Count; i++)
        {
            var a = attributes[i];
            var at = $"consent.consentAttributes[{i}]";
            if (a is null) { v.Add(new(at, "required", "A consent attribute may not be null.")); continue; }

            var codeOk = false;
            if (string.IsNullOrEmpty(a.ConsentCode))
                v.Add(new($"{at}.consentCode", "required", "consentCode is required."));
            else if (catalogue.Violation($"{at}.consentCode", a.ConsentCode) is { } refused)
                v.Add(refused);
            else
                codeOk = true;

            if (codeOk)
            {
                foreach (var part in Categories.PartsOf(a.ConsentCode!))
                {
                    if (claimed.TryGetValue(part, out var other))
                    {
                        v.Add(new($"{at}.consentCode", "overlapping-categories",
                            other == a.ConsentCode
                                ? $"'{a.ConsentCode}' appears more than once."
                                : $"'{a.ConsentCode}' overlaps '{other}' in the same request (both cover {part})."));
                        break;
                    }
                }
                foreach (var part in Categories.PartsOf(a.ConsentCode!)) claimed.TryAdd(part, a.ConsentCode!);
            }

            if (a.ConsentFlag is null) v.Add(new($"{at}.consentFlag", "required", "consentFlag is required (true or false)."));
            Length(a.ConsentDescription, MaxDescription, $"{at}.consentDescription", v);
            Length(a.ConsentLongDescription, MaxLongDescription, $"{at}.consentLongDescription", v);
            Length(a.ValidationReference, MaxReference, $"{at}.validationReference", v);
            Length(a.OriginSourceSystem, MaxReference, $"{at}.originSourceSystem", v);
            Length(a.ModifiedByOrganization, MaxReference, $"{at}.modifiedByOrganization", v);
            Length(a.ModifiedByUser, MaxReference, $"{at}.modifiedByUser", v);
            var requested = RequiredInstant(a.RequestedTimestamp, $"{at}.requestedTimestamp", v);
            DateTime? validated = a.ValidatedTimestamp is null or "" ? null : Instant(a.ValidatedTimestamp, $"{at}.validatedTimestamp", v);

            if (codeOk && a.ConsentFlag is { } flag && requested is { } req)
                result.Add(new(a.ConsentCode!, flag, a.ConsentDescription, a.ConsentLongDescription, req, validated,
                    Blank(a.ValidationReference), Blank(a.OriginSourceSystem), Blank(a.ModifiedByOrganization), Blank(a.ModifiedByUser)));
        }
    }

    static void CheckChannels(List<ChannelAttribute> attributes, List<Violation> v, List<ChannelValue> result)
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < attributes.Count; i++)
        {
            var a = attributes[i];
            var at = $"channel.channelAttributes[{i}]";
            if (a is null) { v.Add(new(at, "required", "A channel attribute may not be null.")); continue; }

            var codeOk = false;
            if (string.IsNullOrEmpty(a.ChannelCode))
                v.Add(new($"{at}.channelCode", "required", "channelCode is required."));
            else if (!Categories.Channels.Contains(a.ChannelCode))
                v.Add(new($"{at}.channelCode", "unknown-channel", $"'{a.ChannelCode}' is not a channel; use EMAIL, SMS, PHONE or MAIL."));
            else if (!seen.Add(a.ChannelCode))
                v.Add(new($"{at}.channelCode", "duplicate-channel", $"'{a.ChannelCode}' appears more than once."));
            else
                codeOk = true;

            if (a.ChannelFlag is null) v.Add(new($"{at}.channelFlag", "required", "channelFlag is required (true or false)."));
            Length(a.OriginSourceSystem, MaxReference, $"{at}.originSourceSystem", v);
            Length(a.ModifiedByOrganization, MaxReference, $"{at}.modifiedByOrganization", v);
            Length(a.ModifiedByUser, MaxReference, $"{at}.modifiedByUser", v);
            var requested = RequiredInstant(a.RequestedTimestamp, $"{at}.requestedTimestamp", v);

            if (codeOk && a.ChannelFlag is { } flag && requested is { } req)
                result.Add(new(a.ChannelCode!, flag, req, Blank(a.OriginSourceSystem), Blank(a.ModifiedByOrganization), Blank(a.ModifiedByUser)));
        }
    }

    static void Length(string? value, int max, string field, List<Violation> v)
    {
        if (value is not null && value.Length > max)
            v.Add(new(field, "max-length", $"At most {max} characters; got {value.Length}."));
    }

    static DateTime? RequiredInstant(string? text, string field, List<Violation> v)
    {
        if (string.IsNullOrEmpty(text))
        {
            v.Add(new(field, "required", $"{field.Split('.')[^1]} is required: {Timestamps.Rule}."));
            return null;
        }
        return Instant(text, field, v);
    }

    static DateTime? Instant(string text, string field, List<Violation> v)
    {
        if (Timestamps.TryParse(text, out var utc)) return utc;
        v.Add(new(field, "timestamp-format", $"'{Truncated(text)}' is not {Timestamps.Rule}."));
        return null;
    }

    static string Truncated(string text) => text.Length <= 40 ? text : text[..40] + "…";

    static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
