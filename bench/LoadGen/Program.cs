// A small closed-loop load generator for ConsentHub: N connections, each sending the next request as soon as
// the previous one answered, for a fixed time. It registers its own organisation and source system first.
//   dotnet run -c Release --project bench/LoadGen -- --url http://127.0.0.1:5080 --mode post|get|propagate
//     --admin-client-id … --admin-client-secret … --admin-password … [--connections 32] [--seconds 10] [--customers 1000]
//     [--backlog 0] [--wait 120]
// --mode bulk uploads --records N generated records and exports them as a DPO, each beside PostgreSQL's COPY of the
// same rows (Bulk.cs): needs --pg CONNECTION-STRING of the hub's (otherwise empty) database, and optionally
// --server-pid PID for the hub's peak memory.
// --mode seed --customers N [--systems crm,dms,web,app] [--out FILE] uploads N records across the systems, clusters
// some pairs and writes the first system's token and paths to FILE for wrk (Seed.cs). --mode receiver --port P
// [--seconds S] runs the webhook receiver of mode propagate alone, so wrk can measure its own accept rate.
// --mode optout --nmsc NMSC [--batch 100] posts seed 002 opt-out uploads for the customers --mode seed made in NMSC
// (OptOut.cs): records/s and latency per request.
// --mode events [--batch 100] [--mapping samples/inbound/form-builder.json] posts arrays of validated seed 001 events to
// POST /events/{nmsc}/form-builder with a static token (Events.cs): events/s and latency per request; --seconds 0 posts
// one array.
// --mode propagate measures delivery to a webhook (Propagate.cs). LoadGen runs the receiver itself (Kestrel on
// 127.0.0.1, answering 204) and registers it as its source system's destination, so the server must run with
// ConsentHub__Propagation__AllowInsecureLoopback=true. Every POST names a new customer, so each 201 causes exactly one
// PROPAGATED message, matched by sourceCustomerId. Steady phase (--seconds, 0 skips it): closed-loop posting with the
// receiver up; prints posts/s, deliveries/s (arrivals while posting), the tail after posting stopped and the latency
// from the client receiving the 201 to the receiver holding the message (p50/p90/p99/max). Drain phase (--backlog N):
// N changes are posted while nothing listens on the destination's port; once each has failed (and its 5 s retry is
// over) the receiver starts and POST …/destination/recover makes them due at once; prints the time to deliver all N
// and deliveries/s. --wait bounds each wait for deliveries, in seconds.
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

var options = Args.Parse(args);
var url = options.Get("url", "http://127.0.0.1:5080");
var mode = options.Get("mode", "post");
var connections = int.Parse(options.Get("connections", "32"));
var seconds = int.Parse(options.Get("seconds", "10"));
var customers = int.Parse(options.Get("customers", "1000"));
if (mode is not ("post" or "get" or "propagate" or "bulk" or "seed" or "receiver" or "optout" or "events"))
    throw new ArgumentException($"--mode {mode}: post, get, propagate, bulk, seed, receiver, optout or events");

if (mode == "receiver")
{
    // The propagation receiver alone, for its own maximum accept rate (wrk posts to it); stops after --seconds.
    var received = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(StringComparer.Ordinal);
    await using var receiver = new Receiver(int.Parse(options.Get("port", "0")), received, () => { });
    await receiver.StartAsync();
    Console.WriteLine($"listening on {receiver.Url}");
    // Until --seconds have passed or the harness stops us (SIGTERM, Ctrl-C), whichever comes first.
    using var done = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, signal => { signal.Cancel = true; done.Cancel(); });
    using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, signal => { signal.Cancel = true; done.Cancel(); });
    try { await Task.Delay(Timeout.Infinite, done.Token); } catch (OperationCanceledException) { }
    Console.WriteLine($"received={received.Count}");
    return 0;
}

// No client timeout: an upload of many records takes longer than HttpClient's default 100 s; bench.sh bounds the
// whole process with `timeout` instead.
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };

var adminToken = await TokenAsync(options.Get("admin-client-id", ""), options.Get("admin-client-secret", ""),
    new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = options.Get("admin-password", "") });
if (mode == "optout")
{
    // The seeded organisation, not a new one: its customers are the ones opted out.
    return await new OptOutBench(http, adminToken, "toyota", options.Get("nmsc", ""), "crm")
        .RunAsync(connections, seconds, int.Parse(options.Get("batch", "100")), customers);
}
var nmsc = "bench-" + Guid.NewGuid().ToString("N")[..8];
await SendAsync(HttpMethod.Put, $"/admin/organisations/{nmsc}", adminToken, null);
await SendAsync(HttpMethod.Put, "/admin/contexts/toyota", adminToken, null);
var system = JsonNode.Parse(await SendAsync(HttpMethod.Post, "/admin/source-systems", adminToken, new { context = "toyota", nmsc, name = "crm" }))!;
var token = await TokenAsync(system["clientId"]!.GetValue<string>(), system["clientSecret"]!.GetValue<string>(), new() { ["grant_type"] = "client_credentials" });
var basePath = $"/contexts/toyota/nmscs/{nmsc}/source-systems/crm/customers";

if (mode == "events")
{
    return await new EventsBench(http, adminToken, "toyota", nmsc)
        .RunAsync(options.Get("mapping", "samples/inbound/form-builder.json"), connections, seconds, int.Parse(options.Get("batch", "100")));
}

if (mode == "propagate")
{
    return await new PropagateBench(http, token, "toyota", nmsc, "crm")
        .RunAsync(connections, seconds, int.Parse(options.Get("backlog", "0")), int.Parse(options.Get("wait", "120")));
}

if (mode == "seed")
{
    var systems = options.Get("systems", "crm,dms,web,app").Split(',');
    async Task<string> RegisterAsync(string name)
    {
        if (name == "") return token;
        var created = JsonNode.Parse(await SendAsync(HttpMethod.Post, "/admin/source-systems", adminToken, new { context = "toyota", nmsc, name }))!;
        return await TokenAsync(created["clientId"]!.GetValue<string>(), created["clientSecret"]!.GetValue<string>(), new() { ["grant_type"] = "client_credentials" });
    }
    return await new SeedBench(http, adminToken, "toyota", nmsc, RegisterAsync).RunAsync(customers, ["crm", .. systems.Where(s => s != "crm")], options.Get("out", "seed.env"));
}

if (mode == "bulk")
{
    var pid = options.Get("server-pid", "");
    return await new BulkBench(http, adminToken, token, "toyota", nmsc, "crm", options.Get("pg", ""), pid == "" ? null : int.Parse(pid))
        .RunAsync(int.Parse(options.Get("records", "100000")));
}

if (mode == "get")
{
    Console.Error.WriteLine($"seeding {customers} customers…");
    await Parallel.ForAsync(0, customers, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        await SendAsync(HttpMethod.Post, $"{basePath}/c{i}/subscription-data", token, Body(i)));
}

var latencies = new List<double>[connections];
var errors = 0L;
var stop = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(seconds);
await Task.WhenAll(Enumerable.Range(0, connections).Select(async worker =>
{
    var mine = latencies[worker] = new List<double>(100_000);
    var random = new Random(worker);
    var n = 0;
    while (stop.Elapsed < deadline && mine.Count < 10_000_000)
    {
        var customer = random.Next(customers);
        using var request = mode == "get"
            ? new HttpRequestMessage(HttpMethod.Get, $"{basePath}/c{customer}/subscription-data")
            : new HttpRequestMessage(HttpMethod.Post, $"{basePath}/c{customer}/subscription-data") { Content = JsonContent.Create(Body(worker * 1_000_000 + n++)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var started = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        if (!response.IsSuccessStatusCode) Interlocked.Increment(ref errors);
    }
}));
var elapsed = stop.Elapsed.TotalSeconds;
var all = latencies.SelectMany(l => l).Order().ToArray();
double Percentile(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
Console.WriteLine($"mode={mode} connections={connections} seconds={elapsed:F1} requests={all.Length} errors={errors} " +
    $"rate={all.Length / elapsed:F0}/s p50={Percentile(0.50):F2}ms p99={Percentile(0.99):F2}ms");
return errors == 0 ? 0 : 1;

static object Body(int n) => Hub.Body(n, $"person{n}@example.com");

async Task<string> TokenAsync(string clientId, string secret, Dictionary<string, string> form)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"token: {(int)response.StatusCode} {body}");
    return JsonNode.Parse(body)!["access_token"]!.GetValue<string>();
}

Task<string> SendAsync(HttpMethod method, string path, string bearer, object? body) => Hub.SendAsync(http, method, path, bearer, body);

static class Hub
{
    /// <summary>A validated REQUESTED change: one consent, one channel, the given email.</summary>
    public static object Body(int n, string email) => new
    {
        commandType = "REQUESTED",
        commandTimestamp = "2024-01-01T10:00:00Z",
        consent = new
        {
            gdprCompliant = true,
            validated = true,
            communicationAttributes = new { language = "en", country = "GB", email },
            consentAttributes = new[]
            {
                new { consentCode = "OFFERS", consentFlag = n % 2 == 0, consentDescription = "Offers", requestedTimestamp = DateTimeOffset.UtcNow.ToString("O") },
            },
        },
        channel = new { channelAttributes = new[] { new { channelCode = "EMAIL", channelFlag = true, requestedTimestamp = "2024-01-01T10:00:00Z" } } },
    };

    public static async Task<string> SendAsync(HttpClient http, HttpMethod method, string path, string bearer, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        return text;
    }
}

sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2) values[args[i].TrimStart('-')] = args[i + 1];
        return new Args(values);
    }

    public string Get(string name, string fallback) => values.TryGetValue(name, out var value) ? value : fallback;
}
