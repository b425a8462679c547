namespace ConsentHub.Data;

/// <summary>
/// Runs a unit of work again when it lost a race another writer won: a unique key taken at the same moment, a deadlock
/// or a serialization failure (<see cref="DbErrors.IsRetryable"/>). Each attempt opens and commits its own transaction;
/// before the next one, everything the context tracked is forgotten, so the new attempt reads what the winner committed.
/// </summary>
public static class ConflictRetry
{
    /// <summary>Attempts in all; the last attempt's error reaches the caller.</summary>
    public const int MaxAttempts = 5;

    /// <param name="reset">Forgets what the unit of work staged outside the context (for example planned propagations).</param>
    public static async Task<T> RunAsync<T>(ConsentDb db, Func<Task<T>> work, Action? reset = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await work();
            }
            catch (Exception e) when (attempt < MaxAttempts && DbErrors.IsRetryable(e))
            {
                db.ChangeTracker.Clear();
                reset?.Invoke();
            }
        }
    }
}
