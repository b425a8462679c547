namespace ConsentHub.Hosting;

public static class HubTime
{
    /// <summary>
    /// Now, in UTC, cut to microseconds: PostgreSQL keeps microseconds and SQLite more, so every stored
    /// instant (and every hash over one) reads back identically on both.
    /// </summary>
    public static DateTime Now(this TimeProvider time) => Truncate(time.GetUtcNow().UtcDateTime);

    public static DateTime Truncate(DateTime utc) =>
        new(utc.Ticks - utc.Ticks % 10, DateTimeKind.Utc);

    /// <summary>The published format of seed 004 §7: UTC with milliseconds.</summary>
    public static string Format(DateTime utc) =>
        utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static string? Format(DateTime? utc) => utc is { } value ? Format(value) : null;
}
