using System.Data.Common;
using System.Text;
using ConsentHub.Consents;
using ConsentHub.Data;

namespace ConsentHub.Extracts;

/// <summary>
/// The one SQL statement of a run, built from its definition with every value bound as a parameter, read forward from a
/// single data reader (no batch of rows held in memory) inside the run's snapshot. PostgreSQL and SQLite take the same
/// statement except for the day of a summary.
/// </summary>
public sealed class ExtractQuery
{
    readonly List<(string Name, object Value)> parameters = [];
    readonly string sql;

    /// <summary>The columns in the order the statement returns them; personal columns come last as sealed bytes.</summary>
    public IReadOnlyList<ExtractColumn> Columns { get; }

    /// <summary>Where the sealed contact, its person key and the record id are in each row, when personal columns are asked for.</summary>
    public int? PersonalOrdinal { get; }

    public ExtractQuery(ExtractSpec spec, string nmsc, DateTime now, DatabaseProvider provider)
    {
        Columns = spec.ResolvedColumns();
        var select = new List<string>();
        foreach (var column in Columns)
        {
            select.Add(column switch
            {
                { Source: ExtractColumnSource.Personal } => "NULL",
                { Source: ExtractColumnSource.Named } => $"(SELECT x.\"Flag\" FROM {column.Named!.Value.Table} x WHERE x.\"CustomerId\" = c.\"Id\" AND x.\"Code\" = {Bind(column.Named!.Value.Code)})",
                { Name: ExtractColumns.DayName } => provider == DatabaseProvider.Postgres
                    ? "to_char(e.\"RequestedAt\" AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                    : "substr(e.\"RequestedAt\", 1, 10)",
                _ => column.Sql,
            });
        }
        var personal = Columns.Any(c => c.Personal);
        if (personal)
        {
            PersonalOrdinal = select.Count;
            select.Add("p.\"Sealed\"");
            select.Add("k.\"ProtectedKey\"");
            select.Add("c.\"Id\"");
        }

        var consentFilters = new List<string>();
        if (spec.Categories.Count > 0) consentFilters.Add($"e.\"Code\" IN ({BindAll(spec.Categories)})");
        if (spec.Flag is { } flag) consentFilters.Add($"e.\"Flag\" = {Bind(flag)}");
        if (spec.ChangedSinceAt(now) is { } since) consentFilters.Add($"e.\"RequestedAt\" >= {Bind(since)}");
        if (spec.ValidatedOnly) consentFilters.Add("e.\"ValidationReference\" IS NOT NULL AND e.\"ValidationReference\" <> ''");

        var where = new List<string> { $"c.\"Nmsc\" = {Bind(nmsc)}" };
        if (spec.Contexts.Count > 0) where.Add($"c.\"Context\" IN ({BindAll(spec.Contexts)})");
        if (spec.SourceSystems.Count > 0) where.Add($"c.\"SourceSystem\" IN ({BindAll(spec.SourceSystems)})");
        if (spec.Channels.Count > 0)
        {
            var channelFlag = spec.Flag is { } f ? $" AND h.\"Flag\" = {Bind(f)}" : "";
            where.Add($"EXISTS (SELECT 1 FROM channel_entries h WHERE h.\"CustomerId\" = c.\"Id\" AND h.\"Code\" IN ({BindAll(spec.Channels)}){channelFlag})");
        }

        var perConsent = spec.Kind == ExtractKinds.Summary || spec.Rows == ExtractRowKinds.Consent;
        var from = new StringBuilder("FROM customers c");
        if (perConsent)
        {
            from.Append(" JOIN consent_entries e ON e.\"CustomerId\" = c.\"Id\"");
            where.AddRange(consentFilters);
        }
        else if (consentFilters.Count > 0)
        {
            where.Add($"EXISTS (SELECT 1 FROM consent_entries e WHERE e.\"CustomerId\" = c.\"Id\" AND {string.Join(" AND ", consentFilters)})");
        }
        else
        {
            // A record the hub knows only from a pending change has no applied state to extract.
            where.Add("(EXISTS (SELECT 1 FROM consent_entries e WHERE e.\"CustomerId\" = c.\"Id\") OR EXISTS (SELECT 1 FROM channel_entries h WHERE h.\"CustomerId\" = c.\"Id\"))");
        }
        if (Columns.Any(c => c.Name == "clusterId"))
            from.Append(" LEFT JOIN cluster_members m ON m.\"Nmsc\" = c.\"Nmsc\" AND m.\"Context\" = c.\"Context\" AND m.\"SourceSystem\" = c.\"SourceSystem\" AND m.\"SourceCustomerId\" = c.\"SourceCustomerId\"");
        if (personal)
            from.Append($" LEFT JOIN person_keys k ON k.\"CustomerId\" = c.\"Id\" LEFT JOIN personal_data p ON p.\"Kind\" = {Bind(PersonalDataKinds.Contact)} AND p.\"Reference\" = CAST(c.\"Id\" AS TEXT)");

        var statement = $"SELECT {string.Join(", ", select)} {from} WHERE {string.Join(" AND ", where)}";
        if (spec.Kind == ExtractKinds.Summary)
        {
            var groups = Enumerable.Range(1, Columns.Count).Where(i => Columns[i - 1].Type != ExtractColumnType.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            if (groups.Count > 0) statement += $" GROUP BY {string.Join(", ", groups)} ORDER BY {string.Join(", ", groups)}";
        }
        sql = statement;
    }

    string Bind(object value)
    {
        var name = $"@p{parameters.Count}";
        parameters.Add((name, value));
        return name;
    }

    string BindAll(IEnumerable<string> values) => string.Join(", ", values.Select(v => Bind(v)));

    /// <summary>The statement on <paramref name="connection"/>, in <paramref name="transaction"/>; the caller reads and disposes it.</summary>
    public DbCommand Command(DbConnection connection, DbTransaction? transaction)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.CommandTimeout = 0;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    public override string ToString() => sql;
}
