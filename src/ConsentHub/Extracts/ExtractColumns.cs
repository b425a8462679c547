namespace ConsentHub.Extracts;

public enum ExtractColumnType { String, Boolean, Timestamp, Count }

/// <summary>Where a column's value comes from.</summary>
public enum ExtractColumnSource
{
    /// <summary>The record (customers), in every kind of row.</summary>
    Record,
    /// <summary>The consent row (consent_entries): detail rows per consent, and the summary's dimensions.</summary>
    Consent,
    /// <summary>The flag of one named consent category or channel of the record (<c>consent.OFFERS</c>, <c>channel.EMAIL</c>).</summary>
    Named,
    /// <summary>The record's sealed contact, opened as the row is written.</summary>
    Personal,
    /// <summary>The summary's day of change and its count.</summary>
    Summary,
}

/// <summary>One column an extract can write: its name in the file, its type, and the SQL that reads it.</summary>
/// <param name="Sql">An expression over the aliases c (customers), e (consent_entries) and m (cluster_members); for
/// <see cref="ExtractColumnSource.Named"/> columns, the code is bound as a parameter by the query.</param>
public sealed record ExtractColumn(string Name, ExtractColumnType Type, ExtractColumnSource Source, string Sql, string Description)
{
    public bool Personal => Source == ExtractColumnSource.Personal;

    /// <summary>For a named column: consent_entries or channel_entries, and the code.</summary>
    public (string Table, string Code)? Named => Source != ExtractColumnSource.Named ? null
        : Name.StartsWith(ExtractColumns.ConsentPrefix, StringComparison.Ordinal)
            ? ("consent_entries", Name[ExtractColumns.ConsentPrefix.Length..])
            : ("channel_entries", Name[ExtractColumns.ChannelPrefix.Length..]);
}

/// <summary>
/// The catalogue of columns (the README lists it): record columns in every detail row, consent columns in rows per consent,
/// <c>consent.{CODE}</c> and <c>channel.{CODE}</c> for the flag of one category or channel of the record, the personal
/// columns (email, phone) only when the definition includes personal data, and a summary's dimensions and its count.
/// </summary>
public static class ExtractColumns
{
    public const string ConsentPrefix = "consent.";
    public const string ChannelPrefix = "channel.";
    public const string RecordsName = "records";
    public const string DayName = "day";

    static readonly ExtractColumn[] Record =
    [
        new("nmsc", ExtractColumnType.String, ExtractColumnSource.Record, "c.\"Nmsc\"", "The organisation."),
        new("context", ExtractColumnType.String, ExtractColumnSource.Record, "c.\"Context\"", "The record's context."),
        new("sourceSystem", ExtractColumnType.String, ExtractColumnSource.Record, "c.\"SourceSystem\"", "The source system that holds the record."),
        new("sourceCustomerId", ExtractColumnType.String, ExtractColumnSource.Record, "c.\"SourceCustomerId\"", "The record's id in its source system."),
        new("language", ExtractColumnType.String, ExtractColumnSource.Record, "c.\"Language\"", "The person's language (communicationAttributes)."),
        new("country", ExtractColumnType.String, ExtractColumnSource.Record, "c.\"Country\"", "The person's country (communicationAttributes)."),
        new("clusterId", ExtractColumnType.String, ExtractColumnSource.Record, "m.\"ClusterId\"", "The cluster the record belongs to, if any."),
        new("email", ExtractColumnType.String, ExtractColumnSource.Personal, "", "The email address (personal data)."),
        new("phone", ExtractColumnType.String, ExtractColumnSource.Personal, "", "The phone number in E.164 (personal data)."),
    ];

    static readonly ExtractColumn[] Consent =
    [
        new("consentCode", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"Code\"", "The consent category."),
        new("consentFlag", ExtractColumnType.Boolean, ExtractColumnSource.Consent, "e.\"Flag\"", "Whether the person agreed."),
        new("consentDescription", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"Description\"", "The words the person was given."),
        new("consentLongDescription", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"LongDescription\"", "The long wording."),
        new("requestedTimestamp", ExtractColumnType.Timestamp, ExtractColumnSource.Consent, "e.\"RequestedAt\"", "When the person made the choice."),
        new("validatedTimestamp", ExtractColumnType.Timestamp, ExtractColumnSource.Consent, "e.\"ValidatedAt\"", "When the choice was validated."),
        new("validationReference", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"ValidationReference\"", "The proof of validation, if any."),
        new("originSourceSystem", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"OriginSourceSystem\"", "Where the choice was made."),
        new("modifiedByOrganization", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"ModifiedByOrganization\"", "Who changed it."),
        new("modifiedByUser", ExtractColumnType.String, ExtractColumnSource.Consent, "e.\"ModifiedByUser\"", "Who changed it."),
    ];

    /// <summary>The dimensions a summary may group by; its count is <see cref="RecordsName"/>.</summary>
    static readonly string[] SummaryDimensions = ["nmsc", "context", "sourceSystem", "consentCode", "consentFlag", DayName];

    public static readonly string[] DefaultSummary = ["nmsc", "context", "consentCode", "consentFlag", RecordsName];

    /// <summary>Every fixed column, for the README and for errors.</summary>
    public static IEnumerable<ExtractColumn> Catalogue => Record.Concat(Consent);

    /// <summary>The column, or null when <paramref name="name"/> is not one that an extract of this kind and rows can write.</summary>
    public static ExtractColumn? Resolve(string name, string kind, string rows)
    {
        if (kind == ExtractKinds.Summary)
        {
            if (name == RecordsName) return new(RecordsName, ExtractColumnType.Count, ExtractColumnSource.Summary, "COUNT(DISTINCT c.\"Id\")", "Records in the group.");
            if (name == DayName) return new(DayName, ExtractColumnType.String, ExtractColumnSource.Summary, "", "The UTC day the choice was made (yyyy-MM-dd).");
            if (!SummaryDimensions.Contains(name)) return null;
            return Catalogue.Single(c => c.Name == name);
        }
        if (Named(name) is { } named) return named;
        if (Record.FirstOrDefault(c => c.Name == name) is { } record) return record;
        return rows == ExtractRowKinds.Consent ? Consent.FirstOrDefault(c => c.Name == name) : null;
    }

    static ExtractColumn? Named(string name)
    {
        foreach (var (prefix, table) in new[] { (ConsentPrefix, "consent_entries"), (ChannelPrefix, "channel_entries") })
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && ExtractSpec.IsCode(name[prefix.Length..]))
                return new(name, ExtractColumnType.Boolean, ExtractColumnSource.Named, table,
                    $"The flag of the record's {(table == "consent_entries" ? "consent category" : "channel")} {name[prefix.Length..]}, empty when it has none.");
        }
        return null;
    }

    /// <summary>Why <paramref name="name"/> cannot be a column here, in words that name what can.</summary>
    public static string Refusal(string name, string kind, string rows)
    {
        if (kind == ExtractKinds.Summary)
            return $"{name} is not a column of a summary: group by {string.Join(", ", SummaryDimensions)} and count with \"{RecordsName}\".";
        if (rows == ExtractRowKinds.Record && Consent.Any(c => c.Name == name))
            return $"{name} is a column of rows per consent; with \"rows\": \"record\" use consent.{{CODE}} for a category's flag.";
        return $"{name} is not a column: use {string.Join(", ", Catalogue.Select(c => c.Name))}, consent.{{CODE}} or channel.{{CODE}}.";
    }
}
