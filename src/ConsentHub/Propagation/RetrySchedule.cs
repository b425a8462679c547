using System.Net.Http.Headers;

namespace ConsentHub.Propagation;

/// <summary>
/// When to try a webhook call again: the Standard Webhooks schedule, each step with ±20% jitter so that the retries
/// of many messages failing together do not arrive together. After the schedule, a message is parked and retried
/// daily, never dropped (seed FAQ 11).
/// </summary>
public static class RetrySchedule
{
    /// <summary>The wait before retry n (index n − 1), counted from the failed attempt before it.</summary>
    public static IReadOnlyList<TimeSpan> Steps { get; } =
    [
        TimeSpan.FromSeconds(5),
        TimeSpan.FromMinutes(5),
        TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(2),
        TimeSpan.FromHours(5),
        TimeSpan.FromHours(10),
        TimeSpan.FromHours(14),
        TimeSpan.FromHours(20),
        TimeSpan.FromHours(24),
    ];

    public const double Jitter = 0.2;

    /// <summary>How often a parked message is tried again.</summary>
    public static TimeSpan Parked => TimeSpan.FromHours(24);

    /// <summary>
    /// When a destination answers 2xx, its messages waiting for a retry are due at once, unless they were tried within
    /// this time: a message that fails on its own is then retried at most this often, not at every delivery.
    /// </summary>
    public static TimeSpan ReleasedAgainAfter => TimeSpan.FromMinutes(5);

    /// <summary>The longest a receiver's Retry-After is honoured for; beyond it the message waits no longer than a parked one.</summary>
    public static TimeSpan MaxRetryAfter => TimeSpan.FromHours(24);

    /// <summary>The least wait after a 429 or a timeout: the receiver is overloaded, five seconds would not help it.</summary>
    public static TimeSpan MinAfterOverload => TimeSpan.FromSeconds(60);

    /// <summary>
    /// The wait after <paramref name="failedAttempts"/> failed attempts (1 = the first call failed), or null when the
    /// schedule is used up. <paramref name="random"/> returns a number in [0, 1), as <see cref="Random.NextDouble"/>.
    /// </summary>
    public static TimeSpan? Next(int failedAttempts, Func<double> random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        ArgumentNullException.ThrowIfNull(random);
        if (failedAttempts > Steps.Count)
            return null;
        var unit = Math.Clamp(random(), 0, 1);
        return Steps[failedAttempts - 1] * (1 - Jitter + 2 * Jitter * unit);
    }

    /// <summary>
    /// The wait after a failed attempt, all rules together: the schedule (or <see cref="Parked"/> once it is used up);
    /// a longer Retry-After is honoured, up to <see cref="MaxRetryAfter"/>; a 429 or a timeout waits at least
    /// <see cref="MinAfterOverload"/>. A shorter Retry-After does not shorten the schedule, which protects the receiver.
    /// </summary>
    public static TimeSpan Delay(int failedAttempts, int? statusCode, TimeSpan? retryAfter, bool timedOut, Func<double> random)
    {
        var delay = Next(failedAttempts, random) ?? Parked;
        if (retryAfter is { } asked && asked > delay)
            delay = asked < MaxRetryAfter ? asked : MaxRetryAfter;
        if ((statusCode == 429 || timedOut) && delay < MinAfterOverload)
            delay = MinAfterOverload;
        return delay;
    }

    /// <summary>The wait a Retry-After header asks for, in either of its forms (seconds or an HTTP date), or null.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header?.Delta is { } delta)
            return delta;
        if (header?.Date is { } date)
            return date > now ? date - now : TimeSpan.Zero;
        return null;
    }
}
