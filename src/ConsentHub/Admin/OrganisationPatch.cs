using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Admin;

/// <summary>A checked JSON merge patch (RFC 7396) of an organisation: what it sets, or the rules it breaks.</summary>
public sealed class OrganisationPatch
{
    readonly List<Action<Organisation>> changes = [];

    public List<Violation> Violations { get; } = [];

    public static OrganisationPatch Read(JsonObject body)
    {
        var patch = new OrganisationPatch();
        foreach (var (member, value) in body)
        {
            switch (member)
            {
                case "name":
                    if (value is null) patch.changes.Add(o => o.Name = null);
                    else if (String(value) is not { } name) patch.Type(member, "a string or null");
                    else if (name.Length > 200) patch.Violations.Add(new(member, "max-length", "name may be at most 200 characters."));
                    else patch.changes.Add(o => o.Name = name);
                    break;
                case "validationWindowHours":
                    if (value is null) patch.changes.Add(o => o.ValidationWindowHours = 24);
                    else if (value.GetValueKind() != JsonValueKind.Number || !value.AsValue().TryGetValue<int>(out var hours)) patch.Type(member, "a whole number or null");
                    else if (hours is < 1 or > 720) patch.Violations.Add(new(member, "range", "validationWindowHours must be from 1 to 720."));
                    else patch.changes.Add(o => o.ValidationWindowHours = hours);
                    break;
                case "mergePolicy":
                    if (value is null) patch.changes.Add(o => o.MergePolicy = MergePolicies.LatestWins);
                    else if (String(value) is not { } policy) patch.Type(member, "a string or null");
                    else if (!MergePolicies.IsKnown(policy))
                        patch.Violations.Add(new(member, "merge-policy", $"mergePolicy is {MergePolicies.LatestWins} or {MergePolicies.MostRestrictive}."));
                    else patch.changes.Add(o => o.MergePolicy = policy);
                    break;
                case "builtInMatching":
                    if (value is null) patch.changes.Add(o => o.BuiltInMatching = false);
                    else if (value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)) patch.Type(member, "true, false or null");
                    else patch.changes.Add(o => o.BuiltInMatching = value.GetValue<bool>());
                    break;
                case "defaultCountry":
                    if (value is null) patch.changes.Add(o => o.DefaultCountry = null);
                    else if (String(value) is not { } country) patch.Type(member, "a string or null");
                    else if (!IsPhoneCountry(country)) patch.Violations.Add(new(member, "country", CountryRule));
                    else patch.changes.Add(o => o.DefaultCountry = country.ToUpperInvariant());
                    break;
                case "optInConfirmation":
                    if (value is null) patch.changes.Add(o => o.OptInConfirmation = OptInConfirmations.Partner);
                    else if (String(value) is not { } confirmation) patch.Type(member, "a string or null");
                    else if (!OptInConfirmations.IsKnown(confirmation)) patch.Violations.Add(new(member, "opt-in-confirmation", OptInConfirmations.Rule));
                    else patch.changes.Add(o => o.OptInConfirmation = confirmation);
                    break;
                default:
                    patch.Violations.Add(new(member, "unknown-member",
                        $"'{member}' is no setting of an organisation; the settings are name, validationWindowHours, mergePolicy, builtInMatching, defaultCountry and optInConfirmation."));
                    break;
            }
        }
        return patch;
    }

    public const string CountryRule =
        "defaultCountry must be an ISO 3166 alpha-2 country code whose phone numbers the hub can read, such as US or GB.";

    /// <summary>An ISO 3166 alpha-2 code (either case) that libphonenumber reads numbers in: the organisation's default country.</summary>
    public static bool IsPhoneCountry(string country) => country.Length == 2 && PhoneKeys.IsSupportedRegion(country.ToUpperInvariant());

    public void ApplyTo(Organisation organisation)
    {
        foreach (var change in changes) change(organisation);
    }

    static string? String(JsonNode value) => value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    void Type(string member, string expected) => Violations.Add(new(member, "json", $"{member} must be {expected}."));
}
