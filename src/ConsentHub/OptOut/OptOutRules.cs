using System.Text.Json;
using System.Text.RegularExpressions;

namespace ConsentHub.OptOut;

/// <summary>What the rules made of one record of an upload: its identifiers, or the reason it is refused.</summary>
public sealed record CheckedRecord(
    string? Validation, string? ProjectId, IReadOnlyList<SuppressionIdentifier> Identifiers, string? UnsuccessfulReason)
{
    public bool Successful => UnsuccessfulReason is null;
}

/// <summary>
/// The field table of seed 002: case-sensitive names, strings only, maximum sizes, the required <c>validation</c>,
/// and at least one identifier (an email, a phone, or a postal identity). A record that breaks a rule is refused on
/// its own, with a reason that names the field and the rule; the first broken rule is the one named.
/// </summary>
public static partial class OptOutRules
{
    /// <summary>The seed's fields in the seed's order, with their maximum sizes.</summary>
    public static readonly IReadOnlyList<(string Name, int MaxLength)> Fields =
    [
        ("firstname", 45), ("lastname", 45), ("address1", 60), ("address2", 45), ("city", 45), ("state", 2), ("zip", 10),
        ("phone1", 15), ("phone2", 15), ("email1", 200), ("email2", 200), ("validation", 1), ("projectid", 20),
    ];

    /// <summary>The seed's own words for an address given without the rest of a postal identity.</summary>
    public const string InvalidAddress = "Invalid Address";

    public const string ZipRule = "at most 10 characters, five digits or five-dash-four";

    /// <summary>Members the answer adds to each echoed record; a record may not bring its own.</summary>
    static readonly HashSet<string> AnswerMembers = ["recordID", "successful", "unsuccessful_reason"];

    [GeneratedRegex(@"^\d{5}(-\d{4})?$", RegexOptions.CultureInvariant)]
    private static partial Regex Zip();

    public static bool IsEchoed(string name) => !AnswerMembers.Contains(name);

    public static CheckedRecord Check(JsonElement record, string defaultCountry)
    {
        if (record.ValueKind != JsonValueKind.Object) return Refused(null, null, "record: must be a JSON object of the seed's fields");

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in record.EnumerateObject())
        {
            var max = Fields.FirstOrDefault(f => f.Name == property.Name).MaxLength;
            if (max == 0)
                return Refused(null, null, $"{Named(property.Name)}: unknown field; the fields are {string.Join(", ", Fields.Select(f => f.Name))} (case-sensitive)");
            if (property.Value.ValueKind != JsonValueKind.String) return Refused(null, null, $"{property.Name}: must be a string");
            if (!values.TryAdd(property.Name, property.Value.GetString()!)) return Refused(null, null, $"{property.Name}: given more than once");
        }

        // Kept in clear on the record even when it is refused, so only when they are what the table allows.
        string? Fitting(string name, int max) => values.TryGetValue(name, out var v) && v.Length <= max && !v.Contains('\0') ? v : null;
        var validation = Fitting("validation", 1) is "1" or "2" ? values["validation"] : null;
        var projectId = Fitting("projectid", 20);

        foreach (var (name, max) in Fields)
        {
            if (!values.TryGetValue(name, out var value)) continue;
            if (value.Contains('\0')) return Refused(validation, projectId, $"{name}: may not contain the character U+0000");
            if (name == "zip")
            {
                if (value.Length > max || (value.Trim().Length > 0 && !Zip().IsMatch(value.Trim()))) return Refused(validation, projectId, $"zip: {ZipRule}");
            }
            else if (value.Length > max)
            {
                return Refused(validation, projectId, $"{name}: at most {max} character{(max == 1 ? "" : "s")}");
            }
        }

        if (string.IsNullOrWhiteSpace(values.GetValueOrDefault("validation"))) return Refused(null, projectId, "validation: required, \"1\" or \"2\"");
        if (validation is null)
            return Refused(null, projectId, "validation: must be \"1\" (the sender verified the request) or \"2\" (it did not)");

        var identifiers = new List<SuppressionIdentifier>();
        foreach (var name in new[] { "email1", "email2" })
        {
            if (Given(values, name) is not { } email) continue;
            if (SuppressionIdentifiers.Email(email) is not { } identifier)
                return Refused(validation, projectId, $"{name}: must be an email address");
            identifiers.Add(identifier);
        }
        foreach (var name in new[] { "phone1", "phone2" })
        {
            if (Given(values, name) is not { } phone) continue;
            if (SuppressionIdentifiers.Phone(phone, defaultCountry) is not { } identifier)
                return Refused(validation, projectId, $"{name}: must be a possible phone number (read as dialled in {defaultCountry} unless it starts with +)");
            identifiers.Add(identifier);
        }
        if (Given(values, "address1") is not null)
        {
            if (SuppressionIdentifiers.Postal(Given(values, "firstname"), Given(values, "lastname"), Given(values, "address1"), Given(values, "zip")) is not { } postal)
                return Refused(validation, projectId, InvalidAddress);
            identifiers.Add(postal);
        }
        if (identifiers.Count == 0)
            return Refused(validation, projectId, "record: no identifier; send email1, email2, phone1, phone2, or firstname, lastname, address1 and zip together");
        return new CheckedRecord(validation, projectId, identifiers.Distinct().ToList(), null);
    }

    /// <summary>An unknown name as the reason quotes it: short, and without control characters (the reason is stored).</summary>
    static string Named(string name)
    {
        var printable = new string(name.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return printable.Length <= 40 ? printable : printable[..40] + "…";
    }

    /// <summary>An empty or blank field counts as not sent: many senders fill every column of their form.</summary>
    static string? Given(Dictionary<string, string> values, string name) =>
        values.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;

    static CheckedRecord Refused(string? validation, string? projectId, string reason) => new(validation, projectId, [], reason);
}
