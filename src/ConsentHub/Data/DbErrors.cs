using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ConsentHub.Data;

public static class DbErrors
{
    /// <summary>
    /// True when a unit of work lost a race and is worth running again from the start: a unique key taken
    /// concurrently, or a PostgreSQL deadlock or serialization failure.
    /// </summary>
    public static bool IsRetryable(Exception exception) => exception switch
    {
        DbUpdateException update when IsUniqueViolation(update) => true,
        // Rows written with COPY (CopyInsert) fail with the server's error itself, not wrapped by EF Core.
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => true,
        _ => (exception as PostgresException ?? exception.InnerException as PostgresException)?.SqlState
            is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure,
    };

    /// <summary>True when a statement gave up waiting for a lock another transaction holds (PostgreSQL <c>lock_timeout</c>, 55P03).</summary>
    public static bool IsLockTimeout(Exception exception) =>
        (exception as PostgresException ?? exception.InnerException as PostgresException)?.SqlState == PostgresErrorCodes.LockNotAvailable;

    /// <summary>True when a write lost a race for a unique key (PostgreSQL 23505, SQLite constraint violation).</summary>
    public static bool IsUniqueViolation(DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == 19 && sqlite.SqliteExtendedErrorCode is 2067 or 1555,
        _ => false,
    };
}
