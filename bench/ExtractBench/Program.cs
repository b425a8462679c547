// Extract rate beside PostgreSQL's COPY TO of the same rows, in one run (bench.sh part extract).
//   dotnet ExtractBench.dll --url HUB --nmsc NMSC --rows N --database CONNECTION-STRING
//     --admin-client-id … --admin-client-secret … --admin-password …
// (a) The hub: a detail extract of NMSC's consents (seven columns: context, source system, customer id, category, flag,
//     requested and validated timestamps) is defined in CSV and in Parquet and run once each; its time is the run's own
//     startedAt to completedAt (the hub reading one snapshot, writing the file and storing it in chunks, then the ledger
//     entry). rows/s is the run's rows over that time.
// (b) The baseline: COPY (SELECT the same columns FROM the same join) TO STDOUT (FORMAT csv, HEADER), read to the end by
//     Npgsql on this machine, as fast as PostgreSQL produces it.
// Prints one line: extract csv_rows/s=… parquet_rows/s=… baseline/s=… rows=… csv_s=… parquet_s=… baseline_s=… csv_bytes=… parquet_bytes=…
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

var options = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Get(string key, string? fallback = null) => options.TryGetValue(key, out var value) ? value : fallback ?? throw new ArgumentException($"--{key} is required");

var nmsc = Get("nmsc");
var expected = long.Parse(Get("rows"), CultureInfo.InvariantCulture);
var wait = TimeSpan.FromSeconds(int.Parse(Get("wait", "1200"), CultureInfo.InvariantCulture));
using var http = new HttpClient { BaseAddress = new Uri(Get("url")), Timeout = TimeSpan.FromMinutes(5) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync());

string[] columns = ["context", "sourceSystem", "sourceCustomerId", "consentCode", "consentFlag", "requestedTimestamp", "validatedTimestamp"];
var hub = new Dictionary<string, (long Rows, long Bytes, double Seconds)>();
foreach (var format in new[] { "csv", "parquet" })
{
    var path = $"/admin/organisations/{nmsc}/extracts/bench-{format}";
    await CheckAsync(await http.PutAsJsonAsync(path, new { columns, format, kind = "detail", validatedOnly = false }));
    var started = await http.PostAsync(path + ":run", null);
    await CheckAsync(started);
    var runPath = started.Headers.Location!.OriginalString;
    var clock = Stopwatch.StartNew();
    while (true)
    {
        var run = JsonNode.Parse(await http.GetStringAsync(runPath))!;
        var state = run["state"]!.GetValue<string>();
        if (state == "completed")
        {
            var seconds = (DateTime.Parse(run["completedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal)
                - DateTime.Parse(run["startedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal)).TotalSeconds;
            hub[format] = (run["rows"]!.GetValue<long>(), run["bytes"]!.GetValue<long>(), seconds);
            break;
        }
        if (state is "failed" or "expired") throw new InvalidOperationException($"the {format} extract {state}: {run.ToJsonString()}");
        if (clock.Elapsed > wait) throw new TimeoutException($"the {format} extract did not finish within {wait.TotalSeconds} s");
        await Task.Delay(200);
    }
    if (hub[format].Rows != expected) throw new InvalidOperationException($"the {format} extract has {hub[format].Rows} rows, not {expected}");
}

// ---- (b) the baseline ------------------------------------------------------------------------------------------------
await using var connection = new NpgsqlConnection(Get("database"));
await connection.OpenAsync();
var baseline = Stopwatch.StartNew();
long baselineRows = 0, baselineBytes = 0;
var copy = $"""
    COPY (SELECT c."Context", c."SourceSystem", c."SourceCustomerId", e."Code", e."Flag", e."RequestedAt", e."ValidatedAt"
          FROM customers c JOIN consent_entries e ON e."CustomerId" = c."Id" WHERE c."Nmsc" = '{nmsc.Replace("'", "''")}')
    TO STDOUT (FORMAT csv, HEADER)
    """;
using (var reader = await connection.BeginTextExportAsync(copy))
{
    var buffer = new char[64 * 1024];
    int read;
    while ((read = await reader.ReadAsync(buffer)) > 0)
    {
        baselineBytes += read;
        baselineRows += buffer.AsSpan(0, read).Count('\n');
    }
}
var baselineSeconds = baseline.Elapsed.TotalSeconds;
baselineRows -= 1; // the header
if (baselineRows != expected) throw new InvalidOperationException($"COPY wrote {baselineRows} rows, not {expected}");

string F(double value) => value.ToString("F0", CultureInfo.InvariantCulture);
string S(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
Console.WriteLine($"extract csv_rows/s={F(hub["csv"].Rows / hub["csv"].Seconds)} parquet_rows/s={F(hub["parquet"].Rows / hub["parquet"].Seconds)} " +
    $"baseline/s={F(baselineRows / baselineSeconds)} rows={expected} csv_s={S(hub["csv"].Seconds)} parquet_s={S(hub["parquet"].Seconds)} " +
    $"baseline_s={S(baselineSeconds)} csv_bytes={hub["csv"].Bytes} parquet_bytes={hub["parquet"].Bytes} baseline_bytes={baselineBytes}");

async Task<string> TokenAsync()
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
    {
        Content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = "admin", ["password"] = Get("admin-password"),
        }),
    };
    request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Get("admin-client-id")}:{Get("admin-client-secret")}")));
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"token: {(int)response.StatusCode} {text}");
    return JsonNode.Parse(text)!["access_token"]!.GetValue<string>();
}

static async Task CheckAsync(HttpResponseMessage response)
{
    if (!response.IsSuccessStatusCode)
        throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
}
