using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace ConsentHub.Data;

/// <summary>Npgsql commands of one's own on a context's PostgreSQL connection, where EF Core's queries do not fit.</summary>
public static class ContextConnection
{
    /// <summary>
    /// Runs <paramref name="run"/> on the context's connection, in the unit of work's transaction when it has one (as EF
    /// Core's own queries run), opening the connection for the call when it is closed.
    /// </summary>
    public static async Task<T> RunAsync<T>(ConsentDb db, Func<NpgsqlConnection, NpgsqlTransaction?, Task<T>> run, CancellationToken ct)
    {
        var opened = db.Database.GetDbConnection().State != System.Data.ConnectionState.Open;
        if (opened) await db.Database.OpenConnectionAsync(ct);
        try
        {
            return await run((NpgsqlConnection)db.Database.GetDbConnection(),
                db.Database.CurrentTransaction?.GetDbTransaction() as NpgsqlTransaction);
        }
        finally
        {
            if (opened) await db.Database.CloseConnectionAsync();
        }
    }
}
