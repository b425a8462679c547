namespace ConsentHub.Tests.Infrastructure;

/// <summary>Asking again until the awaited answer comes, for what another instance or a worker does moments later.</summary>
public static class Poll
{
    /// <summary>
    /// Calls <paramref name="ask"/> until <paramref name="done"/> holds for its answer or <paramref name="within"/> has
    /// passed, and returns the last answer for the caller's own assertions.
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> ask, Func<T, bool> done, TimeSpan within, int intervalMilliseconds = 20)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var answer = await ask();
            if (done(answer) || DateTime.UtcNow >= deadline) return answer;
            await Task.Delay(intervalMilliseconds);
        }
    }
}
