using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Outbound;

/// <summary>What one turn of publishing a subscription came to.</summary>
public enum CdcTurn
{
    /// <summary>Another instance holds it, or it was replayed or deleted meanwhile.</summary>
    Skipped,
    /// <summary>Caught up with the change log.</summary>
    Idle,
    /// <summary>Published its pages for this turn; more rows wait.</summary>
    More,
    /// <summary>The broker failed or refused; the cursor stopped before the first unconfirmed event.</summary>
    Failed,
}

/// <summary>
/// Publishes one subscription under a lease: reads the organisation's change log after the cursor a page at a time,
/// publishes the page's events for the subscription with confirms, and moves the cursor past the confirmed part in one
/// UPDATE that holds only while the lease and the cursor are still as read (a replay meanwhile wins).
/// </summary>
public sealed class CdcPublisher(
    ConsentDb db, PersonalDataVault vault, CdcPublisherChannel channel, BrokerConnection broker, IOptions<BrokerOptions> options,
    IOptions<PublicAddressOptions> addresses, TimeProvider time, ILogger<CdcPublisher> logger)
{
    public const int MaxErrorLength = 2000;

    /// <summary>The rows after a cursor, in the order they are published.</summary>
    public static IQueryable<ChangeLogEntry> After(IQueryable<ChangeLogEntry> rows, long index, int position) =>
        rows.Where(e => e.LedgerIndex > index || (e.LedgerIndex == index && e.Position > position));

    public async Task<CdcTurn> PublishAsync(Guid subscriptionId, string owner, int maxPages, CancellationToken ct)
    {
        var settings = options.Value;
        var now = time.Now();
        var claimed = await db.CdcSubscriptions
            .Where(s => s.Id == subscriptionId && (s.LeaseOwner == null || s.LeaseUntil < now || s.LeaseOwner == owner))
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.LeaseOwner, owner).SetProperty(x => x.LeaseUntil, now.AddSeconds(settings.LeaseSeconds)), ct);
        if (claimed == 0) return CdcTurn.Skipped;
        var subscription = await db.CdcSubscriptions.AsNoTracking().SingleOrDefaultAsync(s => s.Id == subscriptionId, ct);
        if (subscription is null) return CdcTurn.Skipped;

        var events = new CdcEvents(subscription, addresses.Value.PublicBaseUrl);
        var (index, position) = (subscription.CursorIndex, subscription.CursorPosition);
        for (var page = 0; page < maxPages; page++)
        {
            var rows = await After(db.ChangeLog.AsNoTracking().Where(e => e.Nmsc == subscription.Nmsc), index, position)
                .OrderBy(e => e.LedgerIndex).ThenBy(e => e.Position).Take(settings.PageSize).ToListAsync(ct);
            if (rows.Count == 0)
            {
                await ReleaseAsync(subscriptionId, owner, ct);
                return CdcTurn.Idle;
            }
            var contacts = subscription.IncludePersonalData
                ? await vault.ContactsAsync([.. rows.Where(CdcEvents.CarriesPersonalData).Select(r => r.CustomerId!.Value).Distinct()], ct)
                : [];
            var messages = new List<CdcMessage>();
            foreach (var row in rows)
            {
                var contact = row.CustomerId is { } customer && contacts.TryGetValue(customer, out var found) ? found : null;
                if (events.For(row, contact) is { } message) messages.Add(message);
            }
            var result = messages.Count == 0
                ? new CdcPublishResult(0, null)
                : await channel.PublishAsync(subscription.Exchange, messages, TimeSpan.FromSeconds(settings.ConfirmTimeoutSeconds), ct);

            // Past every row up to the first unconfirmed event: the retry resends from that event, in order.
            var (toIndex, toPosition) = (rows[^1].LedgerIndex, rows[^1].Position);
            if (result.Error is not null)
            {
                if (result.Confirmed == 0) (toIndex, toPosition) = (index, position);
                else
                {
                    var stop = messages[result.Confirmed];
                    var last = rows.FindIndex(r => r.LedgerIndex == stop.LedgerIndex && r.Position == stop.Position) - 1;
                    (toIndex, toPosition) = (rows[last].LedgerIndex, rows[last].Position);
                }
            }
            var published = result.Confirmed;
            var at = time.Now();
            var error = result.Error is null ? null : Truncate(broker.Redact(result.Error));
            var (fromIndex, fromPosition) = (index, position);
            var moved = await db.CdcSubscriptions
                .Where(s => s.Id == subscriptionId && s.LeaseOwner == owner && s.CursorIndex == fromIndex && s.CursorPosition == fromPosition)
                .ExecuteUpdateAsync(s =>
                {
                    s.SetProperty(x => x.CursorIndex, toIndex).SetProperty(x => x.CursorPosition, toPosition)
                        .SetProperty(x => x.PublishedCount, x => x.PublishedCount + published)
                        .SetProperty(x => x.LeaseUntil, at.AddSeconds(settings.LeaseSeconds));
                    if (published > 0) s.SetProperty(x => x.LastPublishedAt, at);
                    if (error is not null) s.SetProperty(x => x.LastError, error).SetProperty(x => x.LastErrorAt, at);
                }, ct);
            if (moved == 0)
            {
                // A replay moved the cursor, or another instance took the lease over, meanwhile: what the broker confirmed still counts as published.
                if (published > 0)
                    await db.CdcSubscriptions.Where(s => s.Id == subscriptionId)
                        .ExecuteUpdateAsync(s => s.SetProperty(x => x.PublishedCount, x => x.PublishedCount + published).SetProperty(x => x.LastPublishedAt, at), ct);
                return CdcTurn.Skipped;
            }
            if (error is not null)
            {
                if (error != subscription.LastError)
                    logger.LogWarning("CDC subscription {Nmsc}/{Subscription}: {Error}; it retries from event {Index}.{Position} on", subscription.Nmsc,
                        subscription.Name, error, toIndex, toPosition + 1);
                await ReleaseAsync(subscriptionId, owner, ct);
                return CdcTurn.Failed;
            }
            (index, position) = (toIndex, toPosition);
            if (rows.Count < settings.PageSize)
            {
                await ReleaseAsync(subscriptionId, owner, ct);
                return CdcTurn.Idle;
            }
        }
        return CdcTurn.More;
    }

    /// <summary>Lets any instance take the subscription on its next turn: whichever hears of the next change first.</summary>
    Task ReleaseAsync(Guid subscriptionId, string owner, CancellationToken ct) =>
        db.CdcSubscriptions.Where(s => s.Id == subscriptionId && s.LeaseOwner == owner)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.LeaseOwner, (string?)null).SetProperty(x => x.LeaseUntil, (DateTime?)null), ct);

    static string Truncate(string text) => text.Length <= MaxErrorLength ? text : text[..(MaxErrorLength - 1)] + "…";
}

/// <summary>
/// On every instance (unless ConsentHub:Broker:PublisherEnabled is false) with a broker configured: publishes each
/// subscription it can claim, waking at once after a commit on this instance and polling for the others' commits.
/// A subscription whose publishing failed waits a backoff (1 s, doubling, at most MaxBackoffSeconds) on this instance.
/// </summary>
public sealed class CdcWorker(
    IServiceScopeFactory scopes, BrokerConnection broker, CdcSignal signal, Propagation.PropagationSignal commits, IOptions<BrokerOptions> options,
    TimeProvider time, ILogger<CdcWorker> logger) : BackgroundService
{
    const int PagesPerTurn = 20;
    readonly string owner = $"{Environment.MachineName}/{Guid.NewGuid():N}";
    readonly Dictionary<Guid, (int Failures, DateTime RetryAt)> backoff = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.PublisherEnabled || !broker.Configured) return;
        var poll = TimeSpan.FromMilliseconds(options.Value.PollMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before the round reads: a commit during the round wakes the next one.
            var woken = Task.WhenAny(signal.Next, commits.NextCommit);
            var more = false;
            try
            {
                more = await RoundAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The database may be briefly unreachable; the next round looks again.
                logger.LogWarning("A CDC publisher round failed: {Error}", broker.Redact(e.Message));
            }
            if (more) continue;
            try
            {
                await Task.WhenAny(woken, Task.Delay(poll, time, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await ReleaseAllAsync();
    }

    async Task<bool> RoundAsync(CancellationToken ct)
    {
        List<Guid> subscriptions;
        var now = time.Now();
        await using (var scope = scopes.CreateAsyncScope())
        {
            subscriptions = await scope.ServiceProvider.GetRequiredService<ConsentDb>().CdcSubscriptions.AsNoTracking()
                .Where(s => s.LeaseOwner == null || s.LeaseUntil < now || s.LeaseOwner == owner)
                .OrderBy(s => s.Id).Select(s => s.Id).ToListAsync(ct);
        }
        var more = false;
        foreach (var id in subscriptions)
        {
            if (backoff.TryGetValue(id, out var waiting) && waiting.RetryAt > now) continue;
            await using var scope = scopes.CreateAsyncScope();
            var turn = await scope.ServiceProvider.GetRequiredService<CdcPublisher>().PublishAsync(id, owner, PagesPerTurn, ct);
            if (turn == CdcTurn.Failed)
            {
                var failures = waiting.Failures + 1;
                var wait = TimeSpan.FromSeconds(Math.Min(options.Value.MaxBackoffSeconds, 1 << Math.Min(failures - 1, 20)));
                backoff[id] = (failures, time.Now() + wait);
            }
            else if (turn != CdcTurn.Skipped)
            {
                backoff.Remove(id);
                more |= turn == CdcTurn.More;
            }
        }
        foreach (var gone in backoff.Keys.Except(subscriptions).ToList()) backoff.Remove(gone);
        return more;
    }

    async Task ReleaseAllAsync()
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<ConsentDb>().CdcSubscriptions.Where(s => s.LeaseOwner == owner)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.LeaseOwner, (string?)null).SetProperty(x => x.LeaseUntil, (DateTime?)null));
        }
        catch (Exception e)
        {
            logger.LogInformation("Releasing CDC leases at shutdown failed ({Error}); they run out by themselves", broker.Redact(e.Message));
        }
    }
}
