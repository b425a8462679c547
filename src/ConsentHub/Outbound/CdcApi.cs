using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Outbound;

public sealed record CdcSubscriptionInput
{
    public List<string>? Contexts { get; init; }
    public List<string>? Fields { get; init; }
    public string? Exchange { get; init; }
    public bool? IncludePersonalData { get; init; }
}

public sealed record CdcSubscriptionView(
    string Name, string Nmsc, IReadOnlyList<string>? Contexts, IReadOnlyList<string> Fields, string Exchange, bool IncludePersonalData,
    string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record CdcSubscriptionList(
    int Count, IReadOnlyList<CdcSubscriptionView> Subscriptions,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>Where the publisher is: the last change-log row it handled (published or skipped).</summary>
public sealed record CdcCursor(long LedgerIndex, int Position);

/// <summary>The change-log rows of the organisation after the cursor: how many, and the age of the oldest.</summary>
public sealed record CdcLag(double Seconds, long Changes);

public sealed record CdcStatusView(
    string Name, string Nmsc, CdcCursor Cursor, CdcLag Lag, long PublishedCount, string? LastPublishedAt, string? LastError, string? LastErrorAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// Change data capture subscriptions (seed 000, issue 18 part 1): the admin names the fields an organisation's consumers
/// care about and an exchange; every change touching one of them is published there as a CloudEvent, in ledger order.
/// </summary>
public static partial class CdcApi
{
    public const int MaxSubscriptionsPerOrganisation = 100;
    public const int MaxFields = 200;
    public const int MaxContexts = 100;
    const string Tag = "Change data capture (seed 000)";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex SubscriptionName();

    // AMQP 0-9-1 exchange names: letters, digits, hyphen, underscore, period, colon; at most 255 characters.
    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,255}$")]
    private static partial Regex ExchangeName();

    // The category code rule of Admin/CategoryRules.
    [GeneratedRegex("^[A-Z][A-Z0-9_]{1,39}$")]
    private static partial Regex CategoryCode();

    public static IServiceCollection AddChangeDataCapture(this IServiceCollection services)
    {
        services.AddOptions<BrokerOptions>().BindConfiguration(BrokerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<BrokerConnection>();
        services.AddSingleton<CdcSignal>();
        services.AddSingleton<CdcPublisherChannel>();
        services.AddScoped<CdcPublisher>();
        services.AddHostedService<CdcWorker>();
        return services;
    }

    public static IEndpointRouteBuilder MapChangeDataCapture(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/cdc").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy)
            .AddEndpointFilter(async (context, next) =>
            {
                var broker = context.HttpContext.RequestServices.GetRequiredService<BrokerConnection>();
                return broker.Configured ? await next(context) : NoBroker();
            });
        admin.MapGet("", ListAsync)
            .WithName("ListCdcSubscriptions").WithSummary("The organisation's change data capture subscriptions.")
            .Produces<CdcSubscriptionList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPut("/{name}", PutAsync)
            .WithName("PutCdcSubscription").WithSummary("Define or replace a subscription; the hub declares its exchange (durable, topic). A new one publishes what happens from now on.")
            .Accepts<CdcSubscriptionInput>("application/json")
            .Produces<CdcSubscriptionView>(StatusCodes.Status201Created, Hal.MediaType).Produces<CdcSubscriptionView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        admin.MapGet("/{name}", GetAsync)
            .WithName("GetCdcSubscription").WithSummary("One subscription.")
            .Produces<CdcSubscriptionView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapDelete("/{name}", DeleteAsync)
            .WithName("DeleteCdcSubscription").WithSummary("Stop publishing and forget the subscription (its exchange stays on the broker).")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{name}/status", StatusAsync)
            .WithName("GetCdcSubscriptionStatus").WithSummary("Lag (changes after the cursor and the age of the oldest), published count, last error, cursor.")
            .Produces<CdcStatusView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPost("/{name}:replay", ReplayAsync)
            .WithName("ReplayCdcSubscription").WithSummary("Republish history from the change log from a ledger index on, with the same event ids.")
            .Produces<CdcStatusView>(StatusCodes.Status202Accepted, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var rows = await db.CdcSubscriptions.AsNoTracking().Where(s => s.Nmsc == nmsc).ToListAsync(ct);
        var views = rows.OrderBy(s => s.Name, StringComparer.Ordinal).Select(View).ToList();
        return Hal.Ok(new CdcSubscriptionList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(ListPath(nmsc)),
            ["organisation"] = new(Paths.Organisation(nmsc)),
        }));
    }

    static async Task<IResult> PutAsync(
        string nmsc, string name, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, BrokerConnection broker, CdcSignal signal,
        CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!SubscriptionName().IsMatch(name))
            return Problems.Invalid("name", "cdc-subscription-name", $"The subscription's name is {Inbound.EventTypeApi.EventTypeNameRule}.");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<CdcSubscriptionInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var input = body.Value!;

        var v = new List<Violation>();
        var fields = CheckFields(input.Fields, v);
        var contexts = await CheckContextsAsync(db, nmsc, input.Contexts, v, ct);
        if (string.IsNullOrEmpty(input.Exchange))
            v.Add(new("exchange", "required", "exchange is the name of the topic exchange the events are published to."));
        else if (!ExchangeName().IsMatch(input.Exchange))
            v.Add(new("exchange", "exchange-name", "exchange is 1 to 255 characters: letters, digits, '-', '_', '.' or ':'."));
        else if (input.Exchange.StartsWith("amq.", StringComparison.Ordinal))
            v.Add(new("exchange", "reserved-exchange", "Exchange names starting with 'amq.' are reserved by the broker."));
        if (v.Count > 0) return Problems.Invalid(v);

        var existing = await db.CdcSubscriptions.AsNoTracking().SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Name == name, ct);
        if (existing is null && await db.CdcSubscriptions.CountAsync(s => s.Nmsc == nmsc, ct) >= MaxSubscriptionsPerOrganisation)
            return Problems.Conflict($"Organisation '{nmsc}' already has {MaxSubscriptionsPerOrganisation} CDC subscriptions, the most it may hold; delete one first.");
        // Declared before anything is saved: a subscription is only kept when its exchange exists.
        try
        {
            await broker.DeclareExchangeAsync(input.Exchange!, ct);
        }
        catch (ExchangeMismatch e)
        {
            return Problems.Invalid("exchange", "exchange-mismatch", e.Message + " Change data capture publishes to a durable topic exchange; name another.");
        }
        catch (BrokerUnavailable e)
        {
            return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "The broker is unavailable.",
                e.Message + " Nothing was saved; try again when the broker is reachable.", "broker-unavailable");
        }

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.CdcSubscriptions.SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Name == name, ct);
        var created = row is null;
        var entry = ledger.Append(LedgerEvents.CdcSubscriptionConfigured, new
        {
            nmsc, subscription = name, action = created ? "created" : "replaced", contexts, fields, exchange = input.Exchange,
            includePersonalData = input.IncludePersonalData ?? false,
        });
        if (row is null)
        {
            // From the end of the change log: every row committed after this entry has a larger ledger index.
            row = new CdcSubscription
            {
                Id = Guid.CreateVersion7(), Nmsc = nmsc, Name = name, Fields = "[]", Exchange = "", CursorIndex = entry.Index, CursorPosition = -1,
                CreatedAt = now,
            };
            db.CdcSubscriptions.Add(row);
        }
        row.Contexts = contexts is null ? null : JsonSerializer.Serialize(contexts);
        row.Fields = JsonSerializer.Serialize(fields);
        row.Exchange = input.Exchange!;
        row.IncludePersonalData = input.IncludePersonalData ?? false;
        row.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        signal.Notify();
        return created ? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(View(row)), PathOf(row)) : Hal.Ok(View(row));
    }

    static List<string> CheckFields(List<string>? fields, List<Violation> v)
    {
        if (fields is null || fields.Count == 0)
        {
            v.Add(new("fields", "required", "fields lists 1 to 200 fields: consent.{CODE}, channel.{CODE}, communication.language, communication.country."));
            return [];
        }
        if (fields.Count > MaxFields) v.Add(new("fields", "max-items", $"At most {MaxFields} fields."));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < fields.Count && i < MaxFields; i++)
        {
            var field = fields[i];
            var at = $"fields[{i}]";
            if (field is RecordImage.Language or RecordImage.Country) { }
            else if (field?.StartsWith(RecordImage.ConsentPrefix, StringComparison.Ordinal) == true)
            {
                if (!CategoryCode().IsMatch(field[RecordImage.ConsentPrefix.Length..]))
                    v.Add(new(at, "category-code", $"'{Shown(field)}': a consent's code is 2 to 40 characters: upper-case letters, digits or '_', starting with a letter."));
            }
            else if (field?.StartsWith(RecordImage.ChannelPrefix, StringComparison.Ordinal) == true)
            {
                if (!Categories.Channels.Contains(field[RecordImage.ChannelPrefix.Length..]))
                    v.Add(new(at, "unknown-channel", $"'{Shown(field)}': a channel is channel.EMAIL, channel.SMS, channel.PHONE or channel.MAIL."));
            }
            else
            {
                v.Add(new(at, "cdc-field", $"'{Shown(field ?? "null")}' is not a field: use consent.{{CODE}}, channel.{{CODE}}, communication.language or communication.country."));
                continue;
            }
            if (field is not null && !seen.Add(field)) v.Add(new(at, "duplicate-field", $"'{field}' appears more than once."));
        }
        return [.. seen];
    }

    static async Task<List<string>?> CheckContextsAsync(ConsentDb db, string nmsc, List<string>? contexts, List<Violation> v, CancellationToken ct)
    {
        if (contexts is null) return null;
        if (contexts.Count is 0 or > MaxContexts)
        {
            v.Add(new("contexts", "contexts", $"contexts lists 1 to {MaxContexts} contexts of the organisation; leave it out for all of them."));
            return null;
        }
        var known = await db.SourceSystems.AsNoTracking().Where(s => s.Nmsc == nmsc).Select(s => s.Context).Distinct().ToListAsync(ct);
        var result = new List<string>();
        for (var i = 0; i < contexts.Count; i++)
        {
            var context = contexts[i] is null ? null : Names.Normalise(contexts[i]);
            if (context is null || !known.Contains(context))
                v.Add(new($"contexts[{i}]", "unknown-context", $"Organisation '{nmsc}' has no source system in context '{Shown(contexts[i] ?? "null")}'."));
            else if (result.Contains(context))
                v.Add(new($"contexts[{i}]", "duplicate-context", $"'{context}' appears more than once."));
            else result.Add(context);
        }
        return result;
    }

    static async Task<IResult> GetAsync(string nmsc, string name, ConsentDb db, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        return row is null ? NoSubscription(name) : Hal.Ok(View(row));
    }

    static async Task<IResult> DeleteAsync(string nmsc, string name, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await FindAsync(db, nmsc, name, ct, tracked: true);
        if (row is null) return NoSubscription(name);
        db.CdcSubscriptions.Remove(row);
        ledger.Append(LedgerEvents.CdcSubscriptionDeleted, new { nmsc = row.Nmsc, subscription = row.Name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> StatusAsync(string nmsc, string name, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        return row is null ? NoSubscription(name) : Hal.Ok(await StatusOfAsync(db, row, time, ct));
    }

    static async Task<IResult> ReplayAsync(
        string nmsc, string name, string? fromLedgerIndex, ConsentDb db, LedgerWriter ledger, TimeProvider time, CdcSignal signal, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        if (row is null) return NoSubscription(name);
        var size = await db.LedgerEntries.MaxAsync(e => (long?)e.Index, ct) ?? 0;
        if (!long.TryParse(fromLedgerIndex, NumberStyles.None, CultureInfo.InvariantCulture, out var from) || from < 1 || from > size)
            return Problems.Invalid("fromLedgerIndex", "ledger-index", $"fromLedgerIndex is a ledger index from 1 to {size} (the ledger's size): history is republished from it on.");

        await using var transaction = await ledger.BeginAsync(ct);
        var tracked = await FindAsync(db, nmsc, name, ct, tracked: true);
        if (tracked is null) return NoSubscription(name);
        // Just before the entry's first row; a page being published meanwhile finds its cursor moved and does not advance it.
        tracked.CursorIndex = from;
        tracked.CursorPosition = -1;
        tracked.UpdatedAt = time.Now();
        ledger.Append(LedgerEvents.CdcSubscriptionConfigured, new { nmsc = tracked.Nmsc, subscription = tracked.Name, action = "replayed", fromLedgerIndex = from });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        signal.Notify();
        return Hal.Raw(StatusCodes.Status202Accepted, Hal.Serialize(await StatusOfAsync(db, tracked, time, ct)), PathOf(tracked) + "/status");
    }

    static async Task<CdcStatusView> StatusOfAsync(ConsentDb db, CdcSubscription s, TimeProvider time, CancellationToken ct)
    {
        var after = CdcPublisher.After(db.ChangeLog.AsNoTracking().Where(e => e.Nmsc == s.Nmsc), s.CursorIndex, s.CursorPosition);
        var changes = await after.LongCountAsync(ct);
        var oldest = changes == 0 ? null : await after.MinAsync(e => (DateTime?)e.OccurredAt, ct);
        var seconds = oldest is { } at ? Math.Max(0, Math.Round((time.Now() - at).TotalSeconds, 3)) : 0;
        return new CdcStatusView(s.Name, s.Nmsc, new CdcCursor(s.CursorIndex, s.CursorPosition), new CdcLag(seconds, changes), s.PublishedCount,
            s.LastPublishedAt is { } published ? HubTime.Format(published) : null, s.LastError, s.LastErrorAt is { } failed ? HubTime.Format(failed) : null,
            new Dictionary<string, HalLink> { ["self"] = new(PathOf(s) + "/status"), ["subscription"] = new(PathOf(s)) });
    }

    static Task<CdcSubscription?> FindAsync(ConsentDb db, string nmsc, string name, CancellationToken ct, bool tracked = false)
    {
        nmsc = Names.Normalise(nmsc);
        var rows = tracked ? db.CdcSubscriptions : db.CdcSubscriptions.AsNoTracking();
        return rows.SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Name == name, ct);
    }

    static CdcSubscriptionView View(CdcSubscription s) => new(
        s.Name, s.Nmsc, s.Contexts is null ? null : JsonSerializer.Deserialize<List<string>>(s.Contexts), JsonSerializer.Deserialize<List<string>>(s.Fields)!,
        s.Exchange, s.IncludePersonalData, HubTime.Format(s.CreatedAt), HubTime.Format(s.UpdatedAt),
        new Dictionary<string, HalLink>
        {
            ["self"] = new(PathOf(s)),
            ["status"] = new(PathOf(s) + "/status"),
            ["subscriptions"] = new(ListPath(s.Nmsc)),
        });

    static string ListPath(string nmsc) => Paths.Organisation(nmsc) + "/cdc";

    static string PathOf(CdcSubscription s) => ListPath(s.Nmsc) + "/" + Uri.EscapeDataString(s.Name);

    static string Shown(string text) => text.Length <= 80 ? text : text[..80] + "…";

    static IResult NoBroker() => Problems.Conflict($"no broker configured ({BrokerOptions.UriKey}): change data capture needs one.");

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");

    static IResult NoSubscription(string name) => Problems.NotFound($"The organisation has no CDC subscription '{name}'.");
}
