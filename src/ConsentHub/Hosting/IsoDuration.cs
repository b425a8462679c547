using System.Globalization;
using System.Text.RegularExpressions;

namespace ConsentHub.Hosting;

/// <summary>
/// An ISO 8601 duration with calendar parts (<c>P24M</c>, <c>P1Y6M</c>, <c>P30D</c>, <c>PT12H</c>, <c>P2W</c>), counted on the
/// calendar: <c>P1M</c> before 31 March is 28 or 29 February, not 30 days. No fractions and no negative durations.
/// </summary>
public sealed partial record IsoDuration(int Years, int Months, int Days, TimeSpan Time)
{
    /// <summary>Large enough for any retention or reminder period, small enough that no arithmetic overflows.</summary>
    const int MaxYears = 100;

    [GeneratedRegex(@"^P(?:(?<y>\d{1,4})Y)?(?:(?<mo>\d{1,5})M)?(?:(?<w>\d{1,5})W)?(?:(?<d>\d{1,6})D)?(?:T(?:(?<h>\d{1,7})H)?(?:(?<mi>\d{1,9})M)?(?:(?<s>\d{1,10})S)?)?$")]
    private static partial Regex Pattern();

    /// <summary>The duration, or null when <paramref name="text"/> is not one (or is zero, or longer than a hundred years).</summary>
    public static IsoDuration? Parse(string? text)
    {
        if (text is null || text.Length is < 3 or > 40 || text.EndsWith('T')) return null;
        var match = Pattern().Match(text);
        if (!match.Success) return null;
        long Part(string name) => match.Groups[name].Success ? long.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        var (years, months, weeks, days) = (Part("y"), Part("mo"), Part("w"), Part("d"));
        var time = TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("mi")) + TimeSpan.FromSeconds(Part("s"));
        var approximateDays = years * 366 + months * 31 + weeks * 7 + days + time.TotalDays;
        if (approximateDays <= 0 || approximateDays > MaxYears * 366) return null;
        return new IsoDuration((int)years, (int)months, (int)(weeks * 7 + days), time) { Text = text };
    }

    /// <summary>The text it was read from.</summary>
    public string Text { get; init; } = "";

    /// <summary>The instant this long before <paramref name="instant"/>, on the calendar.</summary>
    public DateTime Before(DateTime instant) => instant.AddYears(-Years).AddMonths(-Months).AddDays(-Days) - Time;

    /// <summary>The instant this long after <paramref name="instant"/>, on the calendar.</summary>
    public DateTime After(DateTime instant) => instant.AddYears(Years).AddMonths(Months).AddDays(Days) + Time;

    public override string ToString() => Text;
}
