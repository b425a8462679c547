using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

/// <summary>
/// --mode propagate: how fast validated changes reach a source system's webhook. Every POST names a customer of its
/// own, so each 201 causes exactly one PROPAGATED message, matched to it by sourceCustomerId. Two phases:
/// steady (closed-loop posting with the receiver up: deliveries/s and 201-to-arrival latency) and backlog drain
/// (N changes posted with nothing listening, then the receiver starts and recover makes them due at once).
/// </summary>
sealed class PropagateBench(HttpClient http, string token, string context, string nmsc, string system)
{
    readonly ConcurrentDictionary<string, long> arrivals = new(StringComparer.Ordinal);
    long duplicates;

    string SystemPath => $"/contexts/{context}/nmscs/{nmsc}/source-systems/{system}";

    public async Task<int> RunAsync(int connections, int seconds, int backlog, int waitSeconds)
    {
        var failed = false;
        if (seconds > 0)
        {
            await using var receiver = new Receiver(FreePort(), arrivals, () => Interlocked.Increment(ref duplicates));
            await receiver.StartAsync();
            await PutDestinationAsync(receiver.Url);
            failed |= !await SteadyAsync(connections, seconds, waitSeconds);
        }
        if (backlog > 0)
        {
            // Nothing listens on this port until the backlog is in and has failed once.
            await using var receiver = new Receiver(FreePort(), arrivals, () => Interlocked.Increment(ref duplicates));
            await PutDestinationAsync(receiver.Url);
            failed |= !await DrainAsync(receiver, connections, backlog, waitSeconds);
        }
        if (Interlocked.Read(ref duplicates) > 0)
        {
            Console.WriteLine($"duplicates={duplicates} (a customer's message arrived twice)");
            failed = true;
        }
        return failed ? 1 : 0;
    }

    async Task<bool> SteadyAsync(int connections, int seconds, int waitSeconds)
    {
        var posted = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var errors = 0L;
        var deadline = TimeSpan.FromSeconds(seconds);
        var tag = Guid.NewGuid().ToString("N")[..6];
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async worker =>
        {
            for (var n = 0; Stopwatch.GetElapsedTime(start) < deadline; n++)
            {
                var customer = $"s{tag}-{worker}-{n}";
                if (await PostAsync(customer) is { } answered) posted[customer] = answered;
                else Interlocked.Increment(ref errors);
            }
        }));
        var postEnd = Stopwatch.GetTimestamp();
        var window = Seconds(start, postEnd);
        var complete = await WaitForAsync(posted.Keys, waitSeconds);
        var (latencies, missing) = Match(posted);
        var inWindow = posted.Keys.Count(c => arrivals.TryGetValue(c, out var at) && at <= postEnd);
        var last = posted.Keys.Select(c => arrivals.GetValueOrDefault(c)).DefaultIfEmpty(postEnd).Max();
        Console.WriteLine(
            $"phase=steady connections={connections} seconds={window:F1} posted={posted.Count} errors={errors} posts/s={posted.Count / window:F0} " +
            $"delivered={latencies.Length} missing={missing} deliveries/s={inWindow / window:F0} tail={Math.Max(0, Seconds(postEnd, last)):F2}s " +
            $"latency {Summary(latencies)}");
        return errors == 0 && complete;
    }

    async Task<bool> DrainAsync(Receiver receiver, int connections, int backlog, int waitSeconds)
    {
        var since = DateTime.UtcNow.AddSeconds(-1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var tag = Guid.NewGuid().ToString("N")[..6];
        var customers = Enumerable.Range(0, backlog).Select(i => $"d{tag}-{i}").ToList();
        var errors = 0L;
        var start = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(customers, new ParallelOptions { MaxDegreeOfParallelism = connections }, async (customer, _) =>
        {
            if (await PostAsync(customer) is null) Interlocked.Increment(ref errors);
        });
        Console.Error.WriteLine($"backlog of {backlog} posted in {Seconds(start, Stopwatch.GetTimestamp()):F1} s; waiting until every message has failed and its 5 s retry is done…");
        var failedOnce = await QuietAsync(customers.ToHashSet(StringComparer.Ordinal), waitSeconds);

        await receiver.StartAsync();
        var t0 = Stopwatch.GetTimestamp();
        var recovered = JsonNode.Parse(await Hub.SendAsync(http, HttpMethod.Post, $"{SystemPath}/destination/recover?since={since}", token, null))!["recovered"]!.GetValue<int>();
        var complete = await WaitForAsync(customers, waitSeconds);
        var times = customers.Select(c => arrivals.TryGetValue(c, out var at) ? at : (long?)null).Where(t => t is not null).Select(t => t!.Value).ToList();
        var first = times.Count == 0 ? t0 : times.Min();
        var last = times.Count == 0 ? t0 : times.Max();
        var drain = Seconds(t0, last);
        Console.WriteLine(
            $"phase=drain backlog={backlog} errors={errors} failed-before-start={failedOnce} recovered={recovered} delivered={times.Count} " +
            $"first={Seconds(t0, first) * 1000:F0}ms drain={drain:F2}s deliveries/s={(drain > 0 ? times.Count / drain : 0):F0}");
        return errors == 0 && complete && recovered == backlog;
    }

    /// <summary>Posts one validated change; the instant its 201 arrived, or null on any other answer.</summary>
    async Task<long?> PostAsync(string customer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/contexts/{context}/nmscs/{nmsc}/source-systems/{system}/customers/{customer}/subscription-data")
        {
            Content = JsonContent.Create(Hub.Body(0, $"{customer}@example.com")),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var answered = Stopwatch.GetTimestamp();
        await response.Content.LoadIntoBufferAsync();
        return response.StatusCode == HttpStatusCode.Created ? answered : null;
    }

    async Task PutDestinationAsync(string uri) =>
        await Hub.SendAsync(http, HttpMethod.Put, $"{SystemPath}/destination", token, new { uri, version = "1.0" });

    async Task<bool> WaitForAsync(ICollection<string> customers, int waitSeconds)
    {
        var until = Stopwatch.GetTimestamp() + waitSeconds * Stopwatch.Frequency;
        while (customers.Any(c => !arrivals.ContainsKey(c)))
        {
            if (Stopwatch.GetTimestamp() > until)
            {
                Console.Error.WriteLine($"gave up after {waitSeconds} s: {customers.Count(c => !arrivals.ContainsKey(c))} messages not delivered");
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }

    /// <summary>
    /// Follows the delivery log until every backlog message has been tried and nothing new was tried for 7 s: the
    /// first retry comes 5 s ± 20% after the first failure, the next one only minutes later, so then no attempt is in
    /// flight when recover runs. Returns how many backlog messages had failed.
    /// </summary>
    async Task<int> QuietAsync(HashSet<string> customers, int waitSeconds)
    {
        var tried = new HashSet<string>(StringComparer.Ordinal);
        long after = 0;
        var lastNew = Stopwatch.GetTimestamp();
        var until = Stopwatch.GetTimestamp() + waitSeconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            var page = JsonNode.Parse(await Hub.SendAsync(http, HttpMethod.Get, $"{SystemPath}/destination/deliveries?after={after}&limit=1000", token, null))!;
            foreach (var attempt in page["deliveries"]!.AsArray())
            {
                after = attempt!["id"]!.GetValue<long>();
                var customer = attempt["sourceCustomerId"]!.GetValue<string>();
                if (customers.Contains(customer)) tried.Add(customer);
                lastNew = Stopwatch.GetTimestamp();
            }
            if (page["_links"]?["next"] is not null) continue;
            if (tried.Count == customers.Count && Stopwatch.GetElapsedTime(lastNew) > TimeSpan.FromSeconds(7)) break;
            await Task.Delay(500);
        }
        return tried.Count;
    }

    (double[] Latencies, int Missing) Match(ConcurrentDictionary<string, long> posted)
    {
        var latencies = new List<double>(posted.Count);
        var missing = 0;
        foreach (var (customer, answered) in posted)
        {
            if (arrivals.TryGetValue(customer, out var arrived)) latencies.Add(Seconds(answered, arrived) * 1000);
            else missing++;
        }
        return ([.. latencies.Order()], missing);
    }

    /// <summary>p50/p90/p99/max in ms. The dispatcher may deliver before the client has read the 201: such latencies are negative.</summary>
    static string Summary(double[] sorted)
    {
        double P(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        return $"min={(sorted.Length == 0 ? 0 : sorted[0]):F1}ms p50={P(0.50):F1}ms p90={P(0.90):F1}ms p99={P(0.99):F1}ms max={(sorted.Length == 0 ? 0 : sorted[^1]):F1}ms";
    }

    static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The source system's webhook: Kestrel on 127.0.0.1, answering 204 and noting when each customer's message arrived.</summary>
sealed class Receiver(int port, ConcurrentDictionary<string, long> arrivals, Action duplicate) : IAsyncDisposable
{
    WebApplication? app;

    public string Url => $"http://127.0.0.1:{port}/hooks/consent";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var web = builder.Build();
        web.MapPost("/hooks/consent", async (HttpContext http) =>
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            var arrived = Stopwatch.GetTimestamp();
            var customer = body.RootElement.GetProperty("sourceCustomerId").GetString()!;
            if (!arrivals.TryAdd(customer, arrived)) duplicate();
            http.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        await web.StartAsync();
        app = web;
    }

    public async ValueTask DisposeAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
