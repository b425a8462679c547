using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptIn;

public sealed record OptInTypesView(
    string Nmsc, IReadOnlyDictionary<string, string> Types, bool IsDefault,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// Which hub category each opt-in type of an organisation stands for. An organisation that set none uses
/// <see cref="Default"/>, the seed's three types. <c>PUT</c> replaces the whole map.
/// </summary>
public static partial class OptInTypes
{
    public const int MaxTypeLength = 64;
    public const int MaxTypes = 20;

    /// <summary>The seed's three types: the newsletter is the hub's offers, product information its reminders, surveys are surveys.</summary>
    public static readonly IReadOnlyDictionary<string, string> Default = new Dictionary<string, string>
    {
        ["C0INFOTYPE_NEWSLETTER"] = "OFFERS",
        ["C0INFOTYPE_PRODUCTINFO"] = "REMINDERS",
        ["C0INFOTYPE_SURVEYS"] = "SURVEYS",
    };

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex TypeName();

    public static IEndpointRouteBuilder MapOptInTypes(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}").WithTags("Opt-in interface (seed 003)")
            .RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPut("/opt-in-types", PutAsync)
            .WithName("PutOptInTypes")
            .WithSummary("Map the organisation's opt-in types (C0INFOTYPE_…) to hub categories; replaces the whole map.")
            .Accepts<Dictionary<string, string>>("application/json")
            .Produces<OptInTypesView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/opt-in-types", GetAsync)
            .WithName("GetOptInTypes")
            .WithSummary("The organisation's opt-in types and their categories (the default map when none was set).")
            .Produces<OptInTypesView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    /// <summary>The organisation's map, type to category, in type order.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> OfAsync(ConsentDb db, string nmsc, CancellationToken ct)
    {
        var rows = await db.OptInTypes.AsNoTracking().Where(t => t.Nmsc == nmsc).ToListAsync(ct);
        return rows.Count == 0 ? Default : rows.OrderBy(r => r.Type, StringComparer.Ordinal).ToDictionary(r => r.Type, r => r.Category);
    }

    static async Task<IResult> PutAsync(string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        var body = await JsonBody.ReadAsync<JsonObject>(http, ct);
        if (body.Error is not null) return body.Error;
        var catalogue = await CategoryCatalogue.ReadAsync(db, nmsc, ct);
        var (types, violations) = Check(body.Value!, catalogue);
        if (violations.Count > 0) return Problems.Invalid(violations);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        await db.OptInTypes.Where(t => t.Nmsc == nmsc).ExecuteDeleteAsync(ct);
        db.OptInTypes.AddRange(types.Select(t => new OptInType { Nmsc = nmsc, Type = t.Key, Category = t.Value, UpdatedAt = now }));
        ledger.Append(LedgerEvents.OptInTypesConfigured, new { nmsc, types });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return Hal.Ok(View(nmsc, types, isDefault: false));
    }

    static async Task<IResult> GetAsync(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        var types = await OfAsync(db, nmsc, ct);
        return Hal.Ok(View(nmsc, types, ReferenceEquals(types, Default)));
    }

    /// <summary>
    /// The map's rules: 1 to <see cref="MaxTypes"/> types named with letters, digits and '_'; each to a category the
    /// organisation offers; no two types to overlapping categories, so every type reads back as itself.
    /// </summary>
    public static (SortedDictionary<string, string> Types, List<Violation> Violations) Check(JsonObject body, CategoryCatalogue catalogue)
    {
        var violations = new List<Violation>();
        var types = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (body.Count == 0) violations.Add(new("body", "required", "Map at least one opt-in type, like { \"C0INFOTYPE_NEWSLETTER\": \"OFFERS\" }."));
        if (body.Count > MaxTypes) violations.Add(new("body", "max-types", $"At most {MaxTypes} opt-in types; got {body.Count}."));
        var claimed = new Dictionary<string, string>();
        foreach (var (type, value) in body)
        {
            if (type.Length is 0 or > MaxTypeLength || !TypeName().IsMatch(type))
            {
                violations.Add(new(type, "type-name", $"An opt-in type is 1 to {MaxTypeLength} letters, digits or '_', like C0INFOTYPE_NEWSLETTER."));
                continue;
            }
            if (value?.GetValueKind() != JsonValueKind.String)
            {
                violations.Add(new(type, "json", $"{type} must map to a category code (a string)."));
                continue;
            }
            var category = value.GetValue<string>();
            if (catalogue.Violation(type, category) is { } refused)
            {
                violations.Add(refused);
                continue;
            }
            var overlap = Categories.PartsOf(category).Select(p => claimed.GetValueOrDefault(p)).FirstOrDefault(o => o is not null);
            if (overlap is not null)
            {
                violations.Add(new(type, "overlapping-categories", $"'{category}' overlaps the category of {overlap}: each type needs a category of its own."));
                continue;
            }
            foreach (var part in Categories.PartsOf(category)) claimed[part] = type;
            types[type] = category;
        }
        return (types, violations);
    }

    static OptInTypesView View(string nmsc, IReadOnlyDictionary<string, string> types, bool isDefault) => new(nmsc, types, isDefault,
        new Dictionary<string, HalLink>
        {
            ["self"] = new(Paths.Organisation(nmsc) + "/opt-in-types"),
            ["organisation"] = new(Paths.Organisation(nmsc)),
        });
}
