using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using System.Xml;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Inbound;

public sealed record PollerInput
{
    public string? Url { get; init; }
    public string? Token { get; init; }
    public string? TokenIn { get; init; }
    public string? TokenName { get; init; }
    public string? Interval { get; init; }
    public string? WindowStart { get; init; }
    public string? WindowEnd { get; init; }
    public string? TimeFormat { get; init; }
    public string? ItemsPointer { get; init; }
    public string? NextPointer { get; init; }
    public string? EventType { get; init; }
    public string? SafetyLag { get; init; }
    public string? Since { get; init; }
}

public sealed record PollerView(
    string Name, string Nmsc, string Url, string TokenIn, string TokenName, string Interval, string WindowStart, string WindowEnd, string TimeFormat,
    string ItemsPointer, string? NextPointer, string EventType, string SafetyLag, string State, string? FailureReason, string Watermark, string NextRunAt,
    string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record PollerList(
    int Count, IReadOnlyList<PollerView> Pollers,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record PollerRunView(
    long Id, string Trigger, string StartedAt, string WindowStart, string WindowEnd, int Pages, int Items, int Applied, int Rejected, int Duplicates,
    bool Succeeded, string? Error, long DurationMs);

public sealed record PollerRunList(
    int Count, IReadOnlyList<PollerRunView> Runs,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// The admin defines an organisation's polling adapters (seed 001): the hub GETs a system's endpoint every interval for the
/// window since the last successful one, and takes each item in as an event of an event type.
/// </summary>
public static partial class PollerApi
{
    public const int MaxPollersPerOrganisation = 100;
    public const int MaxTokenLength = 4096;
    public const int MaxParameterLength = 100;
    public static readonly TimeSpan DefaultSafetyLag = TimeSpan.FromSeconds(30);
    static readonly TimeSpan LongestSafetyLag = TimeSpan.FromDays(1);
    const string Tag = "Inbound events (seed 001)";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex PollerName();

    // An HTTP token (RFC 9110 §5.6.2): what a header name or query parameter name may be here.
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")]
    private static partial Regex ParameterName();

    public static IServiceCollection AddPollers(this IServiceCollection services)
    {
        services.AddOptions<PollerOptions>().BindConfiguration(PollerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<PollerRunner>();
        services.AddHostedService<PollerWorker>();
        services.AddHttpClient(PollerRunner.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            // The destinations' address rules: the poller's URL is checked when saved and its addresses at every connection.
            .ConfigurePrimaryHttpMessageHandler(sp => PropagationDispatcher.GuardedHandler(sp.GetRequiredService<IOptions<PropagationOptions>>().Value))
            // The factory's own request logs would show the URL, and with it a token sent in the query.
            .RemoveAllLoggers();
        return services;
    }

    public static IEndpointRouteBuilder MapPollers(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/pollers").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapGet("", ListAsync)
            .WithName("ListPollers").WithSummary("The organisation's polling adapters.")
            .Produces<PollerList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{name}", PutAsync)
            .WithName("PutPoller").WithSummary("Define or replace a polling adapter; the token is kept (protected) and never shown again.")
            .Accepts<PollerInput>("application/json")
            .Produces<PollerView>(StatusCodes.Status201Created, Hal.MediaType).Produces<PollerView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{name}", GetAsync)
            .WithName("GetPoller").WithSummary("One polling adapter: its configuration, state, watermark and next run; never its token.")
            .Produces<PollerView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/{name}", DeleteAsync)
            .WithName("DeletePoller").WithSummary("Delete a polling adapter and its runs.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{name}/runs", RunsAsync)
            .WithName("ListPollerRuns").WithSummary("The poller's runs, newest first: window, pages, items, applied, rejected, duplicates, error, duration.")
            .Produces<PollerRunList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/{name}:run", RunNowAsync)
            .WithName("RunPoller").WithSummary("Poll now: runs the window since the watermark and answers the run.")
            .Produces<PollerRunView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPut("/{name}:pause", (string nmsc, string name, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct) =>
                SetStateAsync(nmsc, name, PollerStates.Paused, db, ledger, time, ct))
            .WithName("PausePoller").WithSummary("Stop polling on schedule until resumed.")
            .Produces<PollerView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{name}:resume", (string nmsc, string name, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct) =>
                SetStateAsync(nmsc, name, PollerStates.Active, db, ledger, time, ct))
            .WithName("ResumePoller").WithSummary("Poll again (after a pause or a failure): due at once, the failure forgotten.")
            .Produces<PollerView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var pollers = await db.Pollers.AsNoTracking().Where(p => p.Nmsc == nmsc).ToListAsync(ct);
        var views = pollers.OrderBy(p => p.Name, StringComparer.Ordinal).Select(View).ToList();
        return Hal.Ok(new PollerList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(ListPath(nmsc)),
            ["organisation"] = new(Paths.Organisation(nmsc)),
        }));
    }

    static async Task<IResult> PutAsync(
        string nmsc, string name, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, IDataProtectionProvider protection,
        IOptions<PropagationOptions> addresses, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!PollerName().IsMatch(name)) return Problems.Invalid("name", "poller-name", $"The poller's name is {EventTypeApi.EventTypeNameRule}.");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<PollerInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var input = body.Value!;
        var existing = await db.Pollers.AsNoTracking().SingleOrDefaultAsync(p => p.Nmsc == nmsc && p.Name == name, ct);

        var v = new List<Violation>();
        if (string.IsNullOrWhiteSpace(input.Url)) v.Add(new("url", "required", "url is the endpoint the hub polls, like https://tool.example.com/changes."));
        else if (await DestinationUris.ResolvedRefusalAsync(input.Url, addresses.Value.AllowInsecureLoopback, addresses.Value.PrivateNetworksAllowed(), ct) is { } why)
            v.Add(new("url", "poller-url", why.Replace("the destination URI", "the poller's url", StringComparison.Ordinal)));
        else if (new Uri(input.Url).Fragment.Length > 0) v.Add(new("url", "poller-url", "the poller's url must not have a fragment (#…)."));
        if (input.Token is null && existing is null) v.Add(new("token", "required", "token is the static token the hub sends to the endpoint."));
        else if (input.Token is { } token && (token.Length is 0 or > MaxTokenLength || token.Any(char.IsControl)))
            v.Add(new("token", "token", $"token is 1 to {MaxTokenLength} characters without control characters."));
        if (input.TokenIn is not (PollerTokenPlaces.Header or PollerTokenPlaces.Query))
            v.Add(new("tokenIn", "token-in", "tokenIn is \"header\" or \"query\": where the hub sends the token."));
        CheckParameter(input.TokenName, "tokenName", "the header or query parameter that carries the token (e.g. Authorization, x-api-key, token)", v);
        CheckParameter(input.WindowStart, "windowStart", "the query parameter of the window's start (e.g. from)", v);
        CheckParameter(input.WindowEnd, "windowEnd", "the query parameter of the window's end (e.g. to)", v);
        if (input.WindowStart is not null && input.WindowStart == input.WindowEnd) v.Add(new("windowEnd", "distinct", "windowStart and windowEnd must be different parameters."));
        if (string.IsNullOrWhiteSpace(input.Interval)) v.Add(new("interval", "required", "interval is an ISO 8601 duration (PT1M) or a cron expression (*/5 * * * *)."));
        else if (PollerInterval.Parse(input.Interval).Error is { } intervalError) v.Add(new("interval", "interval", intervalError));
        if (input.TimeFormat is { } format && PollerTimeFormats.Refusal(format) is { } formatError) v.Add(new("timeFormat", "time-format", formatError));
        if (string.IsNullOrEmpty(input.ItemsPointer)) v.Add(new("itemsPointer", "required", "itemsPointer is the JSON Pointer to the array of items in a page, like /changes."));
        else if (JsonPointers.Parse(input.ItemsPointer).Error is { } itemsError || input.ItemsPointer.Length > EventMapping.MaxPointerLength)
            v.Add(new("itemsPointer", "json-pointer", JsonPointers.Parse(input.ItemsPointer).Error ?? $"A JSON Pointer is at most {EventMapping.MaxPointerLength} characters."));
        if (input.NextPointer is { } nextPointer && EventMapping.CheckPointer(nextPointer).Error is { } nextError) v.Add(new("nextPointer", "json-pointer", nextError));
        var lag = DefaultSafetyLag;
        if (input.SafetyLag is { } lagText)
        {
            try { lag = XmlConvert.ToTimeSpan(lagText); }
            catch (Exception e) when (e is FormatException or OverflowException) { lag = TimeSpan.MinValue; }
            if (lag < TimeSpan.Zero || lag > LongestSafetyLag || lag.Ticks % TimeSpan.TicksPerSecond != 0)
                v.Add(new("safetyLag", "duration", "safetyLag is an ISO 8601 duration of whole seconds, from PT0S to P1D (default PT30S)."));
        }
        DateTime? since = null;
        if (input.Since is { } sinceText)
        {
            if (Timestamps.TryParse(sinceText, out var parsed)) since = PollerTimeFormats.Truncate(parsed, input.TimeFormat);
            else v.Add(new("since", "timestamp-format", $"since is {Timestamps.Rule}."));
        }
        EventType? type = null;
        if (string.IsNullOrWhiteSpace(input.EventType)) v.Add(new("eventType", "required", "eventType names the event type each polled item is."));
        else if ((type = await db.EventTypes.AsNoTracking().SingleOrDefaultAsync(t => t.Nmsc == nmsc && t.Name == input.EventType, ct)) is null)
            v.Add(new("eventType", "unknown-event-type", $"Organisation '{nmsc}' has no event type '{input.EventType}'; define it first."));
        if (v.Count > 0) return Problems.Invalid(v);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.Pollers.SingleOrDefaultAsync(p => p.Nmsc == nmsc && p.Name == name, ct);
        var created = row is null;
        var protector = protection.CreateProtector(PollerRunner.ProtectionPurpose);
        if (row is null)
        {
            if (await db.Pollers.CountAsync(p => p.Nmsc == nmsc, ct) >= MaxPollersPerOrganisation)
                return Problems.Conflict($"Organisation '{nmsc}' already has {MaxPollersPerOrganisation} pollers, the most it may hold; delete one first.");
            row = new Poller
            {
                Id = Guid.CreateVersion7(), Nmsc = nmsc, Name = name, EventType = type!.Name, Url = "", ProtectedToken = "", TokenIn = "", TokenName = "",
                Interval = "", WindowStart = "", WindowEnd = "", ItemsPointer = "", State = PollerStates.Active,
                Watermark = PollerTimeFormats.Truncate(now, input.TimeFormat), NextRunAt = now, CreatedAt = now,
            };
            db.Pollers.Add(row);
        }
        row.Url = input.Url!;
        if (input.Token is { } newToken) row.ProtectedToken = protector.Protect(newToken);
        row.TokenIn = input.TokenIn!;
        row.TokenName = input.TokenName!;
        if (row.Interval != input.Interval!.Trim())
        {
            row.Interval = input.Interval.Trim();
            // A new schedule counts from now: due after one interval (a duration) or at its next time (cron).
            row.NextRunAt = PollerInterval.Parse(row.Interval).Interval!.Next(now, now);
        }
        row.WindowStart = input.WindowStart!;
        row.WindowEnd = input.WindowEnd!;
        row.TimeFormat = input.TimeFormat;
        row.ItemsPointer = input.ItemsPointer!;
        row.NextPointer = input.NextPointer;
        row.EventTypeId = type!.Id;
        row.EventType = type.Name;
        row.SafetyLagSeconds = (int)lag.TotalSeconds;
        if (since is { } start) row.Watermark = start;
        row.UpdatedAt = now;
        ledger.Append(LedgerEvents.PollerConfigured, new
        {
            nmsc, poller = name, action = created ? "created" : "replaced", url = row.Url, tokenIn = row.TokenIn, tokenName = row.TokenName,
            interval = row.Interval, eventType = row.EventType, watermark = HubTime.Format(row.Watermark),
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return created ? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(View(row)), PathOf(row)) : Hal.Ok(View(row));
    }

    static void CheckParameter(string? value, string field, string what, List<Violation> v)
    {
        if (string.IsNullOrEmpty(value)) v.Add(new(field, "required", $"{field} is {what}."));
        else if (!ParameterName().IsMatch(value)) v.Add(new(field, "parameter-name", $"{field} is 1 to {MaxParameterLength} characters of an HTTP token (letters, digits, -._~ …)."));
    }

    static async Task<IResult> GetAsync(string nmsc, string name, ConsentDb db, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        return row is null ? NoPoller(name) : Hal.Ok(View(row));
    }

    static async Task<IResult> DeleteAsync(string nmsc, string name, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await FindAsync(db, nmsc, name, ct, tracked: true);
        if (row is null) return NoPoller(name);
        await db.PollerRuns.Where(r => r.PollerId == row.Id).ExecuteDeleteAsync(ct);
        db.Pollers.Remove(row);
        ledger.Append(LedgerEvents.PollerDeleted, new { nmsc = row.Nmsc, poller = row.Name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> RunsAsync(string nmsc, string name, string? after, string? limit, ConsentDb db, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        if (row is null) return NoPoller(name);
        var (below, take, error) = Paging.Read(after, limit, 50, 500);
        if (error is not null) return error;
        var runs = await db.PollerRuns.AsNoTracking()
            .Where(r => r.PollerId == row.Id && (below < 0 || r.Id < below))
            .OrderByDescending(r => r.Id).Take(take + 1).ToListAsync(ct);
        var links = new Dictionary<string, HalLink> { ["self"] = new(PathOf(row) + "/runs"), ["poller"] = new(PathOf(row)) };
        if (runs.Count > take)
        {
            runs.RemoveAt(take);
            links["next"] = Paging.Link(PathOf(row) + "/runs", runs[^1].Id, take);
        }
        var views = runs.Select(RunView).ToList();
        return Hal.Ok(new PollerRunList(views.Count, views, links));
    }

    static async Task<IResult> RunNowAsync(string nmsc, string name, ConsentDb db, PollerRunner runner, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        if (row is null) return NoPoller(name);
        if (row.State != PollerStates.Active)
            return Problems.Conflict($"Poller '{row.Name}' is {row.State}: resume it first (PUT …/pollers/{row.Name}:resume).");
        return await runner.RunAsync(row.Id, PollerRunner.ManualTrigger, ct) switch
        {
            PollOutcome.Ran ran => Hal.Ok(RunView(ran.Run)),
            PollOutcome.Busy => Problems.Conflict($"Poller '{row.Name}' is running already; see its runs."),
            _ => Problems.Conflict($"Poller '{row.Name}' cannot run now: it was paused, stopped or deleted meanwhile."),
        };
    }

    static async Task<IResult> SetStateAsync(string nmsc, string name, string state, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await FindAsync(db, nmsc, name, ct, tracked: true);
        if (row is null) return NoPoller(name);
        if (row.State != state)
        {
            var now = time.Now();
            row.State = state;
            row.UpdatedAt = now;
            if (state == PollerStates.Active)
            {
                row.FailureReason = null;
                row.Attempts = 0;
                row.NextRunAt = now;
            }
            ledger.Append(LedgerEvents.PollerConfigured, new { nmsc = row.Nmsc, poller = row.Name, action = state == PollerStates.Active ? "resumed" : "paused" });
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return Hal.Ok(View(row));
    }

    static Task<Poller?> FindAsync(ConsentDb db, string nmsc, string name, CancellationToken ct, bool tracked = false)
    {
        nmsc = Names.Normalise(nmsc);
        var pollers = tracked ? db.Pollers : db.Pollers.AsNoTracking();
        return pollers.SingleOrDefaultAsync(p => p.Nmsc == nmsc && p.Name == name, ct);
    }

    static PollerView View(Poller p) => new(
        p.Name, p.Nmsc, p.Url, p.TokenIn, p.TokenName, p.Interval, p.WindowStart, p.WindowEnd, p.TimeFormat ?? PollerTimeFormats.Iso8601,
        p.ItemsPointer, p.NextPointer, p.EventType, XmlConvert.ToString(TimeSpan.FromSeconds(p.SafetyLagSeconds)), p.State, p.FailureReason,
        HubTime.Format(p.Watermark), HubTime.Format(p.NextRunAt), HubTime.Format(p.CreatedAt), HubTime.Format(p.UpdatedAt),
        new Dictionary<string, HalLink>
        {
            ["self"] = new(PathOf(p)),
            ["runs"] = new(PathOf(p) + "/runs"),
            ["event-type"] = new($"{Paths.Organisation(p.Nmsc)}/event-types/{Uri.EscapeDataString(p.EventType)}"),
            ["pollers"] = new(ListPath(p.Nmsc)),
        });

    static PollerRunView RunView(PollerRun r) => new(
        r.Id, r.Trigger, HubTime.Format(r.StartedAt), HubTime.Format(r.WindowStart), HubTime.Format(r.WindowEnd), r.Pages, r.Items, r.Applied, r.Rejected,
        r.Duplicates, r.Succeeded, r.Error, r.DurationMs);

    static string ListPath(string nmsc) => Paths.Organisation(nmsc) + "/pollers";

    static string PathOf(Poller p) => ListPath(p.Nmsc) + "/" + Uri.EscapeDataString(p.Name);

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");

    static IResult NoPoller(string name) => Problems.NotFound($"The organisation has no poller '{name}'.");
}
