using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Reminders;

public sealed record ReminderRuleView(
    string Name, string Nmsc, JsonObject Rule, string? NextRunAt, string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ReminderRuleList(int Count, IReadOnlyList<ReminderRuleView> Rules,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ReminderRunView(
    Guid Id, string Name, string Slot, string Trigger, string StartedAt, int Selected, IReadOnlyDictionary<string, int> Reminders, long? LedgerIndex);

public sealed record ReminderRunList(int Count, IReadOnlyList<ReminderRunView> Runs,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// Consent reminders (issue 19 §2): the admin's rules per organisation, their runs, and the outcome the communication
/// system reports back for a reminder it was sent.
/// </summary>
public static partial class ReminderApi
{
    public const int MaxRulesPerOrganisation = 50;
    const int DefaultPageSize = 50, MaxPageSize = 500;
    const string Tag = "Consent reminders";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex RuleName();

    public static IServiceCollection AddReminders(this IServiceCollection services)
    {
        services.AddOptions<ReminderOptions>().BindConfiguration(ReminderOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<ReminderService>();
        services.AddSingleton<ReminderSignal>();
        services.AddHostedService<ReminderWorker>();
        return services;
    }

    public static IEndpointRouteBuilder MapReminders(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/reminder-rules").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapGet("", ListAsync)
            .WithName("ListReminderRules").WithSummary("The organisation's reminder rules.")
            .Produces<ReminderRuleList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{name}", PutAsync)
            .WithName("PutReminderRule").WithSummary("Define or replace a reminder rule: which consents, how old, which records, by email or webhook, on which cron schedule.")
            .Accepts<JsonObject>("application/json")
            .Produces<ReminderRuleView>(StatusCodes.Status201Created, Hal.MediaType).Produces<ReminderRuleView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{name}", GetAsync)
            .WithName("GetReminderRule").WithSummary("One reminder rule and its next run.")
            .Produces<ReminderRuleView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/{name}", DeleteAsync)
            .WithName("DeleteReminderRule").WithSummary("Delete a reminder rule; its runs and reminders stay, and reminders not yet delivered fail.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/{name}:run", RunNowAsync)
            .WithName("RunReminderRule").WithSummary("Run the rule now, outside its schedule: 201 with the run and what it selected.")
            .Produces<ReminderRunView>(StatusCodes.Status201Created, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{name}/runs", RunsAsync)
            .WithName("ListReminderRuns").WithSummary("The rule's runs, newest first: what each selected, and its reminders by state (?before=&limit=).")
            .Produces<ReminderRunList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);

        app.MapPost("/nmscs/{nmsc}/reminders/{id}:outcome", OutcomeAsync).WithTags(Tag).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("ReportReminderOutcome")
            .WithSummary("The communication system reports a reminder it was sent as delivered, failed or confirmed (the person kept their choices).")
            .Accepts<JsonObject>("application/json")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var rows = await db.ReminderRules.AsNoTracking().Where(r => r.Nmsc == nmsc).ToListAsync(ct);
        var views = rows.OrderBy(r => r.Name, StringComparer.Ordinal).Select(View).ToList();
        return Hal.Ok(new ReminderRuleList(views.Count, views, new Dictionary<string, HalLink> { ["self"] = new(ListPath(nmsc)) }));
    }

    static async Task<IResult> PutAsync(string nmsc, string name, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!RuleName().IsMatch(name))
            return Problems.Invalid("name", "rule-name", "The rule's name is 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<JsonObject>(http, ct);
        if (body.Error is not null) return body.Error;
        if (body.Value is null) return Problems.Invalid("body", "object", "The body is a JSON object defining the rule.");
        var (spec, violations) = ReminderSpec.Read(body.Value);
        if (spec is null) return Problems.Invalid(violations);
        var systems = await db.SourceSystems.AsNoTracking().Where(s => s.Nmsc == nmsc).Select(s => new { s.Context, s.Name }).ToListAsync(ct);
        violations.AddRange(spec.Contexts.Select((c, i) => (c, i)).Where(x => !systems.Any(s => s.Context == x.c))
            .Select(x => new Violation($"contexts[{x.i}]", "unknown-context", $"Organisation '{nmsc}' has no source system in the context '{x.c}'.")));
        if (spec.SourceSystem is { } system && systems.Count(s => s.Name == system) != 1)
            violations.Add(new Violation("sourceSystem", "unknown-source-system", systems.Any(s => s.Name == system)
                ? $"Organisation '{nmsc}' has a source system '{system}' in more than one context; name one that is unique."
                : $"Organisation '{nmsc}' has no source system '{system}'; register the communication system first and give it a webhook."));
        if (violations.Count > 0) return Problems.Invalid(violations);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.ReminderRules.SingleOrDefaultAsync(r => r.Nmsc == nmsc && r.Name == name, ct);
        var created = row is null;
        var json = spec.ToJson();
        if (row is null)
        {
            if (await db.ReminderRules.CountAsync(r => r.Nmsc == nmsc, ct) >= MaxRulesPerOrganisation)
                return Problems.Conflict($"Organisation '{nmsc}' already has {MaxRulesPerOrganisation} reminder rules, the most it may hold; delete one first.");
            row = new ReminderRule { Id = Guid.CreateVersion7(), Nmsc = nmsc, Name = name, Spec = json, Schedule = spec.Schedule, CreatedAt = now };
            db.ReminderRules.Add(row);
        }
        else if (row.Spec == json)
        {
            return Hal.Ok(View(row));
        }
        if (row.Schedule != spec.Schedule || row.NextRunAt is null) row.NextRunAt = CronSchedule.Next(spec.Schedule, now);
        row.Spec = json;
        row.Schedule = spec.Schedule;
        row.UpdatedAt = now;
        ledger.Append(ReminderEvents.RuleConfigured, new { nmsc, name, rule = JsonNode.Parse(json) });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        http.HttpContext.Response.Headers.Location = ItemPath(nmsc, name);
        return created ? TypedResults.Json(View(row), Hal.Json, Hal.MediaType, StatusCodes.Status201Created) : Hal.Ok(View(row));
    }

    static async Task<IResult> GetAsync(string nmsc, string name, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var row = await db.ReminderRules.AsNoTracking().SingleOrDefaultAsync(r => r.Nmsc == nmsc && r.Name == name, ct);
        return row is null ? NoRule(nmsc, name) : Hal.Ok(View(row));
    }

    static async Task<IResult> DeleteAsync(string nmsc, string name, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.ReminderRules.SingleOrDefaultAsync(r => r.Nmsc == nmsc && r.Name == name, ct);
        if (row is null) return NoRule(nmsc, name);
        db.ReminderRules.Remove(row);
        ledger.Append(ReminderEvents.RuleDeleted, new { nmsc, name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> RunNowAsync(string nmsc, string name, ConsentDb db, ReminderService reminders, ReminderSignal signal, TimeProvider time,
        CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var rule = await db.ReminderRules.AsNoTracking().SingleOrDefaultAsync(r => r.Nmsc == nmsc && r.Name == name, ct);
        if (rule is null) return NoRule(nmsc, name);
        var id = Guid.CreateVersion7();
        await reminders.RunAsync(rule, $"on-demand:{id:N}", "on-demand", time.Now(), moveSchedule: false, ct);
        signal.Notify();
        var run = await db.ReminderRuns.AsNoTracking().Where(r => r.RuleId == rule.Id && r.Slot == $"on-demand:{id:N}").SingleAsync(ct);
        return TypedResults.Json((await RunViewsAsync(db, [run], ct))[0], Hal.Json, Hal.MediaType, StatusCodes.Status201Created);
    }

    static async Task<IResult> RunsAsync(string nmsc, string name, string? before, string? limit, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.ReminderRules.AnyAsync(r => r.Nmsc == nmsc && r.Name == name, ct)) return NoRule(nmsc, name);
        var (cursor, size, error) = Paging.Read(before, limit, DefaultPageSize, MaxPageSize, "before");
        if (error is not null) return error;
        var query = db.ReminderRuns.AsNoTracking().Where(r => r.Nmsc == nmsc && r.Name == name);
        if (cursor >= 0) query = query.Where(r => r.LedgerIndex < cursor);
        var runs = await query.OrderByDescending(r => r.LedgerIndex).Take(size).ToListAsync(ct);
        var path = $"{ItemPath(nmsc, name)}/runs";
        var links = new Dictionary<string, HalLink> { ["self"] = Paging.Link(path, cursor, size, "before"), ["rule"] = new(ItemPath(nmsc, name)) };
        if (runs.Count == size) links["next"] = Paging.Link(path, runs[^1].LedgerIndex!.Value, size, "before");
        var views = await RunViewsAsync(db, runs, ct);
        return Hal.Ok(new ReminderRunList(views.Count, views, links));
    }

    static async Task<List<ReminderRunView>> RunViewsAsync(ConsentDb db, List<ReminderRun> runs, CancellationToken ct)
    {
        var ids = runs.Select(r => r.Id).ToList();
        var counts = await db.Reminders.AsNoTracking().Where(r => ids.Contains(r.RunId)).GroupBy(r => new { r.RunId, r.State })
            .Select(g => new { g.Key.RunId, g.Key.State, Count = g.Count() }).ToListAsync(ct);
        return [.. runs.Select(r => new ReminderRunView(r.Id, r.Name, r.Slot, r.Trigger, HubTime.Format(r.StartedAt), r.Selected,
            counts.Where(c => c.RunId == r.Id).OrderBy(c => c.State, StringComparer.Ordinal).ToDictionary(c => c.State, c => c.Count), r.LedgerIndex))];
    }

    static async Task<IResult> OutcomeAsync(string nmsc, string id, HttpRequest http, ClaimsPrincipal user, ConsentDb db, ReminderService reminders,
        CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var caller = Caller.From(user);
        var reminder = Guid.TryParse(id, out var reminderId)
            ? await db.Reminders.AsNoTracking().SingleOrDefaultAsync(r => r.Id == reminderId && r.Nmsc == nmsc && r.Channel == ReminderChannels.Webhook, ct)
            : null;
        var rule = reminder is null ? null : await db.ReminderRules.AsNoTracking().SingleOrDefaultAsync(r => r.Id == reminder.RuleId, ct);
        var system = rule is null ? null : ReminderSpec.FromJson(rule.Spec).SourceSystem;
        // Only the communication system the reminder was sent to (or the admin) may report on it; to others it does not exist.
        var entitled = caller.Role == Roles.Admin || (caller.Role == Roles.SourceSystem && caller.Nmsc == nmsc && caller.SourceSystem == system);
        if (reminder is null || !entitled) return Problems.NotFound($"Organisation '{nmsc}' has no reminder '{id}' sent to you.");

        var body = await JsonBody.ReadAsync<JsonObject>(http, ct);
        if (body.Error is not null) return body.Error;
        var violations = new List<Violation>();
        foreach (var (name, _) in body.Value ?? [])
            if (name is not ("outcome" or "detail")) violations.Add(new Violation(name, "unknown-member", $"{name} is not a member of an outcome (outcome, detail)."));
        var outcome = body.Value?["outcome"] is JsonValue o && o.GetValueKind() == JsonValueKind.String
            && o.GetValue<string>() is ReminderStates.Delivered or ReminderStates.Failed or ReminderStates.Confirmed ? o.GetValue<string>() : null;
        if (outcome is null) violations.Add(new Violation("outcome", "one-of", "outcome is \"delivered\", \"failed\" or \"confirmed\"."));
        string? detail = null;
        if (body.Value?["detail"] is { } d)
        {
            if (d is JsonValue dv && dv.GetValueKind() == JsonValueKind.String && dv.GetValue<string>().Length <= 1000) detail = dv.GetValue<string>();
            else violations.Add(new Violation("detail", "string", "detail is a text of at most 1000 characters."));
        }
        if (violations.Count > 0) return Problems.Invalid(violations);
        var refusal = await reminders.ReportAsync(reminder.Id, outcome!, detail, caller.Subject, ct);
        return refusal is null ? TypedResults.NoContent() : Problems.Conflict(refusal);
    }

    static string ListPath(string nmsc) => $"/admin/organisations/{Uri.EscapeDataString(nmsc)}/reminder-rules";
    static string ItemPath(string nmsc, string name) => $"{ListPath(nmsc)}/{Uri.EscapeDataString(name)}";

    static ReminderRuleView View(ReminderRule r) => new(
        r.Name, r.Nmsc, JsonNode.Parse(r.Spec)!.AsObject(), HubTime.Format(r.NextRunAt), HubTime.Format(r.CreatedAt), HubTime.Format(r.UpdatedAt),
        new Dictionary<string, HalLink>
        {
            ["self"] = new(ItemPath(r.Nmsc, r.Name)),
            ["runs"] = new($"{ItemPath(r.Nmsc, r.Name)}/runs"),
        });

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");
    static IResult NoRule(string nmsc, string name) => Problems.NotFound($"Organisation '{nmsc}' has no reminder rule '{name}'.");
}
