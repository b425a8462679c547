using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Npgsql;

namespace ConsentHub.Tests.Consents;

/// <summary>
/// The consent read takes a record's entries from JSON aggregates in the record's row (<see cref="RecordRows.ConsentsAggregate"/>);
/// what it reads must be what the rows hold, column for column, whatever the text and however fine the timestamps.
/// </summary>
public sealed class RecordRowsTests
{
    [PostgresOnly]
    public async Task A_records_entries_read_from_their_JSON_aggregates_equal_the_same_rows_read_column_by_column()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres, new()
        {
            ["ConsentHub:Validation:WorkerEnabled"] = "false",
            ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
        });
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(system);
        var body = Seed.Consent("OFFERS", true, "2024-01-02T10:00:00.123456Z");
        ((JsonArray)body["consent"]!["consentAttributes"]!).Add(Seed.Attribute("EVENTS", false, "2024-01-02T10:00:00Z"));
        body["channel"] = new JsonObject
        {
            ["channelAttributes"] = new JsonArray(
                new JsonObject { ["channelCode"] = "EMAIL", ["channelFlag"] = true, ["requestedTimestamp"] = "2024-01-02T10:00:00.1Z" },
                new JsonObject { ["channelCode"] = "SMS", ["channelFlag"] = false, ["requestedTimestamp"] = "2024-01-02T10:00:00Z" }),
        };
        var created = await HubApp.SubmitAsync(client, system, "c1", body);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());

        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        var customerId = (long)(await new NpgsqlCommand("""SELECT "Id" FROM customers WHERE "SourceCustomerId" = 'c1'""", connection).ExecuteScalarAsync())!;
        // Text JSON must escape, a long description where the other has none, and a validation at microsecond precision
        // where the other consent has none: every column holds a value in one entry and, where it may, NULL in another.
        const string description = "Quote \" backslash \\ tab\t é 😀 line\nbreak </script>";
        await using (var update = new NpgsqlCommand(
            """
            UPDATE consent_entries SET "Description" = $1, "LongDescription" = 'In full: ' || $1,
                   "ValidatedAt" = '2024-01-03 10:00:00.654321+00', "ValidationReference" = 'ref-1'
            WHERE "CustomerId" = $2 AND "Code" = 'OFFERS'
            """, connection))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = description });
            update.Parameters.Add(new NpgsqlParameter { Value = customerId });
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }
        await using (var update = new NpgsqlCommand(
            """UPDATE consent_entries SET "ValidatedAt" = NULL, "ValidationReference" = NULL, "LongDescription" = NULL WHERE "CustomerId" = $1 AND "Code" = 'EVENTS'""",
            connection))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = customerId });
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        // PostgreSQL writes a timestamptz in JSON in the session's time zone: one far from UTC shows the offset is applied.
        await using (var zone = new NpgsqlCommand("SET TimeZone = 'Asia/Kolkata'", connection)) await zone.ExecuteNonQueryAsync();
        List<ConsentEntry> consentsByColumn, consentsByJson;
        List<ChannelEntry> channelsByColumn, channelsByJson;
        await using (var rows = RecordRows.Batch(connection, null,
        [
            $"""SELECT {RecordRows.ConsentColumns} FROM consent_entries WHERE "CustomerId" = $1 ORDER BY "Code" """,
            $"""SELECT {RecordRows.ChannelColumns} FROM channel_entries WHERE "CustomerId" = $1 ORDER BY "Code" """,
            $"""SELECT {RecordRows.ConsentsAggregate("$1")}, {RecordRows.ChannelsAggregate("$1")}""",
        ], customerId))
        await using (var reader = await rows.ExecuteReaderAsync())
        {
            consentsByColumn = await RecordRows.ConsentsAsync(reader, default);
            await reader.NextResultAsync();
            channelsByColumn = await RecordRows.ChannelsAsync(reader, default);
            await reader.NextResultAsync();
            Assert.True(await reader.ReadAsync());
            consentsByJson = RecordRows.ConsentsFromJson(reader, 0);
            channelsByJson = RecordRows.ChannelsFromJson(reader, 1);
        }

        Assert.Equal(["EVENTS", "OFFERS"], consentsByColumn.Select(c => c.Code));
        Assert.Equal(["EMAIL", "SMS"], channelsByColumn.Select(c => c.Code));
        Assert.Equal(description, consentsByColumn[1].Description);
        Assert.Equal(new DateTime(2024, 1, 3, 10, 0, 0, DateTimeKind.Utc).AddTicks(6_543_210), consentsByColumn[1].ValidatedAt);
        Assert.Null(consentsByColumn[0].ValidatedAt);
        Assert.Equal(JsonSerializer.Serialize(consentsByColumn), JsonSerializer.Serialize(consentsByJson));
        Assert.Equal(JsonSerializer.Serialize(channelsByColumn), JsonSerializer.Serialize(channelsByJson));
        Assert.All(consentsByJson, c => Assert.Equal(DateTimeKind.Utc, c.RequestedAt.Kind));

        // A record without entries of a kind has NULL for its aggregate, read as no entries.
        await using var none = new NpgsqlCommand($"""SELECT {RecordRows.ConsentsAggregate("-1")}""", connection);
        await using var empty = await none.ExecuteReaderAsync();
        Assert.True(await empty.ReadAsync());
        Assert.Empty(RecordRows.ConsentsFromJson(empty, 0));
    }
}
