using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Extracts;
using ConsentHub.Tests.Infrastructure;
using CsvHelper;
using DuckDB.NET.Data;

namespace ConsentHub.Tests.Extracts;

/// <summary>One consent of an arranged record: what the test sent, to count independently of the hub.</summary>
public sealed record ArrangedConsent(string Code, bool Flag, DateTime Requested, string? Reference);

/// <summary>A record the tests sent through the API, with its consents and channels.</summary>
public sealed record ArrangedRecord(SourceSystemCredentials System, string CustomerId, string Email, IReadOnlyList<ArrangedConsent> Consents,
    IReadOnlyDictionary<string, bool> Channels);

/// <summary>Intent methods of the extract tests: arrange records through the API, define and run extracts, read their files back.</summary>
public static class Extracts
{
    public static JsonObject Change(string email, IEnumerable<ArrangedConsent> consents, IReadOnlyDictionary<string, bool> channels) => new()
    {
        ["commandType"] = "REQUESTED",
        ["commandTimestamp"] = "2026-01-01T00:00:00Z",
        ["consent"] = new JsonObject
        {
            ["gdprCompliant"] = true,
            ["validated"] = true,
            ["notify"] = false,
            ["communicationAttributes"] = new JsonObject { ["language"] = "en", ["country"] = "GB", ["email"] = email },
            ["consentAttributes"] = new JsonArray([.. consents.Select(Attribute)]),
        },
        ["channel"] = new JsonObject
        {
            ["channelAttributes"] = new JsonArray([.. channels.Select(c => (JsonNode)new JsonObject
            {
                ["channelCode"] = c.Key, ["channelFlag"] = c.Value, ["requestedTimestamp"] = "2026-01-01T00:00:00Z",
            })]),
        },
    };

    static JsonNode Attribute(ArrangedConsent c)
    {
        var attribute = new JsonObject
        {
            ["consentCode"] = c.Code,
            ["consentFlag"] = c.Flag,
            ["consentDescription"] = $"I agree to {c.Code}, \"quoted\", with a comma",
            ["requestedTimestamp"] = c.Requested.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
            ["validatedTimestamp"] = c.Requested.AddMinutes(5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
        };
        if (c.Reference is not null) attribute["validationReference"] = c.Reference;
        return attribute;
    }

    public static async Task<ArrangedRecord> SendAsync(HubApp app, SourceSystemCredentials system, string customerId, string email,
        IReadOnlyList<ArrangedConsent> consents, IReadOnlyDictionary<string, bool> channels)
    {
        using var client = await app.AsAsync(system);
        var response = await HubApp.SubmitAsync(client, system, customerId, Change(email, consents, channels));
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return new ArrangedRecord(system, customerId, email, consents, channels);
    }

    public static async Task DefineAsync(HttpClient admin, string nmsc, string name, object definition, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/extracts/{name}", definition);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Asks for a run and follows it to its end; answers the completed run.</summary>
    public static async Task<JsonObject> RunAsync(HttpClient admin, string nmsc, string name)
    {
        var response = await admin.PostAsync($"/admin/organisations/{nmsc}/extracts/{name}:run", null);
        var body = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body.ToJsonString());
        Assert.Equal("queued", body["state"]!.GetValue<string>());
        return await WaitAsync(admin, response.Headers.Location!.OriginalString);
    }

    /// <summary>Follows a run until it completes or fails (the worker is woken by the request; the limit is a safety net, not a timing).</summary>
    public static async Task<JsonObject> WaitAsync(HttpClient admin, string runPath)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var response = await admin.GetAsync(runPath);
            var run = (await Json.ReadAsync(response)).AsObject();
            Assert.True(response.StatusCode == HttpStatusCode.OK, run.ToJsonString());
            var state = run["state"]!.GetValue<string>();
            if (state == "completed") return run;
            Assert.True(state is "queued" or "running", run.ToJsonString());
            Assert.True(DateTime.UtcNow < deadline, $"the run did not finish: {run.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    public static async Task<byte[]> DownloadAsync(HttpClient client, JsonObject run)
    {
        var response = await client.GetAsync(run["_links"]!["file"]!["href"]!.GetValue<string>());
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(run["sha256"]!.GetValue<string>(), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        Assert.Equal(run["bytes"]!.GetValue<long>(), bytes.LongLength);
        return bytes;
    }

    /// <summary>The rows of a file, each as column → text (timestamps as the hub writes them, booleans as true/false, null as null).</summary>
    public static List<Dictionary<string, string?>> Rows(string format, byte[] bytes, IReadOnlyList<string> columns)
    {
        var rows = new List<Dictionary<string, string?>>();
        switch (format)
        {
            case "csv":
            {
                Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
                using var reader = CsvReader.Create(bytes[3..], CsvReaderOptions.Default);
                reader.ReadHeader();
                Assert.Equal(columns, reader.Headers.ToArray());
                while (reader.Read())
                {
                    Assert.Equal(columns.Count, reader.FieldCount);
                    rows.Add(columns.Select((c, i) => (c, reader.GetString(i))).ToDictionary(x => x.c, x => x.Item2.Length == 0 ? null : x.Item2));
                }
                break;
            }
            case "json":
                foreach (var item in Assert.IsType<JsonArray>(JsonNode.Parse(bytes))) rows.Add(JsonRow(item!.AsObject(), columns));
                break;
            case "ndjson":
                var text = System.Text.Encoding.UTF8.GetString(bytes);
                Assert.True(text.Length == 0 || text.EndsWith('\n'));
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries)) rows.Add(JsonRow(JsonNode.Parse(line)!.AsObject(), columns));
                break;
            case "parquet":
                rows.AddRange(DuckDbRows(bytes, columns));
                break;
        }
        return rows;
    }

    static Dictionary<string, string?> JsonRow(JsonObject item, IReadOnlyList<string> columns)
    {
        Assert.Equal(columns, item.Select(m => m.Key).ToArray());
        return columns.ToDictionary(c => c, c => item[c] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
            var v => v.ToJsonString(),
        });
    }

    /// <summary>
    /// A Parquet file read by DuckDB, an independent reader: booleans and counts as DuckDB reads them, timestamps converted back to
    /// the hub's text. Also answers each column's type as DuckDB sees it.
    /// </summary>
    public static List<Dictionary<string, string?>> DuckDbRows(byte[] bytes, IReadOnlyList<string> columns) => DuckDbQuery(bytes, "SELECT * FROM read_parquet('{0}')", columns);

    public static List<Dictionary<string, string?>> DuckDbQuery(byte[] bytes, string sql, IReadOnlyList<string> columns, string extension = "parquet")
    {
        var path = Path.Combine(Path.GetTempPath(), $"consenthub-extract-{Guid.NewGuid():N}.{extension}");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var connection = new DuckDBConnection("Data Source=:memory:");
            connection.Open();
            using (var zone = connection.CreateCommand())
            {
                zone.CommandText = "SET TimeZone = 'UTC'";
                zone.ExecuteNonQuery();
            }
            using var command = connection.CreateCommand();
            command.CommandText = string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, path);
            using var reader = command.ExecuteReader();
            Assert.Equal(columns, Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray());
            var rows = new List<Dictionary<string, string?>>();
            while (reader.Read())
            {
                rows.Add(columns.Select((c, i) => (c, reader.IsDBNull(i) ? null : reader.GetValue(i) switch
                {
                    bool b => b ? "true" : "false",
                    DateTime d => d.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                    DateTimeOffset d => d.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                    var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
                })).ToDictionary(x => x.c, x => x.Item2));
            }
            return rows;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The column types of a Parquet file as DuckDB describes them.</summary>
    public static Dictionary<string, string> DuckDbTypes(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"consenthub-extract-{Guid.NewGuid():N}.parquet");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var connection = new DuckDBConnection("Data Source=:memory:");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"DESCRIBE SELECT * FROM read_parquet('{path}')";
            using var reader = command.ExecuteReader();
            var types = new Dictionary<string, string>();
            while (reader.Read()) types[reader.GetString(0)] = reader.GetString(1);
            return types;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
