using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

/// <summary>
/// --mode events: seed 001's inbound events. Registers source system "forms" in a new organisation, defines event type
/// "form-builder" with the mapping of --mapping (samples/inbound/form-builder.json) and issues it a static token; then N
/// connections each post arrays of --batch validated events to POST /events/{nmsc}/form-builder (token in x-api-key)
/// for --seconds. Every event has an id no other event has, so each is a change applied, never a duplicate. With
/// --seconds 0 one array is posted and checked (the dry run). Prints events/s, requests/s and latency per request;
/// fails unless every answer is 202 with all of its events accepted.
/// </summary>
sealed class EventsBench(HttpClient http, string adminToken, string context, string nmsc)
{
    const string EventType = "form-builder";

    public async Task<int> RunAsync(string mappingFile, int connections, int seconds, int batch)
    {
        var type = JsonNode.Parse(await File.ReadAllTextAsync(mappingFile))!.AsObject();
        var system = type["sourceSystem"]!.GetValue<string>();
        type["context"] = context;
        await Hub.SendAsync(http, HttpMethod.Post, "/admin/source-systems", adminToken, new { context, nmsc, name = system });
        await Hub.SendAsync(http, HttpMethod.Put, $"/admin/organisations/{nmsc}/event-types/{EventType}", adminToken, type);
        var issued = JsonNode.Parse(await Hub.SendAsync(http, HttpMethod.Post,
            $"/admin/organisations/{nmsc}/event-types/{EventType}/tokens", adminToken, new { label = "bench" }))!;
        var token = issued["token"]!.GetValue<string>();

        var next = -1;
        long events = 0, failedRequests = 0;
        var latencies = new List<double>[connections];
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            // --seconds 0: the first connection posts one array and the others none.
            while (seconds == 0 ? worker == 0 && mine.Count == 0 : clock.Elapsed < deadline)
            {
                var body = new StringBuilder("[");
                for (var i = 0; i < batch; i++)
                {
                    var n = Interlocked.Increment(ref next);
                    if (i > 0) body.Append(',');
                    body.Append($$"""{"id":"e{{n}}","mail":"event{{n}}@example.com","newsletter":"{{(n % 2 == 0 ? "yes" : "no")}}","lang":"en","confirmed":true}""");
                }
                body.Append(']');
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/events/{nmsc}/{EventType}")
                {
                    Content = new StringContent(body.ToString(), Encoding.UTF8, "application/json"),
                };
                request.Headers.Add("x-api-key", token);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var accepted = response.StatusCode == HttpStatusCode.Accepted ? Accepted(text) : -1;
                if (accepted != batch)
                {
                    if (Interlocked.Increment(ref failedRequests) == 1)
                        Console.Error.WriteLine($"events: {(int)response.StatusCode}, {accepted} of {batch} applied: {text[..Math.Min(300, text.Length)]}");
                    continue;
                }
                Interlocked.Add(ref events, batch);
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        Console.WriteLine($"mode=events connections={connections} batch={batch} seconds={elapsed:F1} requests={all.Length} " +
            $"errors={failedRequests} events={events} events/s={events / elapsed:F0} " +
            $"p50={Percentile(0.50):F0}ms p99={Percentile(0.99):F0}ms");
        return failedRequests == 0 && events > 0 ? 0 : 1;
    }

    /// <summary>How many events of a 202 were accepted and applied at once, or -1 if the answer is not a delivery's.</summary>
    static int Accepted(string text)
    {
        try
        {
            var outcomes = JsonNode.Parse(text)?["events"]?.AsArray();
            return outcomes?.Count(e => e?["status"]?.GetValue<string>() == "accepted" && e["changeStatus"]?.GetValue<string>() == "APPLIED") ?? -1;
        }
        catch (JsonException) { return -1; }
    }
}
