using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConsentHub.Tests.Inbound;

/// <summary>One GET the feed received, as it arrived, and what it answered.</summary>
public sealed record FeedRequest(
    int Number, string Path, string Query, IReadOnlyDictionary<string, string> QueryValues, IReadOnlyDictionary<string, string> Headers,
    DateTimeOffset ReceivedAt, DateTimeOffset? From, DateTimeOffset? To, int Page, bool TokenOk, int Status, int Items)
{
    /// <summary>The first page of a window (next pages carry <c>page</c>).</summary>
    public bool FirstPage => Page == 1;
    public bool Answered200 => Status == 200;
}

/// <summary>What the feed does to one request instead of answering it well.</summary>
public abstract record FeedFailure
{
    public sealed record Status(int Code) : FeedFailure;
    public sealed record MalformedJson : FeedFailure;
    /// <summary>Answers 200 with this body instead of the page.</summary>
    public sealed record Body(string Json) : FeedFailure;
    /// <summary>Answers well, but only after <see cref="Delay"/> (longer than the hub's timeout).</summary>
    public sealed record Slow(TimeSpan Delay) : FeedFailure;
    /// <summary>Answers the page with a next link to another origin.</summary>
    public sealed record ForeignNext(string Url) : FeedFailure;
}

public enum FeedPaging { Body, LinkHeader }

/// <summary>
/// A marketing tool's change feed over real HTTP on 127.0.0.1 (Kestrel): <c>GET /changes?from=&amp;to=</c> answers the
/// events whose time is in [from, to) as <c>{ "changes": [...], "next": "..." }</c>, page by page (a next URL in the body
/// or a <c>Link: &lt;…&gt;; rel="next"</c> header). It checks the token where it is configured (401 without it), records
/// every request, and fails the requests the test scripts by number.
/// </summary>
public sealed class ChangeFeedServer : IAsyncDisposable
{
    readonly List<(DateTimeOffset At, JsonObject Item)> events = [];
    readonly ConcurrentQueue<FeedRequest> requests = new();
    readonly ConcurrentDictionary<int, FeedFailure> failures = new();
    readonly Lock gate = new();
    int count;
    WebApplication? app;

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/changes";
    public string Origin => $"http://127.0.0.1:{Port}";

    public string Token { get; set; } = "feed-token-" + Guid.NewGuid().ToString("N")[..12];
    /// <summary>"header" or "query", as the poller's tokenIn.</summary>
    public string TokenIn { get; set; } = "header";
    public string TokenName { get; set; } = "x-api-key";
    public string WindowStart { get; set; } = "from";
    public string WindowEnd { get; set; } = "to";
    /// <summary>iso8601, unix or unix-ms.</summary>
    public string TimeFormat { get; set; } = "iso8601";
    /// <summary>Items per page; null answers a window in one page.</summary>
    public int? PageSize { get; set; }
    public FeedPaging Paging { get; set; } = FeedPaging.Body;

    ChangeFeedServer(int port) => Port = port;

    public static async Task<ChangeFeedServer> StartAsync()
    {
        var server = new ChangeFeedServer(HubApp.FreePort());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls(server.Origin);
        var web = builder.Build();
        web.MapGet("/{**path}", server.AnswerAsync);
        await web.StartAsync();
        server.app = web;
        return server;
    }

    public void Add(DateTimeOffset at, JsonObject item)
    {
        lock (gate) events.Add((at, item));
    }

    /// <summary>Request number <paramref name="number"/> (1-based, counting every request) fails as given.</summary>
    public void Fail(int number, FeedFailure failure) => failures[number] = failure;

    /// <summary>The next request (whatever its number) fails as given.</summary>
    public void FailNext(FeedFailure failure)
    {
        lock (gate) failures[count + 1] = failure;
    }

    public IReadOnlyList<FeedRequest> Requests => [.. requests.OrderBy(r => r.Number)];

    /// <summary>The windows answered in full order of arrival: the first pages answered 200.</summary>
    public List<(DateTimeOffset From, DateTimeOffset To)> Windows() =>
        [.. Requests.Where(r => r.FirstPage && r.Answered200).Select(r => (r.From!.Value, r.To!.Value))];

    async Task AnswerAsync(HttpContext context)
    {
        int number;
        lock (gate) number = ++count;
        var request = context.Request;
        var query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var tokenOk = TokenIn == "query"
            ? query.TryGetValue(TokenName, out var q) && q == Token
            : headers.TryGetValue(TokenName, out var h) && h == Token;
        var from = query.TryGetValue(WindowStart, out var f) ? Parse(f) : null;
        var to = query.TryGetValue(WindowEnd, out var t) ? Parse(t) : null;
        var page = query.TryGetValue("page", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : 1;
        failures.TryRemove(number, out var failure);

        int status;
        string? body = null;
        string? link = null;
        var items = 0;
        if (!tokenOk) status = 401;
        else if (failure is FeedFailure.Status s) status = s.Code;
        else if (from is null || to is null) status = 400;
        else
        {
            status = 200;
            List<JsonObject> window;
            lock (gate) window = [.. events.Where(e => e.At >= from && e.At < to).OrderBy(e => e.At).Select(e => (JsonObject)e.Item.DeepClone())];
            var size = PageSize ?? Math.Max(1, window.Count);
            var slice = window.Skip((page - 1) * size).Take(size).ToList();
            items = slice.Count;
            string? next = null;
            if (failure is FeedFailure.ForeignNext foreign) next = foreign.Url;
            else if (page * size < window.Count)
            {
                var rest = $"{WindowStart}={Uri.EscapeDataString(query[WindowStart])}&{WindowEnd}={Uri.EscapeDataString(query[WindowEnd])}&page={page + 1}";
                // The body names the next page absolutely, the Link header relatively: the hub resolves both against the page.
                next = Paging == FeedPaging.Body ? $"{Origin}{request.Path}?{rest}" : $"changes?{rest}";
            }
            var answer = new JsonObject { ["changes"] = new JsonArray([.. slice]) };
            if (Paging == FeedPaging.Body) answer["next"] = next;
            else if (next is not null) link = $"<{next}>; rel=\"next\"";
            body = failure switch
            {
                FeedFailure.MalformedJson => "{ \"changes\": [ {\"id\": ",
                FeedFailure.Body given => given.Json,
                _ => answer.ToJsonString(),
            };
        }
        requests.Enqueue(new FeedRequest(number, request.Path, request.QueryString.Value ?? "", query, headers, DateTimeOffset.UtcNow, from, to, page,
            tokenOk, status, items));
        if (failure is FeedFailure.Slow slow)
        {
            try { await Task.Delay(slow.Delay, context.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        context.Response.StatusCode = status;
        if (link is not null) context.Response.Headers.Link = link;
        if (body is not null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        }
    }

    DateTimeOffset? Parse(string text) => TimeFormat switch
    {
        "unix" => long.TryParse(text, CultureInfo.InvariantCulture, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : null,
        "unix-ms" => long.TryParse(text, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
        _ => DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at : null,
    };

    /// <summary>Waits until <paramref name="condition"/> holds over the requests so far, or fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<FeedRequest>> WaitForAsync(Func<IReadOnlyList<FeedRequest>, bool> condition, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var seen = Requests;
            if (condition(seen)) return seen;
            if (DateTime.UtcNow > until)
                throw new Xunit.Sdk.XunitException($"feed on {Port}: {what} not met; {seen.Count} requests: " +
                    string.Join(" | ", seen.Select(r => $"#{r.Number} {r.Status} {r.Query}")));
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
        app = null;
    }
}
