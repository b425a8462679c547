using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Extracts;

public sealed record ExtractView(
    string Name, string Nmsc, JsonObject Definition, string? NextRunAt, string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ExtractList(int Count, IReadOnlyList<ExtractView> Extracts,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ExtractRunView(
    Guid Id, string Name, string Nmsc, string Trigger, string Slot, string State, string Format, string Kind, long Rows, long Bytes, string? Sha256,
    string? Error, int Attempts, string RequestedBy, string RequestedAt, string? StartedAt, string? CompletedAt, long? LedgerIndex,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ExtractRunList(int Count, IReadOnlyList<ExtractRunView> Runs,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// Extracts (issue 19 §1): the admin defines an organisation's extracts, runs them on demand or lets their schedule run
/// them, follows each run's progress and downloads its file. Every definition change, issued file and download is in the ledger.
/// </summary>
public static partial class ExtractApi
{
    public const int MaxExtractsPerOrganisation = 100;
    const int DefaultPageSize = 50, MaxPageSize = 500;
    const string Tag = "Extracts";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ExtractName();

    public static IServiceCollection AddExtracts(this IServiceCollection services)
    {
        services.AddOptions<ExtractOptions>().BindConfiguration(ExtractOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<ExtractRunner>();
        services.AddSingleton<ExtractSignal>();
        services.AddHostedService<ExtractWorker>();
        services.AddSingleton<Bulk.IDpoLandingSection, ExtractSection>();
        return services;
    }

    public static IEndpointRouteBuilder MapExtracts(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/extracts").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapGet("", ListAsync)
            .WithName("ListExtracts").WithSummary("The organisation's extract definitions.")
            .Produces<ExtractList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{name}", PutAsync)
            .WithName("PutExtract").WithSummary("Define or replace an extract: filters, columns, format (csv, json, ndjson, parquet), detail or summary, and an optional cron schedule.")
            .Accepts<JsonObject>("application/json")
            .Produces<ExtractView>(StatusCodes.Status201Created, Hal.MediaType).Produces<ExtractView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{name}", GetAsync)
            .WithName("GetExtract").WithSummary("One extract definition and its next scheduled run.")
            .Produces<ExtractView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/{name}", DeleteAsync)
            .WithName("DeleteExtract").WithSummary("Delete an extract definition; its runs and files stay until they expire.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/{name}:run", RunAsync)
            .WithName("RunExtract").WithSummary("Run the extract now: 202 with the run, which its Location follows to completion.")
            .Produces<ExtractRunView>(StatusCodes.Status202Accepted, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{name}/runs", RunsAsync)
            .WithName("ListExtractRuns").WithSummary("The extract's runs, newest first (?before=&limit=).")
            .Produces<ExtractRunList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{name}/runs/{id}", RunViewAsync)
            .WithName("GetExtractRun").WithSummary("One run: state (queued, running, completed, failed, expired), rows and bytes so far, SHA-256 and ledger entry.")
            .Produces<ExtractRunView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{name}/runs/{id}/file", DownloadAsync)
            .WithName("DownloadExtract").WithSummary("The run's file, its SHA-256 in Repr-Digest (RFC 9530); the download is recorded in the ledger.")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson")
            .Produces(StatusCodes.Status200OK, contentType: "application/vnd.apache.parquet")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status410Gone);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var rows = await db.ExtractDefinitions.AsNoTracking().Where(d => d.Nmsc == nmsc).ToListAsync(ct);
        var views = rows.OrderBy(d => d.Name, StringComparer.Ordinal).Select(View).ToList();
        return Hal.Ok(new ExtractList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(ListPath(nmsc)),
            ["organisation"] = new(Paths.Organisation(nmsc)),
        }));
    }

    static async Task<IResult> PutAsync(string nmsc, string name, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!ExtractName().IsMatch(name))
            return Problems.Invalid("name", "extract-name", "The extract's name is 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<JsonObject>(http, ct);
        if (body.Error is not null) return body.Error;
        if (body.Value is null) return Problems.Invalid("body", "object", "The body is a JSON object defining the extract.");
        var (spec, violations) = ExtractSpec.Read(body.Value);
        if (spec is null) return Problems.Invalid(violations);
        var contexts = await db.SourceSystems.AsNoTracking().Where(s => s.Nmsc == nmsc).Select(s => s.Context).Distinct().ToListAsync(ct);
        violations.AddRange(spec.Contexts.Select((c, i) => (c, i)).Where(x => !contexts.Contains(x.c))
            .Select(x => new Violation($"contexts[{x.i}]", "unknown-context", $"Organisation '{nmsc}' has no source system in the context '{x.c}'.")));
        if (violations.Count > 0) return Problems.Invalid(violations);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.ExtractDefinitions.SingleOrDefaultAsync(d => d.Nmsc == nmsc && d.Name == name, ct);
        var created = row is null;
        var json = spec.ToJson();
        if (row is null)
        {
            if (await db.ExtractDefinitions.CountAsync(d => d.Nmsc == nmsc, ct) >= MaxExtractsPerOrganisation)
                return Problems.Conflict($"Organisation '{nmsc}' already has {MaxExtractsPerOrganisation} extracts, the most it may hold; delete one first.");
            row = new ExtractDefinition { Id = Guid.CreateVersion7(), Nmsc = nmsc, Name = name, Spec = json, CreatedAt = now };
            db.ExtractDefinitions.Add(row);
        }
        else if (row.Spec == json)
        {
            return Hal.Ok(View(row));
        }
        row.Spec = json;
        if (row.Schedule != spec.Schedule || row.NextRunAt is null) row.NextRunAt = spec.Schedule is null ? null : CronSchedule.Next(spec.Schedule, now);
        row.Schedule = spec.Schedule;
        row.UpdatedAt = now;
        ledger.Append(ExtractEvents.Configured, new { nmsc, name, definition = JsonNode.Parse(json) });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        http.HttpContext.Response.Headers.Location = ItemPath(nmsc, name);
        return created ? TypedResults.Json(View(row), Hal.Json, Hal.MediaType, StatusCodes.Status201Created) : Hal.Ok(View(row));
    }

    static async Task<IResult> GetAsync(string nmsc, string name, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var row = await db.ExtractDefinitions.AsNoTracking().SingleOrDefaultAsync(d => d.Nmsc == nmsc && d.Name == name, ct);
        return row is null ? NoExtract(nmsc, name) : Hal.Ok(View(row));
    }

    static async Task<IResult> DeleteAsync(string nmsc, string name, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.ExtractDefinitions.SingleOrDefaultAsync(d => d.Nmsc == nmsc && d.Name == name, ct);
        if (row is null) return NoExtract(nmsc, name);
        db.ExtractDefinitions.Remove(row);
        ledger.Append(ExtractEvents.Deleted, new { nmsc, name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> RunAsync(
        string nmsc, string name, ClaimsPrincipal user, HttpContext http, ConsentDb db, TimeProvider time, ExtractSignal signal, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var definition = await db.ExtractDefinitions.AsNoTracking().SingleOrDefaultAsync(d => d.Nmsc == nmsc && d.Name == name, ct);
        if (definition is null) return NoExtract(nmsc, name);
        var id = Guid.CreateVersion7();
        var run = ExtractRunner.NewRun(definition, $"{ExtractTriggers.OnDemand}:{id:N}", ExtractTriggers.OnDemand, Caller.From(user).Subject, time.Now());
        run.Id = id;
        db.ExtractRuns.Add(run);
        await db.SaveChangesAsync(ct);
        signal.Notify();
        http.Response.Headers.Location = RunPath(nmsc, name, run.Id);
        return TypedResults.Json(RunView(run), Hal.Json, Hal.MediaType, StatusCodes.Status202Accepted);
    }

    static async Task<IResult> RunsAsync(string nmsc, string name, string? before, string? limit, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.ExtractDefinitions.AnyAsync(d => d.Nmsc == nmsc && d.Name == name, ct)
            && !await db.ExtractRuns.AnyAsync(r => r.Nmsc == nmsc && r.Name == name, ct))
            return NoExtract(nmsc, name);
        var size = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > MaxPageSize))
            return Problems.Invalid("limit", "range", $"limit is a whole number from 1 to {MaxPageSize}.");
        DateTime? cursor = null;
        if (before is not null)
        {
            if (!long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) || ticks > DateTime.MaxValue.Ticks)
                return Problems.Invalid("before", "cursor", "before is the cursor of a next link.");
            cursor = new DateTime(ticks, DateTimeKind.Utc);
        }
        var query = db.ExtractRuns.AsNoTracking().Where(r => r.Nmsc == nmsc && r.Name == name);
        if (cursor is { } c) query = query.Where(r => r.RequestedAt < c);
        var rows = await query.OrderByDescending(r => r.RequestedAt).Take(size).ToListAsync(ct);
        if (rows.Count == size)
        {
            // Runs asked for in the same instant stay on one page, so that the cursor (an instant) skips none of them.
            var last = rows[^1].RequestedAt;
            var shown = rows.Select(r => r.Id).ToList();
            rows.AddRange(await db.ExtractRuns.AsNoTracking()
                .Where(r => r.Nmsc == nmsc && r.Name == name && r.RequestedAt == last && !shown.Contains(r.Id)).ToListAsync(ct));
        }
        var path = $"{ItemPath(nmsc, name)}/runs";
        var links = new Dictionary<string, HalLink>
        {
            ["self"] = new(cursor is null ? $"{path}?limit={size}" : $"{path}?before={cursor.Value.Ticks}&limit={size}"),
            ["extract"] = new(ItemPath(nmsc, name)),
        };
        if (rows.Count >= size) links["next"] = new($"{path}?before={rows[^1].RequestedAt.Ticks}&limit={size}");
        var views = rows.Select(RunView).ToList();
        return Hal.Ok(new ExtractRunList(views.Count, views, links));
    }

    static async Task<IResult> RunViewAsync(string nmsc, string name, string id, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var run = await FindRunAsync(db, nmsc, name, id, ct);
        return run is null ? NoRun(nmsc, name, id) : Hal.Ok(RunView(run));
    }

    static async Task<IResult> DownloadAsync(string nmsc, string name, string id, ClaimsPrincipal user, HttpContext http, ConsentDb db, LedgerWriter ledger,
        CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var run = await FindRunAsync(db, nmsc, name, id, ct);
        if (run is null) return NoRun(nmsc, name, id);
        return await SendAsync(http, db, ledger, run, Caller.From(user).Subject, ct);
    }

    static Task<ExtractRun?> FindRunAsync(ConsentDb db, string nmsc, string name, string id, CancellationToken ct) =>
        Guid.TryParse(id, out var runId)
            ? db.ExtractRuns.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId && r.Nmsc == nmsc && r.Name == name, ct)
            : Task.FromResult<ExtractRun?>(null);

    /// <summary>
    /// Streams a completed run's file chunk by chunk, after recording who downloaded it (<c>extract-downloaded</c>); 409 while
    /// the run is not complete, 410 once its file has expired.
    /// </summary>
    public static async Task<IResult> SendAsync(HttpContext http, ConsentDb db, LedgerWriter ledger, ExtractRun run, string downloadedBy, CancellationToken ct)
    {
        if (run.State == ExtractRunStates.Expired)
            return Problems.Problem(StatusCodes.Status410Gone, "The file has expired.",
                $"The file of run {run.Id} was deleted after the retention period; its SHA-256 stays in the ledger (entry {run.LedgerIndex}).", "gone");
        if (run.State != ExtractRunStates.Completed)
            return Problems.Conflict($"Run {run.Id} is {run.State}; its file can be downloaded once it is completed.");

        await using (var transaction = await ledger.BeginAsync(ct))
        {
            ledger.Append(ExtractEvents.Downloaded, new { runId = run.Id, nmsc = run.Nmsc, name = run.Name, sha256 = run.Sha256, downloadedBy });
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        var spec = ExtractSpec.FromJson(run.Spec);
        return await IssuedFile.SendAsync(http.Response, ExtractFormats.MediaType(spec.Format), run.Bytes, FileName(run, spec), run.Sha256, run.LedgerIndex!.Value,
            (sequence, token) => db.ExtractChunks.AsNoTracking()
                .Where(c => c.RunId == run.Id && c.Sequence == sequence).Select(c => c.Bytes).SingleOrDefaultAsync(token), ct, deflated: true);
    }

    /// <summary>e.g. extract-tgb-offers-email-20261203T060000Z.parquet.</summary>
    public static string FileName(ExtractRun run, ExtractSpec spec) =>
        $"extract-{run.Nmsc}-{run.Name}-{(run.CompletedAt ?? run.RequestedAt).ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.{spec.Format}";

    static string ListPath(string nmsc) => $"/admin/organisations/{Uri.EscapeDataString(nmsc)}/extracts";
    static string ItemPath(string nmsc, string name) => $"{ListPath(nmsc)}/{Uri.EscapeDataString(name)}";
    public static string RunPath(string nmsc, string name, Guid id) => $"{ItemPath(nmsc, name)}/runs/{id}";

    static ExtractView View(ExtractDefinition d) => new(
        d.Name, d.Nmsc, JsonNode.Parse(d.Spec)!.AsObject(), HubTime.Format(d.NextRunAt), HubTime.Format(d.CreatedAt)!, HubTime.Format(d.UpdatedAt)!,
        new Dictionary<string, HalLink>
        {
            ["self"] = new(ItemPath(d.Nmsc, d.Name)),
            ["run"] = new($"{ItemPath(d.Nmsc, d.Name)}:run"),
            ["runs"] = new($"{ItemPath(d.Nmsc, d.Name)}/runs"),
        });

    static ExtractRunView RunView(ExtractRun r)
    {
        var spec = ExtractSpec.FromJson(r.Spec);
        var links = new Dictionary<string, HalLink>
        {
            ["self"] = new(RunPath(r.Nmsc, r.Name, r.Id)),
            ["extract"] = new(ItemPath(r.Nmsc, r.Name)),
        };
        if (r.State == ExtractRunStates.Completed) links["file"] = new($"{RunPath(r.Nmsc, r.Name, r.Id)}/file");
        if (r.LedgerIndex is { } index) links["ledgerEntry"] = new($"/ledger/entries/{index}");
        return new ExtractRunView(r.Id, r.Name, r.Nmsc, r.Trigger, r.Slot, r.State, spec.Format, spec.Kind, r.Rows, r.Bytes,
            r.Sha256.Length > 0 ? r.Sha256 : null, r.Error, r.Attempts, r.RequestedBy, HubTime.Format(r.RequestedAt)!, HubTime.Format(r.StartedAt),
            HubTime.Format(r.CompletedAt), r.LedgerIndex, links);
    }

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");
    static IResult NoExtract(string nmsc, string name) => Problems.NotFound($"Organisation '{nmsc}' has no extract '{name}'.");
    static IResult NoRun(string nmsc, string name, string id) => Problems.NotFound($"Extract '{name}' of organisation '{nmsc}' has no run '{id}'.");
}
