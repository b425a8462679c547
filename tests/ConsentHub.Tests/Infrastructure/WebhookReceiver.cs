using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>One call a receiver got: its headers and exact body.</summary>
public sealed record ReceivedCall(
    string Path, string? WebhookId, string? WebhookTimestamp, string? WebhookSignature, string? ApiKey, string? ContentType, string Body,
    DateTimeOffset ReceivedAt, string? TraceParent = null)
{
    public JsonNode Json => JsonNode.Parse(Body)!;
    public string SourceCustomerId => Json["sourceCustomerId"]!.GetValue<string>();
    public long LedgerIndex => Json["ledgerIndex"]!.GetValue<long>();
    public string PropagationId => Json["propagationId"]!.GetValue<string>();
}

/// <summary>What a receiver answers: a status code, optional headers (Retry-After, Location), optionally after a delay.</summary>
public sealed record ReceiverAnswer(int StatusCode, string? Body = null, TimeSpan? Delay = null, string? RetryAfter = null, string? Location = null);

/// <summary>
/// A real HTTP webhook receiver on 127.0.0.1 (Kestrel), as a source system would run one. It records every call and
/// answers as the test tells it; it can be stopped and started again on the same port.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    readonly ConcurrentQueue<ReceivedCall> calls = new();
    WebApplication? app;

    /// <summary>Decides each answer; by default 204. Called with the number of calls before this one.</summary>
    public Func<ReceivedCall, int, ReceiverAnswer> Answer { get; set; } = (_, _) => new ReceiverAnswer(204);

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/hooks/consent";
    public IReadOnlyList<ReceivedCall> Calls => [.. calls];

    /// <summary>The calls answered with 2xx: what the source system really received.</summary>
    public List<ReceivedCall> Accepted { get; } = [];
    readonly Lock gate = new();

    WebhookReceiver(int port) => Port = port;

    /// <summary>A receiver on a free port; <paramref name="start"/> false leaves it down (nothing listens there yet).</summary>
    public static async Task<WebhookReceiver> StartAsync(bool start = true)
    {
        var receiver = new WebhookReceiver(HubApp.FreePort());
        if (start) await receiver.StartAsync();
        return receiver;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{Port}");
        var web = builder.Build();
        web.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers;
            var call = new ReceivedCall(context.Request.Path, headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"],
                headers["api-key"], context.Request.ContentType, body, DateTimeOffset.UtcNow, headers["traceparent"]);
            int before;
            lock (gate) before = calls.Count;
            calls.Enqueue(call);
            var answer = Answer(call, before);
            if (answer.Delay is { } delay) await Task.Delay(delay);
            if (answer.StatusCode is >= 200 and < 300)
            {
                lock (gate) Accepted.Add(call);
            }
            context.Response.StatusCode = answer.StatusCode;
            if (answer.RetryAfter is not null) context.Response.Headers.RetryAfter = answer.RetryAfter;
            if (answer.Location is not null) context.Response.Headers.Location = answer.Location;
            if (answer.Body is not null) await context.Response.WriteAsync(answer.Body);
        });
        await web.StartAsync();
        app = web;
    }

    public async Task StopAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
        app = null;
    }

    public List<ReceivedCall> AcceptedSnapshot()
    {
        lock (gate) return [.. Accepted];
    }

    /// <summary>Waits until <paramref name="condition"/> holds over the accepted calls, or fails after <paramref name="timeout"/>.</summary>
    public async Task<List<ReceivedCall>> WaitForAsync(Func<List<ReceivedCall>, bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var accepted = AcceptedSnapshot();
            if (condition(accepted)) return accepted;
            if (DateTime.UtcNow > until)
                throw new Xunit.Sdk.XunitException($"receiver on {Port}: {what ?? "condition"} not met; {accepted.Count} accepted of {calls.Count} calls");
            await Task.Delay(50);
        }
    }

    public Task<List<ReceivedCall>> WaitForCountAsync(int count, TimeSpan? timeout = null) =>
        WaitForAsync(a => a.Count >= count, timeout, $"{count} accepted calls");

    public async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>
/// Checks a Standard Webhooks signature from the specification alone (https://www.standardwebhooks.com): the secret
/// is "whsec_" + base64 key; the signed content is "{id}.{timestamp}.{body}"; the header holds space-separated
/// "v1,{base64 HMAC-SHA256}" values, any of which may match. Deliberately independent of the hub's signer.
/// </summary>
public static class StandardWebhooks
{
    public static bool Verify(string secret, ReceivedCall call, TimeSpan? tolerance = null, DateTimeOffset? now = null)
    {
        if (call.WebhookId is null || call.WebhookTimestamp is null || call.WebhookSignature is null) return false;
        if (!long.TryParse(call.WebhookTimestamp, out var seconds)) return false;
        if (tolerance is { } window && Math.Abs((now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds() - seconds) > window.TotalSeconds) return false;
        var key = Convert.FromBase64String(secret.Substring("whsec_".Length));
        using var hmac = new HMACSHA256(key);
        var expected = hmac.ComputeHash(Encoding.UTF8.GetBytes(call.WebhookId + "." + call.WebhookTimestamp + "." + call.Body));
        foreach (var part in call.WebhookSignature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = part.IndexOf(',');
            if (comma < 0 || part[..comma] != "v1") continue;
            byte[] given;
            try { given = Convert.FromBase64String(part[(comma + 1)..]); }
            catch (FormatException) { continue; }
            if (CryptographicOperations.FixedTimeEquals(given, expected)) return true;
        }
        return false;
    }
}

/// <summary>Test steps around destinations and propagation.</summary>
public static class Propagations
{
    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true",
        ["ConsentHub:Propagation:PollMilliseconds"] = "100",
        ["ConsentHub:Propagation:TimeoutSeconds"] = "5",
        ["ConsentHub:Propagation:LeaseSeconds"] = "30",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
    };

    public static string DestinationPath(SourceSystemCredentials s) => $"/contexts/{s.Context}/nmscs/{s.Nmsc}/source-systems/{s.Name}/destination";

    /// <summary>Registers <paramref name="receiver"/> as the system's destination; returns its API key and signing secret.</summary>
    public static async Task<(string ApiKey, string Secret)> RegisterAsync(HubApp app, SourceSystemCredentials system, WebhookReceiver receiver)
    {
        using var client = await app.AsAsync(system);
        var response = await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(client, DestinationPath(system), new { uri = receiver.Url, version = "1.0" });
        var body = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToJsonString());
        return (body["apiKey"]!.GetValue<string>(), body["signingSecret"]!.GetValue<string>());
    }

    /// <summary>
    /// Waits until every message planned for <paramref name="system"/> is DELIVERED (and asserts there are
    /// <paramref name="expected"/>). A delivered message is never sent again and each was received before it was marked
    /// delivered, so from then on the receiver's count is final: "never more" proved by the process's end, not a pause.
    /// </summary>
    public static async Task AllDeliveredAsync(HubApp app, SourceSystemCredentials system, int expected, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            using var scope = app.Scope();
            var states = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
                app.Db(scope).Propagations.Where(p => p.SourceSystemId == system.Id).Select(p => p.State));
            if (states.Count == expected && states.All(s => s == ConsentHub.Propagation.PropagationStates.Delivered)) return;
            Assert.True(states.Count <= expected, $"{states.Count} messages are planned for {system.Name}, {expected} expected");
            Assert.True(DateTime.UtcNow < until, $"not every message for {system.Name} was delivered: {string.Join(", ", states)}");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// One dispatch pass run by the test itself: how many messages were due and deliverable (claimed). Zero proves that
    /// nothing could be sent at this moment, by this instance's worker or any other, without waiting to see.
    /// </summary>
    public static async Task<int> DeliverDueAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await scope.ServiceProvider.GetRequiredService<ConsentHub.Propagation.PropagationDispatcher>().DeliverDueAsync(CancellationToken.None);
    }

    /// <summary>Runs delivery passes until none finds anything to send: the dispatcher's work is done.</summary>
    public static async Task DrainAsync(HubApp app)
    {
        while (await DeliverDueAsync(app) > 0) { }
    }

    public static async Task<HttpResponseMessage> AcknowledgeAsync(HttpClient client, SourceSystemCredentials system, ReceivedCall call) =>
        await HubApp.SubmitAsync(client, system, call.SourceCustomerId, new JsonObject
        {
            ["commandType"] = "PROCESSED",
            ["commandTimestamp"] = "2024-06-01T12:00:00Z",
            ["propagationId"] = call.PropagationId,
        });
}
