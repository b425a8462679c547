using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tenancy;

/// <summary>The consent categories of seed 004 §8: four canonical ones and eleven combinations of them.</summary>
public static class Categories
{
    public static readonly string[] Canonical = ["REMINDERS", "OFFERS", "SURVEYS", "EVENTS"];

    public static readonly string[] Combined =
    [
        "EVENTS_SURVEYS", "OFFERS_SURVEYS", "OFFERS_EVENTS", "REMINDERS_SURVEYS", "REMINDERS_EVENTS",
        "REMINDERS_OFFERS", "OFFERS_EVENTS_SURVEYS", "REMINDERS_EVENTS_SURVEYS", "REMINDERS_OFFERS_SURVEYS",
        "REMINDERS_OFFERS_EVENTS", "REMINDERS_OFFERS_EVENTS_SURVEYS",
    ];

    public const int MaxPerRequest = 4;

    static readonly FrozenDictionary<string, string[]> Parts =
        Canonical.Select(c => (c, new[] { c }))
            .Concat(Combined.Select(c => (c, c.Split('_'))))
            .ToFrozenDictionary(p => p.c, p => p.Item2);

    public static bool IsBuiltIn(string code) => Parts.ContainsKey(code);

    public static bool IsCombined(string code) => code.Contains('_') && Parts.ContainsKey(code);

    /// <summary>The canonical categories a code stands for; a local category stands for itself.</summary>
    public static IReadOnlyList<string> PartsOf(string code) => Parts.TryGetValue(code, out var parts) ? parts : [code];

    public static readonly string[] Channels = ["EMAIL", "SMS", "PHONE", "MAIL"];
}

/// <summary>What one organisation offers: the built-in categories it has not hidden, plus its own.</summary>
public sealed record CategoryCatalogue(IReadOnlySet<string> Hidden, IReadOnlyDictionary<string, string?> Local)
{
    public static readonly CategoryCatalogue Default = new(new HashSet<string>(), new Dictionary<string, string?>());

    /// <summary>Accepts every code: for re-reading stored changes, which passed the catalogue of their day.</summary>
    public static readonly CategoryCatalogue Replay = new(new HashSet<string>(), new Dictionary<string, string?>()) { AcceptsAny = true };

    /// <summary>The catalogue of replays: stored changes passed the rules of their day.</summary>
    public bool AcceptsAny { get; private init; }

    /// <summary>The organisation's catalogue as stored now (<see cref="TenancyCache"/> keeps it for the write path).</summary>
    public static async Task<CategoryCatalogue> ReadAsync(Data.ConsentDb db, string nmsc, CancellationToken ct) =>
        From(await db.OrganisationCategories.AsNoTracking().Where(c => c.Nmsc == nmsc).ToListAsync(ct));

    public static CategoryCatalogue From(IEnumerable<OrganisationCategory> rows)
    {
        var list = rows.ToList();
        return new(
            list.Where(r => r.Kind == CategoryKind.Hidden).Select(r => r.Code).ToHashSet(),
            list.Where(r => r.Kind == CategoryKind.Local).ToDictionary(r => r.Code, r => r.Description));
    }

    /// <summary>Null when the code may be used; otherwise the rule it breaks.</summary>
    public string? Refusal(string code)
    {
        if (AcceptsAny || Local.ContainsKey(code)) return null;
        if (!Categories.IsBuiltIn(code)) return "unknown-category";
        if (Hidden.Contains(code) || Categories.PartsOf(code).Any(Hidden.Contains)) return "hidden-category";
        return null;
    }

    /// <summary>The violation of <paramref name="field"/> naming <paramref name="code"/>, or null when the code may be used.</summary>
    public Hosting.Violation? Violation(string field, string code) => Refusal(code) switch
    {
        null => null,
        "hidden-category" => new(field, "hidden-category", $"'{code}' is hidden for this organisation."),
        var rule => new(field, rule, $"'{code}' is not a canonical, combined or local consent category of this organisation."),
    };

    public IEnumerable<string> Available =>
        Categories.Canonical.Concat(Categories.Combined).Where(c => Refusal(c) is null).Concat(Local.Keys);
}
