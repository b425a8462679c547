using System.Net.Http.Headers;
using ConsentHub.Propagation;

namespace ConsentHub.Tests.Propagation;

public sealed class RetryScheduleTests
{
    // Just below 1, as Random.NextDouble can return.
    const double AlmostOne = 1 - 1e-9;

    static readonly Func<double> Lowest = () => 0;
    static readonly Func<double> Highest = () => AlmostOne;
    static readonly Func<double> Middle = () => 0.5;

    public static TheoryData<int, double> StandardWebhooksSchedule => new()
    {
        { 1, 5 },
        { 2, 5 * 60 },
        { 3, 30 * 60 },
        { 4, 2 * 3600 },
        { 5, 5 * 3600 },
        { 6, 10 * 3600 },
        { 7, 14 * 3600 },
        { 8, 20 * 3600 },
        { 9, 24 * 3600 },
    };

    [Theory]
    [MemberData(nameof(StandardWebhooksSchedule))]
    public void Each_retry_waits_its_step_within_twenty_percent(int failedAttempts, double stepSeconds)
    {
        var lowest = RetrySchedule.Next(failedAttempts, Lowest)!.Value.TotalSeconds;
        var middle = RetrySchedule.Next(failedAttempts, Middle)!.Value.TotalSeconds;
        var highest = RetrySchedule.Next(failedAttempts, Highest)!.Value.TotalSeconds;

        Assert.Equal(stepSeconds * 0.8, lowest, 6);
        Assert.Equal(stepSeconds, middle, 6);
        Assert.InRange(highest, stepSeconds * 1.2 - 0.001, stepSeconds * 1.2);
    }

    [Fact]
    public void Jitter_spreads_retries_of_messages_that_failed_together()
    {
        var random = new Random(4);
        var waits = Enumerable.Range(0, 100).Select(_ => RetrySchedule.Next(3, random.NextDouble)!.Value).ToList();

        Assert.All(waits, wait => Assert.InRange(wait, TimeSpan.FromMinutes(24), TimeSpan.FromMinutes(36)));
        Assert.True(waits.Distinct().Count() > 90);
    }

    [Fact]
    public void Schedule_is_used_up_after_nine_retries_and_the_message_is_parked()
    {
        Assert.NotNull(RetrySchedule.Next(9, Middle));
        Assert.Null(RetrySchedule.Next(10, Middle));
        Assert.Null(RetrySchedule.Next(250, Middle));

        Assert.Equal(TimeSpan.FromHours(24), RetrySchedule.Parked);
        Assert.Equal(RetrySchedule.Parked, RetrySchedule.Delay(10, 503, null, false, Highest));
        Assert.Equal(RetrySchedule.Parked, RetrySchedule.Delay(400, null, null, true, Lowest));
    }

    [Fact]
    public void Failed_attempts_start_at_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrySchedule.Next(0, Middle));
    }

    [Theory]
    [InlineData(429, false)]
    [InlineData(null, true)]
    public void After_a_429_or_a_timeout_the_wait_is_at_least_a_minute(int? statusCode, bool timedOut)
    {
        Assert.Equal(TimeSpan.FromSeconds(60), RetrySchedule.Delay(1, statusCode, null, timedOut, Highest));
        // Later steps are longer than a minute already and keep their own length.
        Assert.Equal(TimeSpan.FromMinutes(4), RetrySchedule.Delay(2, statusCode, null, timedOut, Lowest));
    }

    [Fact]
    public void Other_failures_follow_the_schedule()
    {
        Assert.Equal(TimeSpan.FromSeconds(4), RetrySchedule.Delay(1, 503, null, false, Lowest));
        Assert.Equal(TimeSpan.FromSeconds(4), RetrySchedule.Delay(1, null, null, false, Lowest));
    }

    [Fact]
    public void Retry_after_longer_than_the_schedule_is_honoured()
    {
        Assert.Equal(TimeSpan.FromMinutes(10), RetrySchedule.Delay(1, 503, TimeSpan.FromMinutes(10), false, Middle));
        Assert.Equal(TimeSpan.FromMinutes(10), RetrySchedule.Delay(1, 429, TimeSpan.FromMinutes(10), false, Middle));
    }

    [Fact]
    public void Retry_after_shorter_than_the_schedule_does_not_shorten_it()
    {
        Assert.Equal(TimeSpan.FromMinutes(30), RetrySchedule.Delay(3, 503, TimeSpan.FromSeconds(1), false, Middle));
        Assert.Equal(TimeSpan.FromSeconds(60), RetrySchedule.Delay(1, 429, TimeSpan.FromSeconds(2), false, Middle));
    }

    [Fact]
    public void Retry_after_is_capped_at_a_day()
    {
        Assert.Equal(TimeSpan.FromHours(24), RetrySchedule.Delay(1, 503, TimeSpan.FromDays(30), false, Middle));
        Assert.Equal(TimeSpan.FromHours(24), RetrySchedule.Delay(12, 429, TimeSpan.FromDays(30), true, Middle));
    }

    [Fact]
    public void Retry_after_header_is_read_in_both_its_forms()
    {
        var now = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(TimeSpan.FromSeconds(120), RetrySchedule.RetryAfter(RetryConditionHeaderValue.Parse("120"), now));
        Assert.Equal(TimeSpan.FromMinutes(5), RetrySchedule.RetryAfter(RetryConditionHeaderValue.Parse("Sun, 01 Mar 2026 12:05:00 GMT"), now));
        Assert.Equal(TimeSpan.Zero, RetrySchedule.RetryAfter(RetryConditionHeaderValue.Parse("Sun, 01 Mar 2026 11:00:00 GMT"), now));
        Assert.Null(RetrySchedule.RetryAfter(null, now));
    }
}
