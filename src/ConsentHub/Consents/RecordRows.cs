using System.Text.Json;
using Npgsql;

namespace ConsentHub.Consents;

/// <summary>
/// A record's rows as the hot paths read them with Npgsql on PostgreSQL, without EF Core's query pipeline: the columns
/// each statement selects, in order, and the entity made of one row. The consent read and the change's locked read
/// (<see cref="LockedRecord"/>) both use them, so a column added to an entity is added here once.
/// </summary>
static class RecordRows
{
    /// <summary>Every column of <c>customers</c>, for <see cref="Customer"/> at the start of a row; qualified by <paramref name="alias"/>.</summary>
    public static string CustomerColumns(string alias) =>
        string.Join(", ", new[]
        {
            "Id", "SourceSystemId", "Nmsc", "Context", "SourceSystem", "SourceCustomerId", "Language", "Country", "Email", "EmailKey",
            "Phone", "PhoneKey", "CreatedAt",
        }.Select(c => $"{alias}.\"{c}\""));

    /// <summary>How many columns <see cref="CustomerColumns"/> selects: the row's next ordinal after the customer.</summary>
    public const int CustomerColumnCount = 13;

    public const string ConsentColumns =
        """
        "CustomerId", "Code", "Flag", "Description", "LongDescription", "RequestedAt", "ValidatedAt", "ValidationReference",
        "OriginSourceSystem", "ModifiedByOrganization", "ModifiedByUser", "ChangeRequestId", "Sequence"
        """;

    public const string ChannelColumns =
        """
        "CustomerId", "Code", "Flag", "RequestedAt", "OriginSourceSystem", "ModifiedByOrganization", "ModifiedByUser", "ChangeRequestId",
        "Sequence"
        """;

    public const string ContactColumns = """ "Id", "CustomerId", "Kind", "Reference", "Sealed", "UpdatedAt" """;

    public static Customer Customer(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetInt64(0), SourceSystemId = reader.GetInt64(1), Nmsc = reader.GetString(2), Context = reader.GetString(3),
        SourceSystem = reader.GetString(4), SourceCustomerId = reader.GetString(5), Language = NullableString(reader, 6),
        Country = NullableString(reader, 7), LegacyEmail = NullableString(reader, 8), EmailKey = NullableString(reader, 9),
        LegacyPhone = NullableString(reader, 10), PhoneKey = NullableString(reader, 11), CreatedAt = reader.GetDateTime(12),
    };

    /// <summary>The rows of the reader's current result, one <see cref="ConsentEntry"/> each (<see cref="ConsentColumns"/>).</summary>
    public static async Task<List<ConsentEntry>> ConsentsAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var consents = new List<ConsentEntry>();
        while (await reader.ReadAsync(ct))
        {
            consents.Add(new ConsentEntry
            {
                CustomerId = reader.GetInt64(0), Code = reader.GetString(1), Flag = reader.GetBoolean(2),
                Description = NullableString(reader, 3), LongDescription = NullableString(reader, 4),
                RequestedAt = reader.GetDateTime(5), ValidatedAt = NullableDateTime(reader, 6),
                ValidationReference = NullableString(reader, 7), OriginSourceSystem = NullableString(reader, 8),
                ModifiedByOrganization = NullableString(reader, 9), ModifiedByUser = NullableString(reader, 10),
                ChangeRequestId = reader.GetGuid(11), Sequence = reader.GetInt64(12),
            });
        }
        return consents;
    }

    /// <summary>The rows of the reader's current result, one <see cref="ChannelEntry"/> each (<see cref="ChannelColumns"/>).</summary>
    public static async Task<List<ChannelEntry>> ChannelsAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var channels = new List<ChannelEntry>();
        while (await reader.ReadAsync(ct))
        {
            channels.Add(new ChannelEntry
            {
                CustomerId = reader.GetInt64(0), Code = reader.GetString(1), Flag = reader.GetBoolean(2), RequestedAt = reader.GetDateTime(3),
                OriginSourceSystem = NullableString(reader, 4), ModifiedByOrganization = NullableString(reader, 5),
                ModifiedByUser = NullableString(reader, 6), ChangeRequestId = reader.GetGuid(7), Sequence = reader.GetInt64(8),
            });
        }
        return channels;
    }

    /// <summary>
    /// A record's consents as one JSON value of a row, for a read that wants the whole record from one statement:
    /// an array of arrays, each the <see cref="ConsentColumns"/> of one entry by position, in code order; SQL NULL when
    /// the record has none. <paramref name="customerId"/> is the SQL expression of the record's id. Read back with
    /// <see cref="ConsentsFromJson"/>. A second statement per entry table cost PostgreSQL more than the aggregate.
    /// </summary>
    public static string ConsentsAggregate(string customerId) =>
        $"(SELECT json_agg(json_build_array({ConsentColumns}) ORDER BY \"Code\") FROM consent_entries WHERE \"CustomerId\" = {customerId})";

    /// <summary>A record's channels as one JSON value of a row, as <see cref="ConsentsAggregate"/> gives its consents.</summary>
    public static string ChannelsAggregate(string customerId) =>
        $"(SELECT json_agg(json_build_array({ChannelColumns}) ORDER BY \"Code\") FROM channel_entries WHERE \"CustomerId\" = {customerId})";

    /// <summary>The consents of a <see cref="ConsentsAggregate"/> column at this ordinal: positions as in <see cref="ConsentsAsync"/>.</summary>
    public static List<ConsentEntry> ConsentsFromJson(NpgsqlDataReader reader, int ordinal)
    {
        var consents = new List<ConsentEntry>();
        if (reader.IsDBNull(ordinal)) return consents;
        var json = new Utf8JsonReader(reader.GetFieldValue<byte[]>(ordinal));
        Expect(ref json, JsonTokenType.StartArray);
        while (Next(ref json) == JsonTokenType.StartArray)
        {
            consents.Add(new ConsentEntry
            {
                CustomerId = Int64(ref json), Code = Text(ref json)!, Flag = Boolean(ref json), Description = Text(ref json),
                LongDescription = Text(ref json), RequestedAt = Time(ref json)!.Value, ValidatedAt = Time(ref json),
                ValidationReference = Text(ref json), OriginSourceSystem = Text(ref json), ModifiedByOrganization = Text(ref json),
                ModifiedByUser = Text(ref json), ChangeRequestId = Guid(ref json), Sequence = Int64(ref json),
            });
            Expect(ref json, JsonTokenType.EndArray);
        }
        return consents;
    }

    /// <summary>The channels of a <see cref="ChannelsAggregate"/> column at this ordinal: positions as in <see cref="ChannelsAsync"/>.</summary>
    public static List<ChannelEntry> ChannelsFromJson(NpgsqlDataReader reader, int ordinal)
    {
        var channels = new List<ChannelEntry>();
        if (reader.IsDBNull(ordinal)) return channels;
        var json = new Utf8JsonReader(reader.GetFieldValue<byte[]>(ordinal));
        Expect(ref json, JsonTokenType.StartArray);
        while (Next(ref json) == JsonTokenType.StartArray)
        {
            channels.Add(new ChannelEntry
            {
                CustomerId = Int64(ref json), Code = Text(ref json)!, Flag = Boolean(ref json), RequestedAt = Time(ref json)!.Value,
                OriginSourceSystem = Text(ref json), ModifiedByOrganization = Text(ref json), ModifiedByUser = Text(ref json),
                ChangeRequestId = Guid(ref json), Sequence = Int64(ref json),
            });
            Expect(ref json, JsonTokenType.EndArray);
        }
        return channels;
    }

    static JsonTokenType Next(ref Utf8JsonReader json) =>
        json.Read() ? json.TokenType : throw new InvalidOperationException("The aggregate of a record's entries ended early.");

    static void Expect(ref Utf8JsonReader json, JsonTokenType expected)
    {
        if (Next(ref json) != expected)
            throw new InvalidOperationException($"The aggregate of a record's entries has {json.TokenType} where {expected} belongs.");
    }

    static string? Text(ref Utf8JsonReader json) => Next(ref json) == JsonTokenType.Null ? null : json.GetString();

    static long Int64(ref Utf8JsonReader json) => Next(ref json) == JsonTokenType.Number ? json.GetInt64() : throw Unexpected(json);

    static bool Boolean(ref Utf8JsonReader json) => Next(ref json) switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Unexpected(json),
    };

    /// <summary>A <c>timestamptz</c> as PostgreSQL writes it in JSON (ISO 8601 with the session's offset), in UTC as Npgsql reads it.</summary>
    static DateTime? Time(ref Utf8JsonReader json) => Next(ref json) == JsonTokenType.Null ? null : json.GetDateTimeOffset().UtcDateTime;

    static Guid Guid(ref Utf8JsonReader json) => Next(ref json) == JsonTokenType.String ? json.GetGuid() : throw Unexpected(json);

    static InvalidOperationException Unexpected(Utf8JsonReader json) =>
        new($"The aggregate of a record's entries has an unexpected {json.TokenType}.");

    /// <summary>The sealed contact row at the reader's current row (<see cref="ContactColumns"/>).</summary>
    public static SealedPersonalData Contact(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetInt64(0), CustomerId = reader.GetInt64(1), Kind = reader.GetString(2), Reference = reader.GetString(3),
        Sealed = reader.GetFieldValue<byte[]>(4), UpdatedAt = reader.GetDateTime(5),
    };

    public static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static DateTime? NullableDateTime(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDateTime(ordinal);

    public static long? NullableInt64(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    /// <summary>A batch of these statements, each given the same parameters (each statement numbers its own from $1).</summary>
    public static NpgsqlBatch Batch(NpgsqlConnection connection, NpgsqlTransaction? transaction, IEnumerable<string> statements, params object[] parameters)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        Add(batch, statements, parameters);
        return batch;
    }

    /// <summary>Adds these statements to <paramref name="batch"/>, each given the same parameters.</summary>
    public static void Add(NpgsqlBatch batch, IEnumerable<string> statements, params object[] parameters)
    {
        foreach (var sql in statements)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var value in parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });
            batch.BatchCommands.Add(command);
        }
    }
}
