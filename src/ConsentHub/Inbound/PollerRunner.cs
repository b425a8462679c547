using System.Net;
using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Inbound;

/// <summary>What asking a poller to run came to.</summary>
public abstract record PollOutcome
{
    /// <summary>It ran; <see cref="Run"/> is stored unless the window was empty.</summary>
    public sealed record Ran(PollerRun Run) : PollOutcome;
    /// <summary>Another run holds it (on this or another instance).</summary>
    public sealed record Busy : PollOutcome;
    /// <summary>Paused, failed, deleted, or (on schedule) not due.</summary>
    public sealed record NotRunnable : PollOutcome;
}

/// <summary>
/// One run of a poller: claims it under a lease, GETs its window <c>[watermark, now − safety lag)</c> page by page, takes
/// each item in through <see cref="EventIntake"/>, and moves the watermark to the window's end only when the whole window
/// was taken in. A failure leaves the watermark where it was, so the same window is asked again; the items already taken
/// in are recognised by their delivery keys and apply once.
/// </summary>
public sealed class PollerRunner(
    ConsentDb db, EventIntake intake, IHttpClientFactory clients, IDataProtectionProvider protection, LedgerWriter ledger, TimeProvider time,
    IOptions<PollerOptions> options, ILogger<PollerRunner> logger)
{
    public const string ClientName = "pollers";
    public const string ProtectionPurpose = "ConsentHub.Pollers.v1";
    public const string ScheduleTrigger = "schedule";
    public const string ManualTrigger = "manual";
    /// <summary>One page's body at most.</summary>
    public const int MaxPageBytes = 16 * 1024 * 1024;
    static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(30);
    static readonly TimeSpan LongestBackoff = TimeSpan.FromHours(1);

    /// <summary>A failed page: <see cref="Stops"/> when the remote system refused the request itself (a 4xx), so asking again cannot help.</summary>
    sealed class PollFailure(string message, bool stops = false) : Exception(message)
    {
        public bool Stops { get; } = stops;
    }

    sealed class LeaseLost : Exception;

    /// <summary>The backoff after <paramref name="failures"/> failed runs in a row: 30 s, doubling, at most an hour.</summary>
    public static TimeSpan Backoff(int failures) =>
        TimeSpan.FromTicks(Math.Min(LongestBackoff.Ticks, FirstBackoff.Ticks << Math.Clamp(failures - 1, 0, 20)));

    /// <summary>Runs the poller once if it can be claimed: on schedule only when due; by hand whenever it is active.</summary>
    public async Task<PollOutcome> RunAsync(Guid pollerId, string trigger, CancellationToken ct)
    {
        var now = time.Now();
        var lease = Guid.NewGuid();
        var claimable = db.Pollers.Where(p => p.Id == pollerId && p.State == PollerStates.Active && (p.LeaseUntil == null || p.LeaseUntil < now));
        if (trigger == ScheduleTrigger) claimable = claimable.Where(p => p.NextRunAt <= now);
        var claimed = await claimable.ExecuteUpdateAsync(s => s
            .SetProperty(p => p.LeaseToken, lease).SetProperty(p => p.LeaseUntil, now.AddSeconds(options.Value.LeaseSeconds)), ct);
        if (claimed == 0)
        {
            var state = await db.Pollers.AsNoTracking().Where(p => p.Id == pollerId).Select(p => new { p.State, p.LeaseUntil }).SingleOrDefaultAsync(ct);
            return state is { State: PollerStates.Active } && state.LeaseUntil >= now ? new PollOutcome.Busy() : new PollOutcome.NotRunnable();
        }

        var poller = await db.Pollers.AsNoTracking().SingleAsync(p => p.Id == pollerId, ct);
        var run = new PollerRun
        {
            PollerId = poller.Id, Trigger = trigger, StartedAt = now, WindowStart = poller.Watermark,
            WindowEnd = PollerTimeFormats.Truncate(now.AddSeconds(-poller.SafetyLagSeconds), poller.TimeFormat),
        };
        var interval = PollerInterval.Parse(poller.Interval).Interval!;
        if (run.WindowEnd <= run.WindowStart)
        {
            // Nothing to ask for yet (a window of no length): only the schedule moves on.
            run.Succeeded = true;
            await FinishAsync(poller, lease, run, interval, store: false, ct);
            return new PollOutcome.Ran(run);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await FetchWindowAsync(poller, lease, run, ct);
            run.Succeeded = true;
        }
        catch (PollFailure failure)
        {
            run.Error = Truncate(failure.Message);
            logger.LogWarning("Poller {Nmsc}/{Poller}: the window {Start:o} to {End:o} failed: {Error}", poller.Nmsc, poller.Name, run.WindowStart, run.WindowEnd, run.Error);
            run.DurationMs = (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            db.ChangeTracker.Clear();
            await FailAsync(poller, lease, run, failure.Stops, ct);
            return new PollOutcome.Ran(run);
        }
        catch (LeaseLost)
        {
            // Another instance took the poller over after this one overran its lease: it asks the window again.
            logger.LogWarning("Poller {Nmsc}/{Poller} lost its lease during a run; the window is left to the instance that holds it.", poller.Nmsc, poller.Name);
            return new PollOutcome.Busy();
        }
        run.DurationMs = (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        db.ChangeTracker.Clear();
        await FinishAsync(poller, lease, run, interval, store: true, ct);
        return new PollOutcome.Ran(run);
    }

    async Task FetchWindowAsync(Poller poller, Guid lease, PollerRun run, CancellationToken ct)
    {
        var target = await intake.TargetAsync(poller.Nmsc, poller.EventType, ct)
            ?? throw new PollFailure($"The event type '{poller.EventType}' no longer exists.", stops: true);
        if (!target.System.Active)
            throw new PollFailure($"Source system '{target.System.Name}' of event type '{poller.EventType}' is deactivated: its events are not taken in.", stops: true);
        var token = protection.CreateProtector(ProtectionPurpose).Unprotect(poller.ProtectedToken);
        var origin = new Uri(poller.Url);
        var itemsPointer = JsonPointers.Parse(poller.ItemsPointer).Tokens!;
        var nextPointer = poller.NextPointer is null ? null : JsonPointers.Parse(poller.NextPointer).Tokens;
        var client = clients.CreateClient(ClientName);
        var via = $"poller:{poller.Name}";
        Uri? page = FirstPage(poller, origin, run, token);
        while (page is not null)
        {
            if (run.Pages >= options.Value.MaxPages)
                throw new PollFailure($"The window needs more than {options.Value.MaxPages} pages (ConsentHub:Pollers:MaxPages).");
            var (body, link) = await GetAsync(client, poller, page, token, ct);
            using (body)
            {
                run.Pages++;
                if (!JsonPointers.TryEvaluate(body.RootElement, itemsPointer, out var items) || items.ValueKind != JsonValueKind.Array)
                    throw new PollFailure($"Page {run.Pages} has no array at {poller.ItemsPointer} (itemsPointer).");
                foreach (var item in items.EnumerateArray())
                {
                    var outcome = await intake.ApplyAsync(target, item, run.Items, via, ct);
                    run.Items++;
                    switch (outcome.Status)
                    {
                        case EventStatuses.Accepted: run.Applied++; break;
                        case EventStatuses.Duplicate: run.Duplicates++; break;
                        default: run.Rejected++; break;
                    }
                }
                var next = nextPointer is null ? link : NextFromBody(body.RootElement, nextPointer);
                page = next is null ? null : NextPage(poller, origin, page, next, token);
            }
            await RenewAsync(poller.Id, lease, ct);
        }
    }

    /// <summary>The first page: the poller's URL with the window's bounds (and the token, when it goes in the query).</summary>
    static Uri FirstPage(Poller poller, Uri origin, PollerRun run, string token)
    {
        var query = new List<(string, string)>
        {
            (poller.WindowStart, PollerTimeFormats.Format(run.WindowStart, poller.TimeFormat)),
            (poller.WindowEnd, PollerTimeFormats.Format(run.WindowEnd, poller.TimeFormat)),
        };
        if (poller.TokenIn == PollerTokenPlaces.Query) query.Add((poller.TokenName, token));
        return WithQuery(origin, query);
    }

    /// <summary>A next page named by the remote system: on the poller's own origin only, since the token goes with it.</summary>
    static Uri NextPage(Poller poller, Uri origin, Uri current, string next, string token)
    {
        if (!Uri.TryCreate(current, next, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new PollFailure($"The next page's address '{Shown(next)}' is not a URL.");
        if (Uri.Compare(uri, origin, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
            throw new PollFailure($"The next page is on another origin ({uri.GetLeftPart(UriPartial.Authority)}) than the poller's URL; the hub does not send the token there.");
        if (poller.TokenIn == PollerTokenPlaces.Query && !HasParameter(uri, poller.TokenName))
            uri = WithQuery(uri, [(poller.TokenName, token)]);
        return uri;
    }

    async Task<(JsonDocument Body, string? NextLink)> GetAsync(HttpClient client, Poller poller, Uri page, string token, CancellationToken ct)
    {
        // The address as logs and errors may show it: without its query, which may carry the token.
        var shown = page.GetLeftPart(UriPartial.Path);
        using var request = new HttpRequestMessage(HttpMethod.Get, page);
        request.Headers.Accept.ParseAdd("application/json");
        if (poller.TokenIn == PollerTokenPlaces.Header && !request.Headers.TryAddWithoutValidation(poller.TokenName, token))
            throw new PollFailure($"The token cannot be sent in the header '{poller.TokenName}'.", stops: true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
                throw new PollFailure($"GET {shown} answered {status} {response.ReasonPhrase}: redirects are not followed (the token would go with them); configure the final URL.", stops: true);
            if (status is 408 or 429 or >= 500)
                throw new PollFailure($"GET {shown} answered {status} {response.ReasonPhrase}.");
            if (status >= 400)
                throw new PollFailure($"GET {shown} answered {status} {response.ReasonPhrase}.", stops: true);
            if (response.Content.Headers.ContentLength > MaxPageBytes)
                throw new PollFailure($"GET {shown} answered more than {MaxPageBytes} bytes.");
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + read > MaxPageBytes) throw new PollFailure($"GET {shown} answered more than {MaxPageBytes} bytes.");
                buffer.Write(chunk, 0, read);
            }
            JsonDocument body;
            try { body = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 64 }); }
            catch (JsonException e) { throw new PollFailure($"GET {shown} answered a body that is not JSON (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})."); }
            return (body, NextLink(response));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new PollFailure($"GET {shown} took longer than {options.Value.TimeoutSeconds} s (ConsentHub:Pollers:TimeoutSeconds).");
        }
        catch (HttpRequestException e)
        {
            // The connect callback refuses addresses the hub must not reach: the configuration, not the moment, is wrong.
            var refused = e.Message.StartsWith("refused to connect", StringComparison.Ordinal);
            throw new PollFailure($"GET {shown} failed: {e.Message}", stops: refused);
        }
    }

    static string? NextFromBody(JsonElement body, string[] pointer) =>
        JsonPointers.TryEvaluate(body, pointer, out var next) && next.ValueKind == JsonValueKind.String && next.GetString() is { Length: > 0 } url ? url : null;

    /// <summary>The target of a <c>Link</c> header's <c>rel="next"</c> (RFC 8288), if any.</summary>
    public static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values)) return null;
        foreach (var value in values)
        {
            var rest = value.AsSpan();
            while (true)
            {
                var open = rest.IndexOf('<');
                if (open < 0) break;
                var close = rest[open..].IndexOf('>');
                if (close < 0) break;
                var target = rest.Slice(open + 1, close - 1).ToString();
                rest = rest[(open + close + 1)..];
                var end = rest.IndexOf('<');
                var parameters = (end < 0 ? rest : rest[..end]).ToString();
                foreach (var parameter in parameters.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = parameter.IndexOf('=');
                    if (equals < 0 || !parameter[..equals].Trim().Equals("rel", StringComparison.OrdinalIgnoreCase)) continue;
                    var rels = parameter[(equals + 1)..].Trim().Trim(',').Trim('"').Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (rels.Contains("next", StringComparer.OrdinalIgnoreCase)) return target;
                }
            }
        }
        return null;
    }

    async Task RenewAsync(Guid pollerId, Guid lease, CancellationToken ct)
    {
        var until = time.Now().AddSeconds(options.Value.LeaseSeconds);
        var renewed = await db.Pollers.Where(p => p.Id == pollerId && p.LeaseToken == lease).ExecuteUpdateAsync(s => s.SetProperty(p => p.LeaseUntil, until), ct);
        if (renewed == 0) throw new LeaseLost();
    }

    /// <summary>The window was taken in whole: the watermark moves to its end with the run's record, while the lease is still this run's.</summary>
    async Task FinishAsync(Poller poller, Guid lease, PollerRun run, PollerInterval interval, bool store, CancellationToken ct)
    {
        var now = time.Now();
        // A run by hand leaves the schedule as it was; a scheduled one sets the next.
        var next = run.Trigger == ScheduleTrigger ? interval.Next(poller.NextRunAt, now) : poller.NextRunAt;
        // Only from where the run started: an admin who set another watermark (since) meanwhile has the last word.
        var from = run.WindowStart;
        var to = run.WindowEnd > run.WindowStart ? run.WindowEnd : run.WindowStart;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var moved = await db.Pollers.Where(p => p.Id == poller.Id && p.LeaseToken == lease).ExecuteUpdateAsync(s => s
            .SetProperty(p => p.Watermark, p => p.Watermark == from ? to : p.Watermark)
            .SetProperty(p => p.Attempts, 0)
            .SetProperty(p => p.NextRunAt, next)
            .SetProperty(p => p.LeaseToken, (Guid?)null)
            .SetProperty(p => p.LeaseUntil, (DateTime?)null), ct);
        if (moved == 0) return;
        if (store)
        {
            db.PollerRuns.Add(run);
            await db.SaveChangesAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// The window failed: the watermark stays. A failure worth retrying comes back after the backoff; a refusal (4xx) stops
    /// the poller until it is resumed, and the ledger records why.
    /// </summary>
    async Task FailAsync(Poller poller, Guid lease, PollerRun run, bool stops, CancellationToken ct)
    {
        var now = time.Now();
        await using var transaction = stops ? await ledger.BeginAsync(ct) : await db.Database.BeginTransactionAsync(ct);
        var row = await db.Pollers.SingleOrDefaultAsync(p => p.Id == poller.Id && p.LeaseToken == lease, ct);
        if (row is null) return;
        row.Attempts++;
        row.LeaseToken = null;
        row.LeaseUntil = null;
        if (stops)
        {
            // Paused meanwhile by the admin: it stays paused, with the reason to read.
            if (row.State == PollerStates.Active) row.State = PollerStates.Failed;
            row.FailureReason = run.Error;
            row.UpdatedAt = now;
            ledger.Append(LedgerEvents.PollerConfigured, new { nmsc = row.Nmsc, poller = row.Name, action = "stopped", reason = run.Error });
        }
        else
        {
            row.NextRunAt = now + Backoff(row.Attempts);
        }
        db.PollerRuns.Add(run);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }

    static Uri WithQuery(Uri uri, IEnumerable<(string Name, string Value)> parameters)
    {
        var builder = new UriBuilder(uri);
        var added = string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Name)}={Uri.EscapeDataString(p.Value)}"));
        var existing = builder.Query.TrimStart('?');
        builder.Query = existing.Length == 0 ? added : existing + "&" + added;
        return builder.Uri;
    }

    static bool HasParameter(Uri uri, string name) =>
        uri.Query.TrimStart('?').Split('&').Any(p => Uri.UnescapeDataString(p.Split('=', 2)[0]) == name);

    static string Shown(string text) => text.Length <= 80 ? text : text[..80] + "…";

    static string Truncate(string text) => text.Length <= 1000 ? text : text[..999] + "…";
}

public static class PollerTokenPlaces
{
    public const string Header = "header";
    public const string Query = "query";
}

/// <summary>On every instance where polling is enabled: looks for due pollers every few seconds and runs each it can claim.</summary>
public sealed class PollerWorker(IServiceScopeFactory scopes, TimeProvider time, IOptions<PollerOptions> options, ILogger<PollerWorker> logger)
    : PeriodicSweep(time, TimeSpan.FromSeconds(options.Value.SweepSeconds), logger)
{
    protected override string Failure => "Looking for due pollers failed";

    protected override async Task SweepAsync(CancellationToken ct)
    {
        if (!options.Value.Enabled) return;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var now = Time.Now();
        var due = await db.Pollers.AsNoTracking()
            .Where(p => p.State == PollerStates.Active && p.NextRunAt <= now && (p.LeaseUntil == null || p.LeaseUntil < now))
            .OrderBy(p => p.NextRunAt).Select(p => p.Id).Take(100).ToListAsync(ct);
        foreach (var id in due)
        {
            // A scope per run: each run's unit of work starts clean.
            await using var runScope = scopes.CreateAsyncScope();
            await runScope.ServiceProvider.GetRequiredService<PollerRunner>().RunAsync(id, PollerRunner.ScheduleTrigger, ct);
        }
    }
}
