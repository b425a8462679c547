using System.Globalization;

namespace ConsentHub.Hosting;

/// <summary>Keyset pagination parameters: a cursor (exclusive) and a page size, both checked.</summary>
public static class Paging
{
    public static (long After, int Limit, IResult? Error) Read(string? after, string? limit, int defaultLimit, int maxLimit, string afterName = "after")
    {
        long cursor = -1;
        if (after is not null && (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out cursor)))
            return (0, 0, Problems.Invalid(afterName, "non-negative-integer", $"{afterName} must be a non-negative integer."));
        var size = defaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > maxLimit))
            return (0, 0, Problems.Invalid("limit", "range", $"limit must be an integer from 1 to {maxLimit}."));
        return (cursor, size, null);
    }

    /// <summary>
    /// The link to a page of <paramref name="path"/> (which may carry a query already). The first page, before any
    /// cursor, is named without one: the same URL the client would send for it, which the endpoint answers.
    /// </summary>
    public static HalLink Link(string path, long after, int limit, string afterName = "after")
    {
        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return new(after < 0
            ? $"{path}{separator}limit={limit.ToString(CultureInfo.InvariantCulture)}"
            : $"{path}{separator}{afterName}={after.ToString(CultureInfo.InvariantCulture)}&limit={limit.ToString(CultureInfo.InvariantCulture)}");
    }
}
