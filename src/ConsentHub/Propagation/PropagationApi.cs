using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Propagation;

public sealed record AttemptView(
    long Id, Guid PropagationId, string SourceCustomerId, int Number, string AttemptedAt, int? StatusCode, int LatencyMs, string Outcome,
    string? Response, string? Error);

public sealed record PropagationView(
    Guid Id, string Status, string Context, string Nmsc, string SourceSystem, string SourceCustomerId, string Cause,
    Guid? ChangeRequestId, long LedgerIndex, string CreatedAt, int Attempts, string? NextAttemptAt, string? LastAttemptAt,
    int? LastStatusCode, string? LastError, string? DeliveredAt, string? ProcessedAt, long? ProcessedLedgerIndex,
    JsonElement Payload, IReadOnlyList<AttemptView> AttemptLog,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record DeliveryLogPage(
    int Count, IReadOnlyList<AttemptView> Deliveries,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record RecoverView(int Recovered, string Since, [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>What happened to each PROPAGATED message, and the operator's levers: redeliver, recover, enable.</summary>
public static class PropagationApi
{
    const int MaxAttemptsShown = 200;
    const int DefaultPageSize = 100;
    const int MaxPageSize = 1000;

    public static IEndpointRouteBuilder MapPropagations(this IEndpointRouteBuilder app)
    {
        var propagations = app.MapGroup("/propagations").WithTags("Propagation").RequireAuthorization();
        propagations.MapGet("/{id}", GetAsync).RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetPropagation").WithSummary("One PROPAGATED message: its status (PENDING, PARKED, DELIVERED, FEED, PROCESSED), payload and attempts.")
            .Produces<PropagationView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        propagations.MapPost("/{id}/redeliver", RedeliverAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("RedeliverPropagation").WithSummary("Send one message again now, whatever its status; the webhook-id stays the same. 409 without a destination.")
            .Produces<PropagationView>(StatusCodes.Status202Accepted, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

        var destination = app.MapGroup("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination")
            .WithTags("Propagation").RequireAuthorization();
        destination.MapGet("/deliveries", DeliveriesAsync).RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetDeliveryLog").WithSummary("Every call made to the destination, oldest first: time, status code, latency, response excerpt, error.")
            .Produces<DeliveryLogPage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapPost("/recover", RecoverAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("RecoverDeliveries").WithSummary("Try again now every undelivered message whose last attempt failed at or after ?since=.")
            .Produces<RecoverView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapPost("/enable", EnableAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("EnableDestination").WithSummary("Resume delivery to a disabled destination (after a 410); its backlog follows in order.")
            .Produces<DestinationView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapPost("/disable", DisableAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("DisableDestination").WithSummary("Stop delivering to the destination: its messages keep queueing, and POST …/enable sends them in order. Idempotent.")
            .Produces<DestinationView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPropagationFeed();
        return app;
    }

    public static string PathOf(Guid id) => $"/propagations/{id}";

    static async Task<IResult> GetAsync(string id, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        var (message, refusal) = await FindAsync(id, user, db, mustManage: false, ct);
        if (message is null) return refusal!;
        return Hal.Ok(await ViewAsync(db, message, ct));
    }

    static async Task<IResult> RedeliverAsync(
        string id, ClaimsPrincipal user, ConsentDb db, TimeProvider time, PropagationSignal signal, CancellationToken ct)
    {
        var (found, refusal) = await FindAsync(id, user, db, mustManage: true, ct);
        if (found is null) return refusal!;
        if (!await db.Destinations.AnyAsync(d => d.SourceSystemId == found.SourceSystemId, ct))
            return Problems.Conflict("This source system has no destination to deliver to; the message waits in its pull feed.");
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var message = await LockAsync(db, found.Id, ct);
        var now = time.Now();
        if (message.LeaseUntil > now)
            return Problems.Conflict("This message is being delivered right now; look at its attempts in a moment.");
        message.State = PropagationStates.Pending;
        message.NextAttemptAt = now;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        signal.Notify();
        var view = await ViewAsync(db, message, ct);
        return Hal.Raw(StatusCodes.Status202Accepted, Hal.Serialize(view), PathOf(message.Id));
    }

    static async Task<IResult> DeliveriesAsync(
        string context, string nmsc, string sourceSystem, string? after, string? limit, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        var (system, refusal) = await DestinationApi.AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        var (afterId, size, pageError) = Paging.Read(after, limit, DefaultPageSize, MaxPageSize);
        if (pageError is not null) return pageError;
        var page = await (
                from a in db.DeliveryAttempts.AsNoTracking()
                where a.SourceSystemId == system.Id && a.Id > afterId
                join p in db.Propagations.AsNoTracking() on a.PropagationId equals p.Id
                orderby a.Id
                select new { Attempt = a, p.SourceCustomerId })
            .Take(size + 1).ToListAsync(ct);
        var views = page.Take(size).Select(x => View(x.Attempt, x.SourceCustomerId)).ToList();
        var path = DestinationApi.PathOf(system) + "/deliveries";
        var links = new Dictionary<string, HalLink>
        {
            ["self"] = Paging.Link(path, afterId, size),
            ["destination"] = new(DestinationApi.PathOf(system)),
        };
        if (page.Count > size) links["next"] = new($"{path}?after={views[^1].Id}&limit={size}");
        return Hal.Ok(new DeliveryLogPage(views.Count, views, links));
    }

    /// <summary>POST …/destination/recover; the console's recover button calls it too, with the operator's session.</summary>
    internal static async Task<IResult> RecoverAsync(
        string context, string nmsc, string sourceSystem, string? since, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        PropagationSignal signal, CancellationToken ct)
    {
        var (system, refusal) = await DestinationApi.AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        if (since is null) return Problems.Invalid("since", "required", "since is required: the instant from which failed messages are tried again.");
        since = since.Replace(' ', '+');
        if (!Timestamps.TryParse(since, out var from)) return Problems.Invalid("since", "timestamp-format", $"since must be {Timestamps.Rule}.");
        var now = time.Now();
        await using var transaction = await ledger.BeginAsync(ct);
        // Rows being delivered right now are left to their attempt.
        var recovered = await db.Propagations
            .Where(p => p.SourceSystemId == system.Id && (p.State == PropagationStates.Pending || p.State == PropagationStates.Parked)
                && p.LastAttemptAt >= from && (p.LeaseUntil == null || p.LeaseUntil < now))
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.NextAttemptAt, now).SetProperty(p => p.State, PropagationStates.Pending), ct);
        ledger.Append(LedgerEvents.DeliveriesRecovered, new
        {
            nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name, since = HubTime.Format(from), recovered,
            by = Caller.From(user).Subject,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        signal.Notify();
        return Hal.Ok(new RecoverView(recovered, HubTime.Format(from),
            new Dictionary<string, HalLink> { ["deliveries"] = new(DestinationApi.PathOf(system) + "/deliveries") }));
    }

    /// <summary>POST …/destination/enable; the console's enable button calls it too, with the operator's session.</summary>
    internal static async Task<IResult> EnableAsync(
        string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        PropagationSignal signal, CancellationToken ct)
    {
        var (system, refusal) = await DestinationApi.AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        await using var transaction = await ledger.BeginAsync(ct);
        var destination = await db.Destinations.SingleOrDefaultAsync(d => d.SourceSystemId == system.Id, ct);
        if (destination is null) return Problems.NotFound("This source system has no destination.");
        if (!destination.Enabled) await ResumeAsync(db, ledger, system, destination, time.Now(), Caller.From(user).Subject, ct);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        signal.Notify();
        return Hal.Ok(DestinationApi.View(system, destination, null, null));
    }

    /// <summary>
    /// Stops delivery to a destination on an operator's word (a receiver under maintenance, a leaked address): its
    /// messages keep queueing as after a 410, and <see cref="EnableAsync"/> resumes them in order.
    /// </summary>
    internal static async Task<IResult> DisableAsync(
        string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        CancellationToken ct)
    {
        var (system, refusal) = await DestinationApi.AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        await using var transaction = await ledger.BeginAsync(ct);
        var destination = await db.Destinations.SingleOrDefaultAsync(d => d.SourceSystemId == system.Id, ct);
        if (destination is null) return Problems.NotFound("This source system has no destination.");
        if (destination.Enabled)
        {
            var by = Caller.From(user).Subject;
            var now = time.Now();
            destination.Enabled = false;
            destination.DisabledReason = $"Disabled by {by} at {HubTime.Format(now)}; enable it again to resume delivery.";
            destination.UpdatedAt = now;
            ledger.Append(LedgerEvents.DestinationDisabled, new { nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name, by });
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return Hal.Ok(DestinationApi.View(system, destination, null, null));
    }

    /// <summary>Enables a disabled destination and makes its whole backlog due now; needs the ledger lock.</summary>
    /// <param name="by">Who enabled it (the token's or the console session's subject), for the ledger.</param>
    public static async Task ResumeAsync(
        ConsentDb db, LedgerWriter ledger, SourceSystem system, Destination destination, DateTime now, string by, CancellationToken ct)
    {
        destination.Enabled = true;
        destination.DisabledReason = null;
        destination.UpdatedAt = now;
        await db.Propagations
            .Where(p => p.SourceSystemId == system.Id && (p.State == PropagationStates.Pending || p.State == PropagationStates.Parked))
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.NextAttemptAt, now), ct);
        ledger.Append(LedgerEvents.DestinationEnabled, new { nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name, by });
    }

    /// <summary>
    /// A source system's PROCESSED command (seed 004 §8.2): it has applied the message. Acknowledging twice is harmless;
    /// acknowledging a message the hub still thought undelivered ends its delivery.
    /// </summary>
    public static async Task<IResult> AcknowledgeAsync(
        ConsentDb db, LedgerWriter ledger, TimeProvider time, SourceSystem system, string sourceCustomerId, SubscriptionData data, CancellationToken ct)
    {
        if (data.PropagationId is null)
            return Problems.Invalid("propagationId", "required", "A PROCESSED command names the propagationId of the message it acknowledges.");
        if (!Guid.TryParse(data.PropagationId, out var id))
            return Problems.Invalid("propagationId", "uuid", "propagationId must be the UUID the hub sent in the PROPAGATED message.");
        if (data.CommandTimestamp is { } stamp && !Timestamps.TryParse(stamp, out _))
            return Problems.Invalid("commandTimestamp", "timestamp-format", $"commandTimestamp must be {Timestamps.Rule}.");
        return await ConflictRetry.RunAsync(db, async () =>
        {
            await using var transaction = await ledger.BeginUnlockedAsync(ct);
            var found = await db.Propagations.AsNoTracking()
                .AnyAsync(p => p.Id == id && p.SourceSystemId == system.Id && p.SourceCustomerId == sourceCustomerId, ct);
            if (!found)
                return Problems.Invalid("propagationId", "unknown-propagation",
                    "No message with this propagationId was sent to this customer of this source system.");
            var message = await LockAsync(db, id, ct);
            if (message.State != PropagationStates.Processed)
            {
                var now = time.Now();
                message.State = PropagationStates.Processed;
                message.ProcessedAt = now;
                message.DeliveredAt ??= now;
                message.LeaseToken = null;
                message.LeaseUntil = null;
                await ledger.LockHeadAsync(ct);
                message.ProcessedLedgerIndex = ledger.Append(LedgerEvents.PropagationProcessed, new
                {
                    propagationId = message.Id, nmsc = message.Nmsc, context = message.Context, sourceSystem = message.SourceSystem,
                    sourceCustomerId = message.SourceCustomerId, ledgerIndex = message.LedgerIndex,
                }).Index;
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
            }
            var view = await ViewAsync(db, message, ct);
            return Hal.Raw(StatusCodes.Status200OK, Hal.Serialize(view), PathOf(message.Id));
        });
    }

    /// <summary>Readers of the organisation and context see a message; only its own system or the admin manage it.</summary>
    static async Task<(PropagationMessage?, IResult?)> FindAsync(string id, ClaimsPrincipal user, ConsentDb db, bool mustManage, CancellationToken ct)
    {
        var notFound = Problems.NotFound("No such propagation.");
        if (!Guid.TryParse(id, out var propagationId)) return (null, notFound);
        var message = await db.Propagations.AsNoTracking().SingleOrDefaultAsync(p => p.Id == propagationId, ct);
        var caller = Caller.From(user);
        if (message is null || !caller.MayRead(message.Nmsc, message.Context)) return (null, notFound);
        if (mustManage && !caller.IsAdmin && !caller.IsSourceSystem(message.Nmsc, message.Context, message.SourceSystem))
            return (null, Problems.Forbidden("Only the receiving source system itself or the admin redelivers its messages."));
        return (message, null);
    }

    static Task<PropagationMessage> LockAsync(ConsentDb db, Guid id, CancellationToken ct) =>
        db.Propagations.Where(p => p.Id == id).ForUpdate(db).SingleAsync(ct);

    static async Task<PropagationView> ViewAsync(ConsentDb db, PropagationMessage m, CancellationToken ct)
    {
        var attempts = await db.DeliveryAttempts.AsNoTracking().Where(a => a.PropagationId == m.Id)
            .OrderByDescending(a => a.Id).Take(MaxAttemptsShown).ToListAsync(ct);
        var links = new Dictionary<string, HalLink>
        {
            ["self"] = new(PathOf(m.Id)),
            ["redeliver"] = new(PathOf(m.Id) + "/redeliver"),
            ["destination"] = new(Paths.SourceSystemOf(m.Context, m.Nmsc, m.SourceSystem) + "/destination"),
            ["subscription-data"] = new(Paths.SubscriptionData(m.Context, m.Nmsc, m.SourceSystem, m.SourceCustomerId)),
        };
        if (m.ChangeRequestId is { } change) links["change-request"] = new(Paths.ChangeRequest(change));
        using var payload = JsonDocument.Parse(m.Payload);
        return new PropagationView(
            m.Id, m.State, m.Context, m.Nmsc, m.SourceSystem, m.SourceCustomerId, m.Cause, m.ChangeRequestId, m.LedgerIndex,
            HubTime.Format(m.CreatedAt), m.Attempts, PropagationStates.IsOutstanding(m.State) ? HubTime.Format(m.NextAttemptAt) : null,
            HubTime.Format(m.LastAttemptAt), m.LastStatusCode, m.LastError, HubTime.Format(m.DeliveredAt), HubTime.Format(m.ProcessedAt),
            m.ProcessedLedgerIndex, payload.RootElement.Clone(), [.. attempts.OrderBy(a => a.Id).Select(a => View(a, m.SourceCustomerId))], links);
    }

    static AttemptView View(DeliveryAttempt a, string sourceCustomerId) => new(
        a.Id, a.PropagationId, sourceCustomerId, a.Number, HubTime.Format(a.AttemptedAt), a.StatusCode, a.LatencyMs, a.Outcome, a.Response, a.Error);
}
