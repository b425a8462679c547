using System.Text.RegularExpressions;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Admin;

public static partial class CategoryRules
{
    [GeneratedRegex("^[A-Z][A-Z0-9_]{1,39}$")]
    private static partial Regex LocalCode();

    public const int MaxLocal = 50;

    public static List<Violation> Check(List<string> hidden, List<LocalCategoryInput> local)
    {
        var v = new List<Violation>();
        for (var i = 0; i < hidden.Count; i++)
            if (hidden[i] is null || !Categories.IsBuiltIn(hidden[i]))
                v.Add(new($"hidden[{i}]", "unknown-category", $"'{hidden[i]}' is not a canonical or combined category; only those can be hidden."));
        if (local.Count > MaxLocal)
            v.Add(new("local", "max-items", $"At most {MaxLocal} local categories."));
        var seen = new HashSet<string>();
        for (var i = 0; i < local.Count; i++)
        {
            var code = local[i]?.Code;
            if (code is null || !LocalCode().IsMatch(code))
                v.Add(new($"local[{i}].code", "category-code", "code must be 2 to 40 characters: upper-case letters, digits or '_', starting with a letter."));
            else if (Categories.IsBuiltIn(code))
                v.Add(new($"local[{i}].code", "builtin-category", $"'{code}' is already a canonical or combined category."));
            else if (!seen.Add(code))
                v.Add(new($"local[{i}].code", "duplicate-category", $"'{code}' appears more than once."));
            if (local[i]?.Description is { Length: > 500 })
                v.Add(new($"local[{i}].description", "max-length", "description may be at most 500 characters."));
        }
        return v;
    }
}
