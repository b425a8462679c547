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
