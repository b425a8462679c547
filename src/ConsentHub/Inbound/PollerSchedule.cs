using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Xml;
using Cronos;

namespace ConsentHub.Inbound;

public sealed class PollerOptions
{
    public const string Section = "ConsentHub:Pollers";

    /// <summary>Poll on schedule in this instance. Any number of instances may do so on one database: a lease keeps each poller to one.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often this instance looks for pollers that are due.</summary>
    [Range(1, 3600)]
    public int SweepSeconds { get; set; } = 5;

    /// <summary>How long one GET may take before the run fails (and is retried).</summary>
    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>How long a run holds its poller; renewed after every page.</summary>
    [Range(10, 86_400)]
    public int LeaseSeconds { get; set; } = 300;

    /// <summary>Pages one run may fetch; a window that needs more fails (and is retried), so a paging loop cannot run for ever.</summary>
    [Range(1, 100_000)]
    public int MaxPages { get; set; } = 500;
}

/// <summary>When a poller runs: every ISO 8601 duration (<c>PT1M</c>) or at a cron expression's times (UTC).</summary>
public sealed class PollerInterval
{
    public static readonly TimeSpan Shortest = TimeSpan.FromSeconds(10);

    readonly TimeSpan? every;
    readonly CronExpression? cron;

    PollerInterval(TimeSpan? every, CronExpression? cron)
    {
        this.every = every;
        this.cron = cron;
    }

    /// <summary>The interval, or why <paramref name="text"/> is not one.</summary>
    public static (PollerInterval? Interval, string? Error) Parse(string text)
    {
        text = text.Trim();
        if (text.StartsWith('P'))
        {
            TimeSpan span;
            try { span = XmlConvert.ToTimeSpan(text); }
            catch (FormatException) { return (null, $"'{text}' is not an ISO 8601 duration such as PT1M or PT1H."); }
            catch (OverflowException) { return (null, $"'{text}' is too long a duration."); }
            if (span < Shortest) return (null, $"The interval is at least {XmlConvert.ToString(Shortest)}; got {text}.");
            return (new PollerInterval(span, null), null);
        }
        try
        {
            return (new PollerInterval(null, CronExpression.Parse(text, CronFormat.Standard)), null);
        }
        catch (CronFormatException)
        {
            return (null, $"'{text}' is neither an ISO 8601 duration (PT1M) nor a cron expression of five fields (*/5 * * * *).");
        }
    }

    /// <summary>The next run after <paramref name="now"/>; a duration counts from the run that was due at <paramref name="due"/>.</summary>
    public DateTime Next(DateTime due, DateTime now)
    {
        if (every is { } span)
        {
            var next = due + span;
            if (next > now) return next;
            // Behind by more than one interval (the hub was down, or the run outlasted its interval): the run that just
            // happened stood for the missed ones, so the next is the schedule's first time after now, not now again.
            return due + TimeSpan.FromTicks(span.Ticks * ((now - due).Ticks / span.Ticks + 1));
        }
        return cron!.GetNextOccurrence(DateTime.SpecifyKind(now, DateTimeKind.Utc)) ?? DateTime.MaxValue;
    }
}

/// <summary>How window bounds are written in the query: ISO 8601 (whole seconds, UTC), Unix seconds or milliseconds, or a pattern.</summary>
public static class PollerTimeFormats
{
    public const string Iso8601 = "iso8601";
    public const string Unix = "unix";
    public const string UnixMilliseconds = "unix-ms";
    public const int MaxPatternLength = 100;

    /// <summary>Null when <paramref name="format"/> can be used; otherwise why not.</summary>
    public static string? Refusal(string format)
    {
        if (format is Iso8601 or Unix or UnixMilliseconds) return null;
        if (format.Length is 0 or > MaxPatternLength) return $"timeFormat is iso8601, unix, unix-ms or a date pattern of at most {MaxPatternLength} characters.";
        try
        {
            var first = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
            var a = first.ToString(format, CultureInfo.InvariantCulture);
            var b = first.AddSeconds(1).ToString(format, CultureInfo.InvariantCulture);
            // A pattern that does not show seconds would send the same bound for different instants.
            return a == b ? $"The pattern '{format}' does not show seconds: windows would overlap." : null;
        }
        catch (FormatException)
        {
            return $"'{format}' is not a date pattern such as yyyy-MM-dd'T'HH:mm:ss'Z'.";
        }
    }

    /// <summary>The instant as the remote system reads it.</summary>
    public static string Format(DateTime utc, string? format) => format switch
    {
        null or Iso8601 => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        Unix => new DateTimeOffset(utc, TimeSpan.Zero).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        UnixMilliseconds => new DateTimeOffset(utc, TimeSpan.Zero).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        _ => utc.ToString(format, CultureInfo.InvariantCulture),
    };

    /// <summary>An instant cut to what the format shows: milliseconds for unix-ms, whole seconds otherwise.</summary>
    public static DateTime Truncate(DateTime utc, string? format)
    {
        var unit = format == UnixMilliseconds ? TimeSpan.TicksPerMillisecond : TimeSpan.TicksPerSecond;
        return new DateTime(utc.Ticks - utc.Ticks % unit, DateTimeKind.Utc);
    }
}
