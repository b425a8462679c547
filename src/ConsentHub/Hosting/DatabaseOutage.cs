using Microsoft.Data.Sqlite;
using Npgsql;

namespace ConsentHub.Hosting;

/// <summary>
/// Errors that say the database cannot be reached or cannot take work now, rather than that the request is wrong or
/// the hub is broken. They are answered 503 with Retry-After, as /health answers 503 meanwhile.
/// </summary>
public static class DatabaseOutage
{
    public const int RetryAfterSeconds = 5;

    /// <summary>A connection lost during the commit leaves its outcome unknown: the answer says how to retry safely.</summary>
    public const string Detail = "The database cannot be reached. A change is applied only if its transaction committed: send the same request " +
        "again after Retry-After (with the same Idempotency-Key, so that it is never applied twice).";

    public static bool Is(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // Connection refused or broken, a terminated backend, a server shutting down or refusing connections.
                case NpgsqlException { IsTransient: true }:
                // SQLITE_BUSY and SQLITE_LOCKED: another writer held the file past the timeout; SQLITE_CANTOPEN: the file is gone.
                case SqliteException { SqliteErrorCode: 5 or 6 or 14 }:
                    return true;
            }
        }
        return false;
    }
}
