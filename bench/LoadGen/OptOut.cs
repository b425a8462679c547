using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

/// <summary>
/// --mode optout: seed 002's upload against the customers --mode seed made. An API key is issued to the seeded
/// organisation's first source system, then N connections each post bodies of --batch opt-out records (100, the
/// seed's maximum) for --seconds. Every record names the email of a customer no earlier record named
/// (person{n}@example.com, n counting up across connections), so each one withdraws consent for real instead of
/// finding it withdrawn already. Prints records/s, requests/s, latency per request and what the hub answered.
/// </summary>
sealed class OptOutBench(HttpClient http, string adminToken, string context, string nmsc, string system)
{
    public async Task<int> RunAsync(int connections, int seconds, int batch, int customers)
    {
        var issued = JsonNode.Parse(await Hub.SendAsync(http, HttpMethod.Post,
            $"/contexts/{context}/nmscs/{nmsc}/source-systems/{system}/api-keys", adminToken, new { label = "bench" }))!;
        var key = issued["key"]!.GetValue<string>();

        var next = -1;
        long records = 0, successful = 0, failedRequests = 0;
        var latencies = new List<double>[connections];
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            while (clock.Elapsed < deadline)
            {
                var body = new StringBuilder("[");
                for (var i = 0; i < batch; i++)
                {
                    var n = Interlocked.Increment(ref next) % customers;
                    if (i > 0) body.Append(',');
                    body.Append($$"""{"email1":"person{{n}}@example.com","validation":"1","projectid":"bench"}""");
                }
                body.Append(']');
                using var request = new HttpRequestMessage(HttpMethod.Post, "/RestServices/OptOut/Upload")
                {
                    Content = new StringContent(body.ToString(), Encoding.UTF8, "application/json"),
                };
                request.Headers.Add("api-key", key);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    if (Interlocked.Increment(ref failedRequests) == 1) Console.Error.WriteLine($"upload: {(int)response.StatusCode} {text[..Math.Min(300, text.Length)]}");
                    continue;
                }
                Interlocked.Add(ref records, batch);
                Interlocked.Add(ref successful, JsonNode.Parse(text)!["successful"]!.GetValue<int>());
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        Console.WriteLine($"mode=optout connections={connections} batch={batch} seconds={elapsed:F1} requests={all.Length} " +
            $"errors={failedRequests} records={records} successful={successful} records/s={records / elapsed:F0} " +
            $"p50={Percentile(0.50):F0}ms p99={Percentile(0.99):F0}ms");
        return failedRequests == 0 && successful == records ? 0 : 1;
    }
}
