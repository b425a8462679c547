using System.Globalization;
using System.Text.RegularExpressions;
using ConsentHub.Hosting;

namespace ConsentHub.Consents;

/// <summary>ISO-8601 instants with an explicit offset, in the seed's <c>+0100</c> form or the <c>+01:00</c> form.</summary>
public static partial class Timestamps
{
    [GeneratedRegex(@"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)(Z|[+-]\d{2}:?\d{2})$")]
    private static partial Regex Shape();

    public const string Rule = "an ISO-8601 date-time with an offset, e.g. 2018-04-23T15:10:44.000+0100 or 2018-04-23T15:10:44Z";

    public static bool TryParse(string? text, out DateTime utc)
    {
        utc = default;
        if (text is null) return false;
        var match = Shape().Match(text);
        if (!match.Success) return false;
        var offset = match.Groups[2].Value;
        if (offset.Length == 5) offset = offset[..3] + ":" + offset[3..];
        if (!DateTimeOffset.TryParse(match.Groups[1].Value + offset, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
            return false;
        utc = HubTime.Truncate(value.UtcDateTime);
        return true;
    }

    public static DateTime Parse(string text) =>
        TryParse(text, out var utc) ? utc : throw new FormatException($"'{text}' is not {Rule}.");
}
