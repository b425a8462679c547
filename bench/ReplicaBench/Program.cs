// Replica catch-up beside PostgreSQL's COPY of the same rows, in one run (bench.sh part replica).
//   dotnet ReplicaBench.dll --url HUB --nmsc NMSC --token SOURCE_SYSTEM_TOKEN --system crm --records N
//     --target-admin "Host=…;Database=postgres;…" --admin-client-id … --admin-client-secret … [--admin-password …] [--wait 900]
// The organisation NMSC holds N records of source system SYSTEM (seeded before, one upload). Then:
// (a) copy: a replica into a fresh database; timed from the PUT until the status is live with no lag (the first copy).
// (b) catch-up: the target database refuses connections while a second upload changes every record (N change-log
//     rows, each record's OFFERS flag and a new channel); it accepts them again and the time until the replica has no
//     lag is the catch-up; rows/s is the rows the replica wrote (the status's rowsApplied) over that time.
// (c) the baseline: the target's rows copied with binary COPY (out of the table, into a new one of the same shape).
// Prints one line: replica rows/s=… copy_rows/s=… baseline/s=… rows=… changes=… catchup_s=… baseline_s=…
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

var options = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Get(string key, string? fallback = null) => options.TryGetValue(key, out var value) ? value : fallback ?? throw new ArgumentException($"--{key} is required");

var nmsc = Get("nmsc");
var system = Get("system", "crm");
var records = int.Parse(Get("records"));
var wait = TimeSpan.FromSeconds(int.Parse(Get("wait", "900")));
var targetAdmin = Get("target-admin");
const string Database = "replica_bench";
using var http = new HttpClient { BaseAddress = new Uri(Get("url")), Timeout = TimeSpan.FromMinutes(10) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync());

await AdminAsync($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)");
await AdminAsync($"CREATE DATABASE {Database}");
var target = new NpgsqlConnectionStringBuilder(targetAdmin) { Database = Database, Pooling = false }.ConnectionString;

// ---- (a) the first copy ---------------------------------------------------------------------------------------------
var path = $"/admin/organisations/{nmsc}/replicas/bench";
var clock = Stopwatch.StartNew();
await CheckAsync(await http.PutAsJsonAsync(path, new { connectionString = target, schema = "bench", table = "consents" }));
var copied = await WaitCaughtUpAsync();
var copySeconds = clock.Elapsed.TotalSeconds;

// ---- (b) a backlog of one change per record, applied after a target outage ---------------------------------------------
await AdminAsync($"ALTER DATABASE {Database} ALLOW_CONNECTIONS false");
await AdminAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{Database}'");
using (var upload = new HttpRequestMessage(HttpMethod.Post, $"/contexts/toyota/nmscs/{nmsc}/source-systems/{system}/uploads"))
{
    upload.Content = new StringContent(Lines(), Encoding.UTF8, "application/x-ndjson");
    upload.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Get("token"));
    using var response = await http.SendAsync(upload);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload: {(int)response.StatusCode} {text}");
    var applied = JsonNode.Parse(text)!["applied"]!.GetValue<long>();
    if (applied != records) throw new InvalidOperationException($"the second upload applied {applied} of {records}");
}
var backlog = JsonNode.Parse(await http.GetStringAsync(path + "/status"))!;
var changes = backlog["lagChanges"]!.GetValue<long>();
var before = backlog["rowsApplied"]!.GetValue<long>();
clock.Restart();
await AdminAsync($"ALTER DATABASE {Database} ALLOW_CONNECTIONS true");
var after = await WaitCaughtUpAsync();
var catchUpSeconds = clock.Elapsed.TotalSeconds;
var rows = after["rowsApplied"]!.GetValue<long>() - before;

// ---- (c) the baseline: the same rows by binary COPY ---------------------------------------------------------------------
long baselineRows = 0;
await using (var source = new NpgsqlConnection(target))
await using (var sink = new NpgsqlConnection(target))
{
    await source.OpenAsync();
    await sink.OpenAsync();
    await using (var create = new NpgsqlCommand("CREATE TABLE bench.baseline (LIKE bench.consents INCLUDING ALL)", sink)) await create.ExecuteNonQueryAsync();
    clock.Restart();
    await using var reader = await source.BeginRawBinaryCopyAsync("COPY bench.consents TO STDOUT (FORMAT BINARY)");
    await using var writer = await sink.BeginRawBinaryCopyAsync("COPY bench.baseline FROM STDIN (FORMAT BINARY)");
    await reader.CopyToAsync(writer);
    await writer.DisposeAsync();
    await using var count = new NpgsqlCommand("SELECT count(*) FROM bench.baseline", sink);
    baselineRows = (long)(await count.ExecuteScalarAsync())!;
}
var baselineSeconds = clock.Elapsed.TotalSeconds;
await CheckAsync(await http.DeleteAsync(path));
await AdminAsync($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)");

Console.WriteLine($"replica rows/s={rows / catchUpSeconds:0} copy_rows/s={copied["rowsApplied"]!.GetValue<long>() / copySeconds:0} baseline/s={baselineRows / baselineSeconds:0} " +
    $"rows={rows} changes={changes} catchup_s={catchUpSeconds:0.0} baseline_s={baselineSeconds:0.00}");
return 0;

string Lines()
{
    var text = new StringBuilder();
    for (var n = 0; n < records; n++)
    {
        var data = new
        {
            commandType = "REQUESTED",
            commandTimestamp = "2025-06-01T10:00:00Z",
            consent = new
            {
                gdprCompliant = true, validated = true,
                consentAttributes = new[] { new { consentCode = "OFFERS", consentFlag = n % 2 == 0, consentDescription = "I agree to OFFERS", requestedTimestamp = "2025-06-01T10:00:00Z" } },
            },
            channel = new { channelAttributes = new[] { new { channelCode = "SMS", channelFlag = true, requestedTimestamp = "2025-06-01T10:00:00Z" } } },
        };
        text.Append(JsonSerializer.Serialize(new { context = "toyota", nmsc, sourceSystemName = system, sourceCustomerId = $"c{n}", data })).Append('\n');
    }
    return text.ToString();
}

async Task<JsonNode> WaitCaughtUpAsync()
{
    while (true)
    {
        var status = JsonNode.Parse(await http.GetStringAsync(path + "/status"))!;
        if (status["state"]!.GetValue<string>() == "live" && status["lagChanges"]!.GetValue<long>() == 0) return status;
        if (clock.Elapsed > wait) throw new TimeoutException($"the replica did not catch up within {wait.TotalSeconds} s: {status.ToJsonString()}");
        await Task.Delay(100);
    }
}

async Task AdminAsync(string sql)
{
    await using var connection = new NpgsqlConnection(targetAdmin);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync();
}

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
