using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Propagation;

/// <summary>
/// Delivers due PROPAGATED messages. A pass claims a batch under a lease (with SKIP LOCKED on PostgreSQL, so that
/// several instances share the work without sending anything twice), calls the destinations in parallel, and
/// records every attempt. Only the oldest outstanding message of a record is ever claimed, so a record's messages
/// arrive in order while a failing record holds up nobody else.
/// </summary>
public sealed class PropagationDispatcher(
    ConsentDb db, LedgerWriter ledger, IHttpClientFactory clients, IDataProtectionProvider protection, TimeProvider time,
    IOptions<PropagationOptions> options, DeliveryMeters meters, ILogger<PropagationDispatcher> logger)
{
    public const string ClientName = "consenthub-webhooks";
    const int ResponseExcerptChars = 500;

    /// <param name="TraceParent">The trace of the request that applied the change, which the delivery continues.</param>
    sealed record Claimed(Guid Id, long SourceSystemId, string Payload, string? TraceParent);

    /// <param name="Nmsc">With <paramref name="Context"/> and <paramref name="System"/>, the destination's name in the metrics.</param>
    sealed record Target(string Uri, string ApiKey, IReadOnlyList<string> Secrets, string Nmsc, string Context, string System);

    sealed record Outcome(Claimed Message, DateTime At, int? StatusCode, int LatencyMs, string? Response, string? Error, bool TimedOut, TimeSpan? RetryAfter)
    {
        public bool Delivered => StatusCode is >= 200 and < 300;
    }

    /// <summary>Delivers what is due now; returns how many messages it tried.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var lease = Guid.NewGuid();
        var claimed = await ClaimAsync(lease, ct);
        if (claimed.Count == 0) return 0;
        var targets = await TargetsAsync([.. claimed.Select(c => c.SourceSystemId).Distinct()], ct);
        var outcomes = new ConcurrentBag<Outcome>();
        var client = clients.CreateClient(ClientName);
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxConcurrency, CancellationToken = ct },
            async (message, token) =>
            {
                // Deleted or disabled since the claim: the message waits, leased, until a destination takes it.
                if (targets.TryGetValue(message.SourceSystemId, out var target)) outcomes.Add(await SendAsync(client, message, target, token));
            });
        await RecordAsync(lease, [.. outcomes], ct);
        foreach (var outcome in outcomes)
        {
            var target = targets[outcome.Message.SourceSystemId];
            meters.Count(target.Nmsc, target.Context, target.System, OutcomeOf(outcome));
        }
        logger.LogDebug("Dispatch pass: {Claimed} claimed, {Delivered} delivered", claimed.Count, outcomes.Count(o => o.Delivered));
        return claimed.Count;
    }

    async Task<List<Claimed>> ClaimAsync(Guid lease, CancellationToken ct)
    {
        var now = time.Now();
        var until = now.AddSeconds(options.Value.LeaseSeconds);
        var size = options.Value.BatchSize;
        if (db.Provider == DatabaseProvider.Postgres)
        {
            // One statement, so one round trip: pick and lease together. A per-row UPDATE after the SELECT cost a
            // statement per message and a transaction around them, about a third of a pass's time.
            var leased = await db.Propagations.FromSqlInterpolated($"""
                WITH due AS MATERIALIZED (
                    SELECT p."Id" FROM propagations p
                    WHERE p."State" IN ('PENDING', 'PARKED') AND p."NextAttemptAt" <= {now}
                      AND (p."LeaseUntil" IS NULL OR p."LeaseUntil" < {now})
                      AND EXISTS (SELECT 1 FROM destinations d WHERE d."SourceSystemId" = p."SourceSystemId" AND d."Enabled")
                      AND NOT EXISTS (SELECT 1 FROM propagations e
                                      WHERE e."SourceSystemId" = p."SourceSystemId" AND e."SourceCustomerId" = p."SourceCustomerId"
                                        AND e."State" IN ('PENDING', 'PARKED') AND e."LedgerIndex" < p."LedgerIndex")
                    ORDER BY p."NextAttemptAt", p."LedgerIndex" LIMIT {size}
                    FOR UPDATE OF p SKIP LOCKED)
                UPDATE propagations u SET "LeaseUntil" = {until}, "LeaseToken" = {lease}
                FROM due WHERE u."Id" = due."Id"
                RETURNING u.*
                """).AsNoTracking().ToListAsync(ct);
            return [.. leased.Select(r => new Claimed(r.Id, r.SourceSystemId, r.Payload, r.TraceParent))];
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var rows = await db.Propagations
            .Where(p => (p.State == PropagationStates.Pending || p.State == PropagationStates.Parked) && p.NextAttemptAt <= now
                && (p.LeaseUntil == null || p.LeaseUntil < now)
                && db.Destinations.Any(d => d.SourceSystemId == p.SourceSystemId && d.Enabled)
                && !db.Propagations.Any(e => e.SourceSystemId == p.SourceSystemId && e.SourceCustomerId == p.SourceCustomerId
                    && (e.State == PropagationStates.Pending || e.State == PropagationStates.Parked) && e.LedgerIndex < p.LedgerIndex))
            .OrderBy(p => p.NextAttemptAt).ThenBy(p => p.LedgerIndex).Take(size)
            .ToListAsync(ct);
        foreach (var row in rows)
        {
            row.LeaseUntil = until;
            row.LeaseToken = lease;
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
        return [.. rows.Select(r => new Claimed(r.Id, r.SourceSystemId, r.Payload, r.TraceParent))];
    }

    async Task<Dictionary<long, Target>> TargetsAsync(List<long> systemIds, CancellationToken ct)
    {
        var now = time.Now();
        var protector = protection.CreateProtector(DestinationSecrets.Purpose);
        var destinations = await db.Destinations.AsNoTracking().Where(d => systemIds.Contains(d.SourceSystemId) && d.Enabled)
            .Join(db.SourceSystems, d => d.SourceSystemId, s => s.Id, (d, s) => new { Destination = d, s.Nmsc, s.Context, s.Name })
            .ToListAsync(ct);
        return destinations.ToDictionary(row => row.Destination.SourceSystemId, row =>
        {
            var d = row.Destination;
            List<string> secrets = [protector.Unprotect(d.ProtectedSigningSecret)];
            // During a rotation's overlap both signatures go out, the new one first.
            if (d.ProtectedPreviousSigningSecret is { } previous && d.PreviousSecretUntil > now) secrets.Add(protector.Unprotect(previous));
            var apiKey = protector.Unprotect(d.ProtectedApiKey);
            // Likewise both API keys, space-separated, the new one first: a receiver accepts the call when one is its own.
            if (d.ProtectedPreviousApiKey is { } previousKey && d.PreviousApiKeyUntil > now) apiKey += " " + protector.Unprotect(previousKey);
            return new Target(d.Uri, apiKey, secrets, row.Nmsc, row.Context, row.Name);
        });
    }

    async Task<Outcome> SendAsync(HttpClient client, Claimed message, Target target, CancellationToken ct)
    {
        var at = time.Now();
        var id = message.Id.ToString();
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Uri)
        {
            Content = new StringContent(message.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Id, id);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Timestamp, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Signature, WebhookSigner.SignatureHeader(target.Secrets, id, timestamp, message.Payload));
        request.Headers.TryAddWithoutValidation(WebhookHeaders.ApiKey, target.ApiKey);
        using var span = StartDeliverySpan(message, target);
        // The receiver may continue the trace: from this delivery's span, or, when no span is recorded, the change's own.
        if ((span?.Id ?? message.TraceParent) is { } traceParent) request.Headers.TryAddWithoutValidation(WebhookHeaders.TraceParent, traceParent);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
        var started = Stopwatch.GetTimestamp();
        Outcome outcome;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var excerpt = await ExcerptAsync(response, timeout.Token);
            outcome = new Outcome(message, at, (int)response.StatusCode, Elapsed(started), excerpt, null, false,
                RetrySchedule.RetryAfter(response.Headers.RetryAfter, time.GetUtcNow()));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            outcome = new Outcome(message, at, null, Elapsed(started), null, $"no answer within {options.Value.TimeoutSeconds} s", true, null);
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is SocketException socket ? $"{e.Message} ({socket.SocketErrorCode})" : e.Message;
            outcome = new Outcome(message, at, null, Elapsed(started), null, reason, false, null);
        }
        if (span is not null)
        {
            span.SetTag("consenthub.outcome", OutcomeOf(outcome));
            if (outcome.StatusCode is { } status) span.SetTag("http.response.status_code", status);
            // Not the error's text: a connection error names the destination's address.
            if (!outcome.Delivered)
                span.SetStatus(ActivityStatusCode.Error, outcome.StatusCode is { } code ? $"HTTP {code}" : outcome.TimedOut ? "no answer in time" : "no connection");
        }
        return outcome;
    }

    /// <summary>
    /// A span for one webhook call, a child of the request that applied the change (kept on the message as its
    /// traceparent), or a trace of its own when there was none. Null when nobody records the hub's spans. The
    /// destination's address is left out: its path or query may carry a tenant's secret.
    /// </summary>
    static Activity? StartDeliverySpan(Claimed message, Target target)
    {
        ActivityContext.TryParse(message.TraceParent, null, out var parent);
        var span = HubTracing.Source.StartActivity("deliver PROPAGATED", ActivityKind.Client, parent);
        span?.SetTag("consenthub.nmsc", target.Nmsc);
        span?.SetTag("consenthub.destination", $"{target.Context}/{target.System}");
        span?.SetTag("consenthub.propagation_id", message.Id.ToString());
        return span;
    }

    static async Task<string?> ExcerptAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var buffer = new byte[2048];
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var read = 0;
        while (read < buffer.Length && await body.ReadAsync(buffer.AsMemory(read), ct) is var n and > 0) read += n;
        if (read == 0) return null;
        var text = Encoding.UTF8.GetString(buffer, 0, read);
        return text.Length <= ResponseExcerptChars ? text : text[..ResponseExcerptChars];
    }

    static int Elapsed(long started) => (int)Math.Min(int.MaxValue, Stopwatch.GetElapsedTime(started).TotalMilliseconds);

    /// <summary>
    /// Logs every attempt and moves each message on: delivered, or due again per the retry schedule, or waiting for
    /// its destination to be enabled again after a 410. A message whose lease another claim took over (or that was
    /// acknowledged meanwhile) keeps the state that claim gives it; the attempt is still logged.
    /// </summary>
    async Task RecordAsync(Guid lease, List<Outcome> outcomes, CancellationToken ct)
    {
        if (outcomes.Count == 0) return;
        outcomes = [.. outcomes.OrderBy(o => o.At)];
        List<long> delivered = [.. outcomes.Where(o => o.Delivered).Select(o => o.Message.SourceSystemId).Distinct()];
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var bulk = db.Provider == DatabaseProvider.Postgres;
        if (bulk)
        {
            // Two statements for the whole batch instead of a read and two statements per message: most of a pass's
            // database time when every call succeeds. Failures, rarer and with more to decide, take the path below.
            await RecordSetBasedAsync(lease, outcomes, ct);
            outcomes = [.. outcomes.Where(o => !o.Delivered)];
        }
        var ids = outcomes.Select(o => o.Message.Id).ToList();
        var rows = ids.Count == 0 ? [] : await db.Propagations.Where(p => ids.Contains(p.Id)).ToDictionaryAsync(p => p.Id, ct);
        var gone = new Dictionary<long, PropagationMessage>();
        foreach (var outcome in outcomes)
        {
            var row = rows.GetValueOrDefault(outcome.Message.Id);
            var number = (row?.Attempts ?? 0) + 1;
            if (!bulk)
            {
                db.DeliveryAttempts.Add(new DeliveryAttempt
                {
                    PropagationId = outcome.Message.Id, SourceSystemId = outcome.Message.SourceSystemId, Number = number, AttemptedAt = outcome.At,
                    StatusCode = outcome.StatusCode, LatencyMs = outcome.LatencyMs, Response = outcome.Response, Error = Truncate(outcome.Error),
                    Outcome = OutcomeOf(outcome),
                });
            }
            if (row is null || row.LeaseToken != lease) continue;
            row.LeaseToken = null;
            row.LeaseUntil = null;
            row.Attempts = number;
            row.LastAttemptAt = outcome.At;
            row.LastStatusCode = outcome.StatusCode;
            row.LastError = Truncate(outcome.Error ?? (outcome.Delivered ? null : $"HTTP {outcome.StatusCode}"));
            if (outcome.Delivered)
            {
                row.State = PropagationStates.Delivered;
                row.DeliveredAt = outcome.At;
            }
            else if (outcome.StatusCode == 410)
            {
                // The receiver says the endpoint is gone for good: stop calling it; the message waits for re-enabling.
                gone.TryAdd(row.SourceSystemId, row);
                row.NextAttemptAt = outcome.At;
            }
            else
            {
                var delay = RetrySchedule.Delay(number, outcome.StatusCode, outcome.RetryAfter, outcome.TimedOut, Random.Shared.NextDouble);
                row.NextAttemptAt = outcome.At + delay;
                if (RetrySchedule.Next(number, Random.Shared.NextDouble) is null) row.State = PropagationStates.Parked;
                logger.LogInformation("Propagation {PropagationId} attempt {Attempt} failed ({Status}); next at {NextAttemptAt}",
                    row.Id, number, outcome.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? outcome.Error, row.NextAttemptAt);
            }
        }
        if (gone.Count > 0) await DisableAsync(gone, ct);
        await db.SaveChangesAsync(ct);
        await ReleaseBacklogAsync(delivered, ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
    }

    /// <summary>
    /// A destination that answered 2xx is back: its messages that failed earlier and wait for a later retry (parked
    /// ones for up to a day) are due now, and follow in order (seed FAQ 11: "as soon as possible"). A message tried in
    /// the last <see cref="RetrySchedule.ReleasedAgainAfter"/> is left to its schedule, so one that fails by itself is
    /// not retried at every delivery of the others.
    /// </summary>
    async Task ReleaseBacklogAsync(List<long> systemIds, CancellationToken ct)
    {
        if (systemIds.Count == 0) return;
        var now = time.Now();
        var triedBefore = now - RetrySchedule.ReleasedAgainAfter;
        var released = await db.Propagations
            .Where(p => systemIds.Contains(p.SourceSystemId) && (p.State == PropagationStates.Parked || p.State == PropagationStates.Pending)
                && p.Attempts > 0 && p.NextAttemptAt > now && p.LastAttemptAt <= triedBefore)
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.NextAttemptAt, now), ct);
        if (released > 0)
            logger.LogInformation("A destination answered 2xx again: {Released} waiting messages of its source systems {SystemIds} are due now",
                released, systemIds);
    }

    static string OutcomeOf(Outcome outcome) =>
        outcome.Delivered ? AttemptOutcomes.Delivered : outcome.StatusCode == 410 ? AttemptOutcomes.Gone : AttemptOutcomes.Failed;

    /// <summary>
    /// PostgreSQL: logs every attempt of the batch (numbered from the row's attempts so far, in the order they were
    /// made) and moves the delivered messages whose lease this pass still holds to DELIVERED, as the loop of
    /// <see cref="RecordAsync"/> would, in one statement each.
    /// </summary>
    async Task RecordSetBasedAsync(Guid lease, List<Outcome> outcomes, CancellationToken ct)
    {
        var ids = outcomes.Select(o => o.Message.Id).ToArray();
        var systems = outcomes.Select(o => o.Message.SourceSystemId).ToArray();
        var ats = outcomes.Select(o => o.At).ToArray();
        var codes = outcomes.Select(o => o.StatusCode).ToArray();
        var latencies = outcomes.Select(o => o.LatencyMs).ToArray();
        var responses = outcomes.Select(o => o.Response).ToArray();
        var errors = outcomes.Select(o => Truncate(o.Error)).ToArray();
        var kinds = outcomes.Select(OutcomeOf).ToArray();
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO delivery_attempts ("PropagationId", "SourceSystemId", "Number", "AttemptedAt", "StatusCode", "LatencyMs", "Response", "Error", "Outcome")
            SELECT x.id, x.system, COALESCE(p."Attempts", 0) + 1, x.at, x.code, x.latency, x.response, x.error, x.outcome
            FROM unnest({ids}, {systems}, {ats}, {codes}, {latencies}, {responses}, {errors}, {kinds})
                 WITH ORDINALITY AS x(id, system, at, code, latency, response, error, outcome, n)
            LEFT JOIN propagations p ON p."Id" = x.id
            ORDER BY x.n
            """, ct);
        var delivered = outcomes.Where(o => o.Delivered).ToList();
        if (delivered.Count == 0) return;
        var deliveredIds = delivered.Select(o => o.Message.Id).ToArray();
        var deliveredAts = delivered.Select(o => o.At).ToArray();
        var deliveredCodes = delivered.Select(o => o.StatusCode!.Value).ToArray();
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE propagations p
            SET "State" = {PropagationStates.Delivered}, "DeliveredAt" = x.at, "LastAttemptAt" = x.at, "LastStatusCode" = x.code,
                "LastError" = NULL, "Attempts" = p."Attempts" + 1, "LeaseToken" = NULL, "LeaseUntil" = NULL
            FROM unnest({deliveredIds}, {deliveredAts}, {deliveredCodes}) AS x(id, at, code)
            WHERE p."Id" = x.id AND p."LeaseToken" = {lease}
            """, ct);
    }

    async Task DisableAsync(Dictionary<long, PropagationMessage> gone, CancellationToken ct)
    {
        var systemIds = gone.Keys.ToList();
        var destinations = await db.Destinations.Where(d => systemIds.Contains(d.SourceSystemId) && d.Enabled).ToListAsync(ct);
        if (destinations.Count == 0) return;
        await ledger.LockHeadAsync(ct);
        foreach (var destination in destinations)
        {
            var message = gone[destination.SourceSystemId];
            destination.Enabled = false;
            destination.DisabledReason = $"The destination answered 410 Gone at {HubTime.Format(message.LastAttemptAt)}; enable it again to resume delivery.";
            destination.UpdatedAt = time.Now();
            ledger.Append(LedgerEvents.DestinationDisabled, new
            {
                nmsc = message.Nmsc, context = message.Context, sourceSystem = message.SourceSystem, statusCode = 410, propagationId = message.Id,
            });
            logger.LogWarning("Destination of {Nmsc}/{Context}/{SourceSystem} answered 410 Gone and is disabled",
                message.Nmsc, message.Context, message.SourceSystem);
        }
    }

    static string? Truncate(string? text) => text is null || text.Length <= 1000 ? text : text[..1000];

    /// <summary>
    /// Connects only to addresses a destination may have: a host name is resolved again at every connection, so a
    /// name that pointed somewhere harmless at registration cannot later lead the hub to metadata or link-local
    /// services (DNS rebinding).
    /// </summary>
    /// <summary>
    /// The handler of every call the hub makes to an address a tenant configured (webhooks, pollers): no redirects, cookies
    /// or proxy, and each connection's addresses checked by <see cref="ConnectAsync"/>.
    /// </summary>
    public static SocketsHttpHandler GuardedHandler(PropagationOptions settings)
    {
        var allowLoopback = settings.AllowInsecureLoopback;
        var allowedNetworks = settings.PrivateNetworksAllowed();
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, allowLoopback, allowedNetworks, ct),
        };
    }

    public static async ValueTask<Stream> ConnectAsync(
        DnsEndPoint endpoint, bool allowInsecureLoopback, IReadOnlyList<IPNetwork> allowedPrivateNetworks, CancellationToken ct)
    {
        var host = endpoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        foreach (var address in addresses)
        {
            if (DestinationUris.AddressRefusal(address, allowInsecureLoopback, allowedPrivateNetworks) is { } refusal)
                throw new HttpRequestException($"refused to connect: {host} resolves to {address}, which {refusal}");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endpoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>The Standard Webhooks headers, and the api-key header of seed 004 FAQ 1.</summary>
public static class WebhookHeaders
{
    public const string Id = "webhook-id";
    public const string Timestamp = "webhook-timestamp";
    public const string Signature = "webhook-signature";
    public const string ApiKey = "api-key";
    /// <summary>W3C Trace Context: the receiver may continue the trace of the change it is told about.</summary>
    public const string TraceParent = "traceparent";
}

/// <summary>The Data Protection purpose that keeps destinations' API keys and signing secrets.</summary>
public static class DestinationSecrets
{
    public const string Purpose = "ConsentHub.Destinations.v1";
}

/// <summary>Runs delivery passes: at once when this instance committed messages, otherwise at each poll.</summary>
sealed class PropagationWorker(
    IServiceScopeFactory scopes, PropagationSignal signal, IOptions<PropagationOptions> options, ILogger<PropagationWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.DispatcherEnabled) return;
        var poll = TimeSpan.FromMilliseconds(options.Value.PollMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var done = 0;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                done = await scope.ServiceProvider.GetRequiredService<PropagationDispatcher>().DeliverDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be briefly unreachable; leases run out and the next pass tries again.
                logger.LogError(e, "Propagation dispatcher pass failed");
                done = 0;
            }
            if (done > 0) continue;
            try
            {
                await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
