using Cronos;

namespace ConsentHub.Hosting;

/// <summary>Standard five-field cron expressions in UTC, as extract and reminder schedules are written.</summary>
public static class CronSchedule
{
    public const string Rule = "a standard cron expression of five fields, in UTC";

    public static bool IsValid(string text)
    {
        if (text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 5) return false;
        try
        {
            CronExpression.Parse(text.Trim(), CronFormat.Standard);
            return true;
        }
        catch (CronFormatException)
        {
            return false;
        }
    }

    /// <summary>The first slot after <paramref name="now"/>: a hub that was down runs a missed slot once, not every one it missed.</summary>
    public static DateTime? Next(string schedule, DateTime now) =>
        CronExpression.Parse(schedule.Trim(), CronFormat.Standard).GetNextOccurrence(DateTime.SpecifyKind(now, DateTimeKind.Utc));
}
