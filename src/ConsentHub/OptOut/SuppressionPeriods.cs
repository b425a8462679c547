namespace ConsentHub.OptOut;

/// <summary>The periods of suppression files, in UTC: a day from 00:00, an ISO week from Monday 00:00, a month from the 1st 00:00.</summary>
public static class SuppressionPeriods
{
    public static (DateTime Start, DateTime End) Containing(string frequency, DateTime utc)
    {
        var day = new DateTime(utc.Year, utc.Month, utc.Day, 0, 0, 0, DateTimeKind.Utc);
        return frequency switch
        {
            SuppressionFrequencies.Daily => (day, day.AddDays(1)),
            SuppressionFrequencies.Weekly => Week(day),
            SuppressionFrequencies.Monthly => Month(day),
            _ => throw new ArgumentOutOfRangeException(nameof(frequency), frequency, "not a scheduled frequency"),
        };
    }

    static (DateTime, DateTime) Week(DateTime day)
    {
        // DayOfWeek counts from Sunday; ISO weeks start on Monday.
        var monday = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
        return (monday, monday.AddDays(7));
    }

    static (DateTime, DateTime) Month(DateTime day)
    {
        var first = new DateTime(day.Year, day.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        return (first, first.AddMonths(1));
    }
}
