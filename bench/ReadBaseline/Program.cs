// The baseline of the consent read: the least an ASP.NET Core endpoint can do to answer GET …/subscription-data
// from the hub's own tables. One round trip through Npgsql reads the customer row by its source ids and its consent
// and channel entries by id; the answer is serialised as JSON. No authentication, no cluster, no decryption: what is
// left between this and the hub's figure is the hub's own work.
// GET /pk/{id} is the plainest read of all, the machine's own limit for a read through Kestrel and Npgsql: one customer
// row by its primary key, one prepared statement, four members of JSON.
//   dotnet bench/ReadBaseline/…/ReadBaseline.dll --pg CONNECTION-STRING --urls http://127.0.0.1:PORT
using System.Text.Json;
using Npgsql;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var dataSource = NpgsqlDataSource.Create(builder.Configuration["pg"] ?? throw new ArgumentException("--pg CONNECTION-STRING is required"));
var app = builder.Build();

app.MapGet("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/customers/{sourceCustomerId}/subscription-data",
    async (string context, string nmsc, string sourceSystem, string sourceCustomerId, HttpResponse response, CancellationToken ct) =>
    {
        await using var batch = dataSource.CreateBatch();
        foreach (var sql in Queries.All)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddWithValue(nmsc);
            command.Parameters.AddWithValue(context);
            command.Parameters.AddWithValue(sourceSystem);
            command.Parameters.AddWithValue(sourceCustomerId);
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        response.ContentType = "application/hal+json";
        await using var json = new Utf8JsonWriter(response.BodyWriter);
        json.WriteStartObject();
        json.WriteString("sourceCustomerId", sourceCustomerId);
        json.WriteStartObject("communicationAttributes");
        json.WriteString("language", reader.IsDBNull(1) ? null : reader.GetString(1));
        json.WriteString("country", reader.IsDBNull(2) ? null : reader.GetString(2));
        json.WriteEndObject();
        await reader.NextResultAsync(ct);
        json.WriteStartArray("consentAttributes");
        while (await reader.ReadAsync(ct))
        {
            json.WriteStartObject();
            json.WriteString("consentCode", reader.GetString(0));
            json.WriteBoolean("consentFlag", reader.GetBoolean(1));
            json.WriteString("consentDescription", reader.IsDBNull(2) ? null : reader.GetString(2));
            json.WriteString("requestedTimestamp", reader.GetFieldValue<DateTimeOffset>(3));
            if (reader.IsDBNull(4)) json.WriteNull("validatedTimestamp");
            else json.WriteString("validatedTimestamp", reader.GetFieldValue<DateTimeOffset>(4));
            json.WriteString("originSourceSystem", reader.IsDBNull(5) ? null : reader.GetString(5));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        await reader.NextResultAsync(ct);
        json.WriteStartArray("channelAttributes");
        while (await reader.ReadAsync(ct))
        {
            json.WriteStartObject();
            json.WriteString("channelCode", reader.GetString(0));
            json.WriteBoolean("channelFlag", reader.GetBoolean(1));
            json.WriteString("requestedTimestamp", reader.GetFieldValue<DateTimeOffset>(2));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(ct);
    });

app.MapGet("/pk/{id:long}", async (long id, HttpResponse response, CancellationToken ct) =>
{
    await using var command = dataSource.CreateCommand(Queries.ByPrimaryKey);
    command.Parameters.AddWithValue(id);
    await using var reader = await command.ExecuteReaderAsync(ct);
    if (!await reader.ReadAsync(ct))
    {
        response.StatusCode = StatusCodes.Status404NotFound;
        return;
    }
    response.ContentType = "application/json";
    await using var json = new Utf8JsonWriter(response.BodyWriter);
    json.WriteStartObject();
    json.WriteNumber("id", reader.GetInt64(0));
    json.WriteString("sourceCustomerId", reader.GetString(1));
    json.WriteString("language", reader.IsDBNull(2) ? null : reader.GetString(2));
    json.WriteString("country", reader.IsDBNull(3) ? null : reader.GetString(3));
    json.WriteEndObject();
    await json.FlushAsync(ct);
});

app.Run();

static class Queries
{
    public const string ByPrimaryKey = """SELECT "Id", "SourceCustomerId", "Language", "Country" FROM customers WHERE "Id" = $1""";

    // The customer by its unique source ids (the hub's index), then its entries through the same lookup.
    const string Customer = """SELECT "Id" FROM customers WHERE "Nmsc" = $1 AND "Context" = $2 AND "SourceSystem" = $3 AND "SourceCustomerId" = $4""";

    public static readonly string[] All =
    [
        """SELECT "Id", "Language", "Country" FROM customers WHERE "Nmsc" = $1 AND "Context" = $2 AND "SourceSystem" = $3 AND "SourceCustomerId" = $4""",
        $"""SELECT "Code", "Flag", "Description", "RequestedAt", "ValidatedAt", "OriginSourceSystem" FROM consent_entries WHERE "CustomerId" = ({Customer}) ORDER BY "Code" """,
        $"""SELECT "Code", "Flag", "RequestedAt" FROM channel_entries WHERE "CustomerId" = ({Customer}) ORDER BY "Code" """,
    ];
}
