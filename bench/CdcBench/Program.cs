// Change data capture drain rate beside RabbitMQ's own publish rate with confirms, in one run (bench.sh part cdc).
//   dotnet CdcBench.dll --url HUB --amqp amqp://guest:guest@127.0.0.1:PORT/ --nmsc NMSC --changes N
//     --admin-client-id … --admin-client-secret … --admin-password … [--page 500] [--wait 900]
// (a) The hub: a subscription to NMSC's consent.OFFERS, channel.EMAIL and communication.language, on exchange
//     bench-cdc with a durable queue bound to it, is replayed from ledger index 1, so the organisation's whole change
//     log (N changes, seeded before) is the backlog. Timed from the replay's 202 until the status shows no lag; events/s
//     is the status's publishedCount over that time. The average size of the messages is read back from the queue.
// (b) The baseline: N messages of that size, persistent, published to a durable topic exchange bound to a durable
//     queue, in pages of --page (the hub's page size): each page sent, then its confirms awaited, as the hub does.
// Prints one line: cdc events/s=… baseline/s=… bytes=… published=… hub_s=… baseline_s=…
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RabbitMQ.Client;

var options = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Get(string key, string? fallback = null) => options.TryGetValue(key, out var value) ? value : fallback ?? throw new ArgumentException($"--{key} is required");

var nmsc = Get("nmsc");
var changes = int.Parse(Get("changes"));
var page = int.Parse(Get("page", "500"));
var wait = TimeSpan.FromSeconds(int.Parse(Get("wait", "900")));
using var http = new HttpClient { BaseAddress = new Uri(Get("url")), Timeout = TimeSpan.FromMinutes(5) };
var factory = new ConnectionFactory { Uri = new Uri(Get("amqp")) };
await using var connection = await factory.CreateConnectionAsync();

// ---- (a) the hub --------------------------------------------------------------------------------------------------
var admin = await TokenAsync();
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);
const string HubExchange = "bench-cdc", HubQueue = "bench-cdc";
await using (var setup = await connection.CreateChannelAsync())
{
    await setup.ExchangeDeclareAsync(HubExchange, ExchangeType.Topic, durable: true, autoDelete: false);
    await setup.QueueDeclareAsync(HubQueue, durable: true, exclusive: false, autoDelete: false);
    await setup.QueueBindAsync(HubQueue, HubExchange, "#");
    await setup.QueuePurgeAsync(HubQueue);
}
var path = $"/admin/organisations/{nmsc}/cdc/bench";
await CheckAsync(await http.PutAsJsonAsync(path, new { fields = new[] { "consent.OFFERS", "channel.EMAIL", "communication.language" }, exchange = HubExchange }));
var clock = Stopwatch.StartNew();
await CheckAsync(await http.PostAsync(path + ":replay?fromLedgerIndex=1", null));
long published;
while (true)
{
    var status = JsonNode.Parse(await http.GetStringAsync(path + "/status"))!;
    published = status["publishedCount"]!.GetValue<long>();
    if (status["lag"]!["changes"]!.GetValue<long>() == 0) break;
    if (clock.Elapsed > wait) throw new TimeoutException($"the backlog did not drain within {wait.TotalSeconds} s: {status.ToJsonString()}");
    await Task.Delay(100);
}
var hubSeconds = clock.Elapsed.TotalSeconds;
if (published < changes) throw new InvalidOperationException($"{published} events published for {changes} changes");

// The messages' size, read back from the queue (the first thousand).
long bytes = 0, sampled = 0;
await using (var reader = await connection.CreateChannelAsync())
{
    while (sampled < 1000 && await reader.BasicGetAsync(HubQueue, autoAck: true) is { } message)
    {
        bytes += message.Body.Length;
        sampled++;
    }
    await reader.QueueDeleteAsync(HubQueue);
}
if (sampled == 0) throw new InvalidOperationException("no message reached the queue bound to the hub's exchange");
var size = (int)(bytes / sampled);

// ---- (b) the baseline: the same number of messages of the same size, with confirms, a page at a time ----------------
const string BaseExchange = "bench-baseline", BaseQueue = "bench-baseline";
await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
await channel.ExchangeDeclareAsync(BaseExchange, ExchangeType.Topic, durable: true, autoDelete: false);
await channel.QueueDeclareAsync(BaseQueue, durable: true, exclusive: false, autoDelete: false);
await channel.QueueBindAsync(BaseQueue, BaseExchange, "#");
await channel.QueuePurgeAsync(BaseQueue);
var body = Encoding.UTF8.GetBytes(new string('x', size));
var properties = new BasicProperties { Persistent = true, ContentType = "application/cloudevents+json" };
clock.Restart();
for (var sent = 0; sent < published;)
{
    var confirms = new List<ValueTask>(page);
    for (var i = 0; i < page && sent < published; i++, sent++)
        confirms.Add(channel.BasicPublishAsync(BaseExchange, $"consent.changed.{nmsc}.toyota", mandatory: false, properties, body));
    foreach (var confirm in confirms) await confirm;
}
var baseSeconds = clock.Elapsed.TotalSeconds;
await channel.QueueDeleteAsync(BaseQueue);

Console.WriteLine($"cdc events/s={published / hubSeconds:0} baseline/s={published / baseSeconds:0} bytes={size} published={published} hub_s={hubSeconds:0.0} baseline_s={baseSeconds:0.0}");
return 0;

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
