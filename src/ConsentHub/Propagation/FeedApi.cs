using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Propagation;

public sealed record FeedItemView(
    Guid PropagationId, string Status, string SourceCustomerId, long LedgerIndex, string CreatedAt, string? ProcessedAt,
    JsonElement Payload, [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record FeedPage(
    int Count, IReadOnlyList<FeedItemView> Propagations, [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// The pull feed (seed 004 §5: systems that cannot expose a webhook poll instead): the PROPAGATED messages addressed to
/// one source system, in ledger order, from the same outbox the webhooks are sent from. A system acknowledges what it
/// applied with the usual PROCESSED command; by default the feed then no longer lists it.
/// </summary>
public static class FeedApi
{
    const int DefaultPageSize = 100;
    public const int MaxPageSize = 500;
    public const int MaxWaitSeconds = 30;

    public static IEndpointRouteBuilder MapPropagationFeed(this IEndpointRouteBuilder app)
    {
        app.MapGet("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/propagations", ReadAsync)
            .WithTags("Propagation").RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetPropagationFeed")
            .WithSummary("The PROPAGATED messages addressed to a source system, in order, after a cursor; long polling with wait=.")
            .WithDescription("after= is the propagationId of the last message read (absent: from the start). Messages acknowledged with "
                + "PROCESSED are left out unless processed=true. With wait=1..30, an empty page is answered as soon as a message "
                + "arrives, or after that many seconds. The next link always continues after this page.")
            .Produces<FeedPage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    sealed record Cursor(Guid Id, long LedgerIndex, int Position);

    static async Task<IResult> ReadAsync(
        string context, string nmsc, string sourceSystem, string? after, string? limit, string? wait, string? processed,
        ClaimsPrincipal user, ConsentDb db, PropagationSignal signal, IOptions<PropagationOptions> options, CancellationToken ct)
    {
        var (system, refusal) = await DestinationApi.AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct,
            "Only the source system itself or the admin reads its propagation feed.");
        if (system is null) return refusal!;

        var violations = new List<Violation>();
        var size = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPageSize))
            violations.Add(new("limit", "range", $"limit must be an integer from 1 to {MaxPageSize}."));
        var seconds = 0;
        if (wait is not null && (!int.TryParse(wait, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds > MaxWaitSeconds))
            violations.Add(new("wait", "range", $"wait must be a whole number of seconds from 0 to {MaxWaitSeconds}."));
        if (processed is not (null or "true" or "false"))
            violations.Add(new("processed", "boolean", "processed must be true or false."));
        Guid? afterId = null;
        if (after is not null)
        {
            if (Guid.TryParse(after, out var id)) afterId = id;
            else violations.Add(new("after", "propagation-id", "after must be the propagationId (a UUID) of the last message read."));
        }
        if (violations.Count > 0) return Problems.Invalid(violations);

        Cursor? cursor = null;
        if (afterId is { } cursorId)
        {
            cursor = await db.Propagations.AsNoTracking().Where(p => p.Id == cursorId && p.SourceSystemId == system.Id)
                .Select(p => new Cursor(p.Id, p.LedgerIndex, p.Position)).SingleOrDefaultAsync(ct);
            if (cursor is null)
                return Problems.Invalid("after", "unknown-cursor", "after names no message of this source system's feed.");
        }

        var includeProcessed = processed == "true";
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        var poll = TimeSpan.FromMilliseconds(options.Value.PollMilliseconds);
        List<PropagationMessage> page;
        while (true)
        {
            // Taken before the read, so a commit of this instance during it ends the wait at once.
            var committed = signal.NextCommit;
            page = await PageAsync(db, system.Id, cursor, includeProcessed, size, ct);
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (page.Count > 0 || left <= TimeSpan.Zero) break;
            // Other instances' commits are seen by polling.
            await Task.WhenAny(committed, Task.Delay(left < poll ? left : poll, ct));
            ct.ThrowIfCancellationRequested();
        }

        var path = Hosting.Paths.SourceSystemOf(system.Context, system.Nmsc, system.Name) + "/propagations";
        string Query(Guid? from)
        {
            var parts = new List<string>();
            if (from is { } f) parts.Add($"after={f}");
            if (limit is not null) parts.Add($"limit={size}");
            if (wait is not null) parts.Add($"wait={seconds}");
            if (processed is not null) parts.Add($"processed={processed}");
            return parts.Count == 0 ? path : path + "?" + string.Join('&', parts);
        }
        var items = page.Select(View).ToList();
        var links = new Dictionary<string, HalLink>
        {
            ["self"] = new(Query(afterId)),
            // Always there: following it later (or with wait=) is how a system keeps reading.
            ["next"] = new(Query(page.Count > 0 ? page[^1].Id : afterId)),
        };
        return Hal.Ok(new FeedPage(items.Count, items, links));
    }

    static Task<List<PropagationMessage>> PageAsync(ConsentDb db, long systemId, Cursor? cursor, bool includeProcessed, int size, CancellationToken ct)
    {
        var query = db.Propagations.AsNoTracking().Where(p => p.SourceSystemId == systemId);
        if (!includeProcessed) query = query.Where(p => p.State != PropagationStates.Processed);
        if (cursor is not null)
            query = query.Where(p => p.LedgerIndex > cursor.LedgerIndex || (p.LedgerIndex == cursor.LedgerIndex && p.Position > cursor.Position));
        return query.OrderBy(p => p.LedgerIndex).ThenBy(p => p.Position).Take(size).ToListAsync(ct);
    }

    static FeedItemView View(PropagationMessage m)
    {
        using var payload = JsonDocument.Parse(m.Payload);
        return new FeedItemView(m.Id, m.State, m.SourceCustomerId, m.LedgerIndex, HubTime.Format(m.CreatedAt), HubTime.Format(m.ProcessedAt),
            payload.RootElement.Clone(), new Dictionary<string, HalLink> { ["self"] = new(PropagationApi.PathOf(m.Id)) });
    }
}
