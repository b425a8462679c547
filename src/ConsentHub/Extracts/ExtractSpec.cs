using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Extracts;

public static class ExtractFormats
{
    public const string Csv = "csv";
    public const string Json = "json";
    public const string Ndjson = "ndjson";
    public const string Parquet = "parquet";

    public static readonly string[] All = [Csv, Json, Ndjson, Parquet];

    public static string MediaType(string format) => format switch
    {
        Csv => "text/csv; charset=utf-8",
        Json => "application/json; charset=utf-8",
        Ndjson => "application/x-ndjson; charset=utf-8",
        _ => "application/vnd.apache.parquet",
    };
}

public static class ExtractKinds
{
    /// <summary>One row per record, or per record and consent category (<see cref="ExtractSpec.Rows"/>).</summary>
    public const string Detail = "detail";
    /// <summary>Counts of records per the chosen dimensions.</summary>
    public const string Summary = "summary";
}

public static class ExtractRowKinds
{
    public const string Consent = "consent";
    public const string Record = "record";
}

/// <summary>
/// What an extract selects and writes, as the admin defined it. Filters combine with AND; a list matches any of its
/// values. The consent filters (categories, flag, changedSince, validatedOnly) choose consent rows, and a record matches
/// when one of its consents does; channels name channel preferences the record must hold (with the flag, when given).
/// </summary>
public sealed partial record ExtractSpec(
    IReadOnlyList<string> Contexts, IReadOnlyList<string> SourceSystems, IReadOnlyList<string> Categories, IReadOnlyList<string> Channels,
    bool? Flag, string? ChangedSince, bool ValidatedOnly, IReadOnlyList<string> Columns, string Format, string Kind, string Rows,
    string? Schedule, bool IncludePersonalData)
{
    public const int MaxListItems = 100;

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})$")]
    private static partial System.Text.RegularExpressions.Regex InstantWithOffset();
    public const int MaxColumns = 100;

    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static ExtractSpec FromJson(string json) =>
        JsonSerializer.Deserialize<ExtractSpec>(json, JsonOptions) ?? throw new InvalidOperationException("An extract's stored definition is empty.");

    /// <summary>The lower bound of changedSince at <paramref name="now"/>: now less a duration, or the instant given; null when unset.</summary>
    public DateTime? ChangedSinceAt(DateTime now)
    {
        if (ChangedSince is null) return null;
        if (IsoDuration.Parse(ChangedSince) is { } duration) return duration.Before(now);
        return DateTime.Parse(ChangedSince, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
    }

    /// <summary>The columns a run writes, resolved against the catalogue (checked when the definition was saved).</summary>
    public IReadOnlyList<ExtractColumn> ResolvedColumns() =>
        [.. Columns.Select(c => ExtractColumns.Resolve(c, Kind, Rows) ?? throw new InvalidOperationException($"Column {c} is not in the catalogue."))];

    static readonly string[] Members =
        ["contexts", "sourceSystems", "categories", "channels", "flag", "changedSince", "validatedOnly", "columns", "format", "kind", "rows",
         "schedule", "includePersonalData"];

    /// <summary>The definition in <paramref name="body"/>, or every rule it breaks, each naming its member.</summary>
    public static (ExtractSpec? Spec, List<Violation> Violations) Read(JsonObject body)
    {
        var violations = new List<Violation>();
        foreach (var (name, _) in body)
        {
            if (!Members.Contains(name))
                violations.Add(new Violation(name, "unknown-member", $"{name} is not a member of an extract definition ({string.Join(", ", Members)})."));
        }
        var contexts = NameList(body, "contexts", Tenancy.Names.IsTenantName, Tenancy.Names.TenantNameRule, violations, normalise: true);
        var sourceSystems = NameList(body, "sourceSystems", Tenancy.Names.IsSourceSystemName, Tenancy.Names.SourceSystemNameRule, violations, normalise: false);
        var categories = NameList(body, "categories", IsCode, CodeRule, violations, normalise: false);
        var channels = NameList(body, "channels", IsCode, CodeRule, violations, normalise: false);
        var flag = OptionalBoolean(body, "flag", violations);
        var validatedOnly = RequiredBoolean(body, "validatedOnly", violations);
        var includePersonalData = OptionalBoolean(body, "includePersonalData", violations) ?? false;

        string? changedSince = null;
        if (body["changedSince"] is { } since)
        {
            if (since is JsonValue v && v.GetValueKind() == JsonValueKind.String && IsDurationOrInstant(v.GetValue<string>(), out var normalised))
                changedSince = normalised;
            else
                violations.Add(new Violation("changedSince", "duration-or-instant",
                    "changedSince is an ISO 8601 duration counted back from each run (P30D, P1M, PT12H) or an instant (2026-11-01T00:00:00Z)."));
        }

        var format = OneOf(body, "format", ExtractFormats.All, required: true, violations);
        var kind = OneOf(body, "kind", [ExtractKinds.Detail, ExtractKinds.Summary], required: true, violations);
        var rows = OneOf(body, "rows", [ExtractRowKinds.Consent, ExtractRowKinds.Record], required: false, violations) ?? ExtractRowKinds.Consent;
        if (kind == ExtractKinds.Summary && body["rows"] is not null)
            violations.Add(new Violation("rows", "detail-only", "rows chooses the rows of a detail extract; a summary has one row per group."));

        string? schedule = null;
        if (body["schedule"] is { } s)
        {
            if (s is JsonValue sv && sv.GetValueKind() == JsonValueKind.String && CronSchedule.IsValid(sv.GetValue<string>()))
                schedule = sv.GetValue<string>().Trim();
            else
                violations.Add(new Violation("schedule", "cron", "schedule is a standard cron expression of five fields, in UTC (\"0 6 1 * *\": at 06:00 on the 1st of every month)."));
        }

        var columns = new List<string>();
        if (body["columns"] is JsonArray array && array.Count is > 0 and <= MaxColumns)
        {
            for (var i = 0; i < array.Count; i++)
            {
                var field = $"columns[{i}]";
                if (array[i] is not JsonValue cv || cv.GetValueKind() != JsonValueKind.String)
                {
                    violations.Add(new Violation(field, "string", $"{field} must be a column name."));
                    continue;
                }
                var column = cv.GetValue<string>();
                if (columns.Contains(column))
                {
                    violations.Add(new Violation(field, "unique", $"{field}: the column {column} is named twice."));
                    continue;
                }
                if (kind is not null && ExtractColumns.Resolve(column, kind, rows) is not { } resolved)
                {
                    violations.Add(new Violation(field, "column", ExtractColumns.Refusal(column, kind, rows)));
                    continue;
                }
                else if (kind is not null && ExtractColumns.Resolve(column, kind, rows)!.Personal && !includePersonalData)
                {
                    violations.Add(new Violation(field, "personal-data",
                        $"{field}: {column} is personal data; set includePersonalData to true to write it (the file's download is then personal data too)."));
                    continue;
                }
                columns.Add(column);
            }
            if (kind == ExtractKinds.Summary && !columns.Contains(ExtractColumns.RecordsName))
                violations.Add(new Violation("columns", "records", "A summary's columns include \"records\", the count of each group."));
        }
        else if (body["columns"] is null && kind == ExtractKinds.Summary)
        {
            columns.AddRange(ExtractColumns.DefaultSummary);
        }
        else
        {
            violations.Add(new Violation("columns", "required", $"columns is a list of 1 to {MaxColumns} column names (see the README's column catalogue)."));
        }

        if (violations.Count > 0) return (null, violations);
        return (new ExtractSpec(contexts, sourceSystems, categories, channels, flag, changedSince, validatedOnly!.Value, columns, format!, kind!,
            kind == ExtractKinds.Detail ? rows : ExtractRowKinds.Consent, schedule, includePersonalData), violations);
    }

    public const string CodeRule = "1 to 40 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";

    public static bool IsCode(string value) =>
        value.Length is > 0 and <= Tenancy.Names.MaxCategoryCodeLength && char.IsAsciiLetterOrDigit(value[0])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    static bool IsDurationOrInstant(string text, out string normalised)
    {
        normalised = text;
        if (IsoDuration.Parse(text) is not null) return true;
        if (text.Length > 40 || !DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var instant))
            return false;
        // An instant needs its offset: "2026-11-01" alone would be read in whatever zone someone assumed.
        if (!InstantWithOffset().IsMatch(text)) return false;
        normalised = HubTime.Format(instant)!;
        return true;
    }

    static List<string> NameList(JsonObject body, string member, Func<string, bool> valid, string rule, List<Violation> violations, bool normalise)
    {
        var values = new List<string>();
        if (body[member] is null) return values;
        if (body[member] is not JsonArray array || array.Count > MaxListItems)
        {
            violations.Add(new Violation(member, "array", $"{member} is a list of at most {MaxListItems} names."));
            return values;
        }
        for (var i = 0; i < array.Count; i++)
        {
            var text = array[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
            if (text is not null && normalise) text = Tenancy.Names.Normalise(text);
            if (text is null || !valid(text))
                violations.Add(new Violation($"{member}[{i}]", "name", $"{member}[{i}] is {rule}."));
            else if (!values.Contains(text))
                values.Add(text);
        }
        return values;
    }

    static bool? OptionalBoolean(JsonObject body, string member, List<Violation> violations)
    {
        if (!body.TryGetPropertyValue(member, out var node) || node is null) return null;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        violations.Add(new Violation(member, "boolean", $"{member} is true or false."));
        return null;
    }

    static bool? RequiredBoolean(JsonObject body, string member, List<Violation> violations)
    {
        if (body[member] is null)
        {
            violations.Add(new Violation(member, "required", $"{member} is required: true keeps only consents with proof of validation (a validationReference), false keeps every applied consent."));
            return null;
        }
        return OptionalBoolean(body, member, violations);
    }

    static string? OneOf(JsonObject body, string member, string[] allowed, bool required, List<Violation> violations)
    {
        var node = body[member];
        if (node is null && !required) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String && allowed.Contains(v.GetValue<string>())) return v.GetValue<string>();
        violations.Add(new Violation(member, "one-of", $"{member} is one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))}."));
        return null;
    }
}
