using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ConsentHub.Data;

/// <summary>
/// Reading rows for update, the same way on both providers. On PostgreSQL the query gets <c>FOR UPDATE</c>, so the rows
/// stay locked until the transaction ends and concurrent writers of them wait; on SQLite nothing is added, because a
/// transaction the hub begins holds the database's one write lock from its first statement (BEGIN IMMEDIATE).
/// </summary>
public static class RowLocks
{
    /// <summary>The comment EF Core puts first in the command (<c>TagWith</c>); <see cref="ForUpdateInterceptor"/> looks for it.</summary>
    internal const string Tag = "consenthub: for update";

    /// <summary>
    /// The query, reading its rows for update. A query of one table, as EF Core writes it (a join would lock the rows
    /// of every table in it); limits and ordering are fine.
    /// </summary>
    public static IQueryable<T> ForUpdate<T>(this IQueryable<T> query, ConsentDb db) =>
        db.Provider == DatabaseProvider.Postgres ? query.TagWith(Tag) : query;
}

/// <summary>Appends <c>FOR UPDATE</c> to the PostgreSQL commands <see cref="RowLocks.ForUpdate"/> tagged.</summary>
sealed class ForUpdateInterceptor : DbCommandInterceptor
{
    public static readonly ForUpdateInterceptor Instance = new();

    static readonly string Marker = "-- " + RowLocks.Tag;

    static void Lock(DbCommand command)
    {
        if (command.CommandText.StartsWith(Marker, StringComparison.Ordinal)) command.CommandText += "\nFOR UPDATE";
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Lock(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Lock(command);
        return ValueTask.FromResult(result);
    }
}
