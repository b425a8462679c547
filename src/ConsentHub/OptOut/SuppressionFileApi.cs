using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.OptOut;

public sealed record SuppressionFileSettingsView(
    string Nmsc, string Frequency, IReadOnlyList<string> Formats, bool Hashed, bool Industry, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record SuppressionFileView(
    Guid Id, string Nmsc, string Frequency, string PeriodStart, string PeriodEnd, string CutOff, string? DeltaFrom, string Kind, string Format,
    bool Hashed, bool Industry, int Lines, long Size, string Sha256, string CreatedAt, long LedgerIndex,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record SuppressionFilePage(int Count, IReadOnlyList<SuppressionFileView> Files,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// Suppression files (issue 15 §4): the admin's settings per organisation and generate-now; the list and download for the
/// admin, the organisation's DPOs and its source systems (bearer tokens with scope read). Another organisation's files are
/// answered 404, as files that do not exist.
/// </summary>
public static class SuppressionFileApi
{
    public const string ReadPolicy = "suppression-files";
    const int DefaultPageSize = 50, MaxPageSize = 500;

    public static IServiceCollection AddSuppressionFilePolicy(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder().AddPolicy(ReadPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c =>
            (c.User.FindFirstValue(HubClaims.Role) is { } role && (role is Roles.Admin or Roles.SourceSystem || Roles.IsDpo(role)))
            && c.User.HasScope(Scopes.Read)));
        return services;
    }

    public static IEndpointRouteBuilder MapSuppressionFiles(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}").WithTags("Suppression files").RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPut("/suppression-files", PutSettingsAsync)
            .WithName("PutSuppressionFileSettings")
            .WithSummary("How often (daily, weekly, monthly) the organisation receives suppression files, in which formats, hashed or clear, with the industry pool or not.")
            .Accepts<JsonObject>("application/json")
            .Produces<SuppressionFileSettingsView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/suppression-files", GetSettingsAsync)
            .WithName("GetSuppressionFileSettings").WithSummary("The organisation's suppression file settings.")
            .Produces<SuppressionFileSettingsView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/suppression-files", DeleteSettingsAsync)
            .WithName("DeleteSuppressionFileSettings").WithSummary("Stops issuing suppression files; the files issued stay.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/suppression-files:generate", GenerateAsync)
            .WithName("GenerateSuppressionFiles").WithSummary("Issues a full file and a delta per format now, outside the schedule.")
            .Produces<SuppressionFilePage>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var files = app.MapGroup("/nmscs/{nmsc}").WithTags("Suppression files").RequireAuthorization(ReadPolicy);
        files.MapGet("/suppression-files", ListAsync)
            .WithName("ListSuppressionFiles").WithSummary("The organisation's issued suppression files, newest first (?after=ledgerIndex&limit=).")
            .Produces<SuppressionFilePage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        files.MapGet("/suppression-files/{id}", DownloadAsync)
            .WithName("DownloadSuppressionFile").WithSummary("One suppression file (text/csv or application/json), its SHA-256 in Repr-Digest (RFC 9530).")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    // ---- settings ---------------------------------------------------------------------------------

    static async Task<IResult> PutSettingsAsync(string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var body = await JsonBody.ReadAsync<JsonObject>(http, ct);
        if (body.Error is not null) return body.Error;
        var (input, violations) = Read(body.Value!);
        if (input is null) return Problems.Invalid(violations);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return UnknownOrganisation(nmsc);
        if (input.Industry && !await IndustryPool.IsMemberAsync(db, nmsc, ct))
            return Problems.Conflict($"industry: the organisation '{nmsc}' has no data sharing agreement in force, so its files cannot include the industry pool. Sign one first (PUT /admin/organisations/{nmsc}/data-sharing).");

        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.SuppressionFileSettings.SingleOrDefaultAsync(s => s.Nmsc == nmsc, ct);
        if (row is null)
        {
            row = new SuppressionFileSettings { Nmsc = nmsc, Frequency = input.Frequency, Formats = input.Formats };
            db.SuppressionFileSettings.Add(row);
        }
        else if (row.Frequency == input.Frequency && row.Formats == input.Formats && row.Hashed == input.Hashed && row.Industry == input.Industry)
        {
            return Hal.Ok(View(row));
        }
        row.Frequency = input.Frequency;
        row.Formats = input.Formats;
        row.Hashed = input.Hashed;
        row.Industry = input.Industry;
        row.UpdatedAt = time.Now();
        ledger.Append(SuppressionFileEvents.Configured, new
        {
            nmsc, frequency = row.Frequency, formats = row.FormatList, hashed = row.Hashed, industry = row.Industry,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return Hal.Ok(View(row));
    }

    sealed record SettingsInput(string Frequency, string Formats, bool Hashed, bool Industry);

    static (SettingsInput?, List<Violation>) Read(JsonObject body)
    {
        var violations = new List<Violation>();
        foreach (var (name, _) in body)
        {
            if (name is not ("frequency" or "formats" or "hashed" or "industry"))
                violations.Add(new Violation(name, "unknown-member", $"{name} is not a setting of suppression files (frequency, formats, hashed, industry)."));
        }

        string? frequency = null;
        if (body["frequency"] is JsonValue f && f.GetValueKind() == JsonValueKind.String && SuppressionFrequencies.IsScheduled(f.GetValue<string>()))
            frequency = f.GetValue<string>();
        else
            violations.Add(new Violation("frequency", "one-of", "frequency must be \"daily\", \"weekly\" or \"monthly\"."));

        var formats = new List<string>();
        if (body["formats"] is JsonArray array && array.Count > 0)
        {
            foreach (var item in array)
            {
                if (item is JsonValue v && v.GetValueKind() == JsonValueKind.String && SuppressionFileFormats.All.Contains(v.GetValue<string>())
                    && !formats.Contains(v.GetValue<string>()))
                    formats.Add(v.GetValue<string>());
                else
                {
                    violations.Add(new Violation("formats", "one-of", "formats must list \"csv\", \"json\" or both, each once."));
                    break;
                }
            }
        }
        else
        {
            violations.Add(new Violation("formats", "required", "formats must be a non-empty array of \"csv\" and/or \"json\"."));
        }

        var hashed = Flag(body, "hashed", violations);
        var industry = Flag(body, "industry", violations);
        if (violations.Count > 0) return (null, violations);
        var ordered = string.Join(',', SuppressionFileFormats.All.Where(formats.Contains));
        return (new SettingsInput(frequency!, ordered, hashed, industry), violations);
    }

    static bool Flag(JsonObject body, string name, List<Violation> violations)
    {
        if (!body.TryGetPropertyValue(name, out var node) || node is null) return false;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        violations.Add(new Violation(name, "boolean", $"{name} must be true or false."));
        return false;
    }

    static async Task<IResult> GetSettingsAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return UnknownOrganisation(nmsc);
        var row = await db.SuppressionFileSettings.AsNoTracking().SingleOrDefaultAsync(s => s.Nmsc == nmsc, ct);
        return row is null ? NotConfigured(nmsc) : Hal.Ok(View(row));
    }

    static async Task<IResult> DeleteSettingsAsync(string nmsc, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return UnknownOrganisation(nmsc);
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.SuppressionFileSettings.SingleOrDefaultAsync(s => s.Nmsc == nmsc, ct);
        if (row is null) return NotConfigured(nmsc);
        db.SuppressionFileSettings.Remove(row);
        ledger.Append(SuppressionFileEvents.Configured, new { nmsc, frequency = (string?)null, stopped = true });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> GenerateAsync(string nmsc, ConsentDb db, SuppressionFileGenerator generator, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return UnknownOrganisation(nmsc);
        var settings = await db.SuppressionFileSettings.AsNoTracking().SingleOrDefaultAsync(s => s.Nmsc == nmsc, ct);
        if (settings is null)
            return Problems.Conflict($"The organisation '{nmsc}' has no suppression file settings: PUT /admin/organisations/{nmsc}/suppression-files first.");
        var files = await generator.GenerateNowAsync(settings, ct);
        var views = files.Select(View).ToList();
        var list = $"/nmscs/{Uri.EscapeDataString(nmsc)}/suppression-files";
        return TypedResults.Json(new SuppressionFilePage(views.Count, views, new Dictionary<string, HalLink> { ["files"] = new(list) }),
            Hal.Json, Hal.MediaType, StatusCodes.Status201Created);
    }

    static SuppressionFileSettingsView View(SuppressionFileSettings row) => new(
        row.Nmsc, row.Frequency, row.FormatList, row.Hashed, row.Industry, HubTime.Format(row.UpdatedAt),
        new Dictionary<string, HalLink>
        {
            ["self"] = new($"/admin/organisations/{Uri.EscapeDataString(row.Nmsc)}/suppression-files"),
            ["files"] = new($"/nmscs/{Uri.EscapeDataString(row.Nmsc)}/suppression-files"),
        });

    // ---- list and download ------------------------------------------------------------------------

    /// <summary>Whether the caller may read the organisation's files: the admin, its DPOs, its source systems. False also when it does not exist.</summary>
    public static async Task<bool> MayReadAsync(ConsentDb db, Caller caller, string nmsc, CancellationToken ct) =>
        Names.IsTenantName(nmsc) && (caller.Role == Roles.SourceSystem
            ? caller.Nmsc == nmsc
            : await OrganisationAccess.MayActForAsync(db, caller, nmsc, ct));

    static async Task<IResult> ListAsync(string nmsc, string? after, string? limit, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await MayReadAsync(db, Caller.From(user), nmsc, ct)) return UnknownOrganisation(nmsc);
        var (cursor, size, error) = Paging.Read(after, limit, DefaultPageSize, MaxPageSize);
        if (error is not null) return error;
        var query = db.SuppressionFiles.AsNoTracking().Where(f => f.Nmsc == nmsc && f.LedgerIndex != null);
        if (cursor >= 0) query = query.Where(f => f.LedgerIndex < cursor);
        var rows = await query.OrderByDescending(f => f.LedgerIndex).Take(size).ToListAsync(ct);
        var path = $"/nmscs/{Uri.EscapeDataString(nmsc)}/suppression-files";
        var links = new Dictionary<string, HalLink> { ["self"] = Paging.Link(path, cursor, size) };
        if (rows.Count == size) links["next"] = Paging.Link(path, rows[^1].LedgerIndex!.Value, size);
        var views = rows.Select(View).ToList();
        return Hal.Ok(new SuppressionFilePage(views.Count, views, links));
    }

    static async Task<IResult> DownloadAsync(string nmsc, string id, ClaimsPrincipal user, HttpContext http, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await MayReadAsync(db, Caller.From(user), nmsc, ct)) return UnknownOrganisation(nmsc);
        return await SendAsync(http, db, nmsc, id, ct);
    }

    /// <summary>Streams an issued file of the organisation, chunk by chunk; 404 for a file that is not the organisation's or not issued.</summary>
    public static async Task<IResult> SendAsync(HttpContext http, ConsentDb db, string nmsc, string id, CancellationToken ct)
    {
        var file = Guid.TryParse(id, out var fileId)
            ? await db.SuppressionFiles.AsNoTracking().SingleOrDefaultAsync(f => f.Id == fileId && f.Nmsc == nmsc && f.LedgerIndex != null, ct)
            : null;
        if (file is null) return Problems.NotFound($"No suppression file '{id}' of organisation '{nmsc}'.");

        return await IssuedFile.SendAsync(http.Response, SuppressionFileFormats.MediaType(file.Format), file.Size, FileName(file), file.Sha256,
            file.LedgerIndex!.Value,
            (sequence, token) => db.SuppressionFileChunks.AsNoTracking()
                .Where(c => c.FileId == file.Id && c.Sequence == sequence).Select(c => c.Bytes).SingleOrDefaultAsync(token), ct);
    }

    /// <summary>e.g. suppression-tgb-daily-2026-06-01-full.csv, or suppression-tgb-on-demand-20260601T101500Z-delta.json.</summary>
    public static string FileName(SuppressionFile file)
    {
        var when = file.Frequency == SuppressionFrequencies.OnDemand
            ? file.CutOff.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture)
            : file.PeriodStart.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        return $"suppression-{file.Nmsc}-{file.Frequency}-{when}-{file.Kind}{(file.Hashed ? "-hashed" : "")}.{file.Format}";
    }

    public static string DownloadPath(SuppressionFile file) => $"/nmscs/{Uri.EscapeDataString(file.Nmsc)}/suppression-files/{file.Id}";

    static SuppressionFileView View(SuppressionFile f) => new(
        f.Id, f.Nmsc, f.Frequency, HubTime.Format(f.PeriodStart), HubTime.Format(f.PeriodEnd), HubTime.Format(f.CutOff), HubTime.Format(f.DeltaFrom),
        f.Kind, f.Format, f.Hashed, f.Industry, f.Lines, f.Size, f.Sha256, HubTime.Format(f.CreatedAt) ?? "", f.LedgerIndex ?? 0,
        new Dictionary<string, HalLink>
        {
            ["self"] = new(DownloadPath(f)),
            ["ledgerEntry"] = new($"/ledger/entries/{f.LedgerIndex}"),
        });

    static IResult UnknownOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");

    static IResult NotConfigured(string nmsc) => Problems.NotFound($"The organisation '{nmsc}' has no suppression file settings.");
}
