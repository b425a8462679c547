using System.Text.RegularExpressions;

namespace ConsentHub.Tenancy;

/// <summary>The shapes of the names that appear in routes: nmsc, context, source system, customer id.</summary>
public static partial class Names
{
    public const int MaxNameLength = 64;
    public const int MaxCategoryCodeLength = 40;
    public const int MaxSourceCustomerIdLength = 200;

    // nmsc and context are case-insensitive identifiers; they are stored lower-case.
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex TenantName();

    // Source system names must match the Consumer Domain exactly, so their case is kept.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")]
    private static partial Regex SourceSystemName();

    public static string Normalise(string value) => value.Trim().ToLowerInvariant();

    public static bool IsTenantName(string value) => TenantName().IsMatch(value);

    public static bool IsSourceSystemName(string value) => SourceSystemName().IsMatch(value) && value == value.Trim();

    public static bool IsSourceCustomerId(string value) =>
        value.Length is > 0 and <= MaxSourceCustomerIdLength && !value.Any(char.IsControl) && value == value.Trim();

    public const string TenantNameRule = "1 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit";
    public const string SourceSystemNameRule = "1 to 64 characters: letters, digits, '.', '_', '-' or space, starting with a letter or digit";
}
