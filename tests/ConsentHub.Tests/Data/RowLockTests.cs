using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ConsentHub.Tests.Data;

/// <summary><see cref="RowLocks.ForUpdate"/> really locks on PostgreSQL, and reads the same rows on both providers.</summary>
public sealed class RowLockTests
{
    [PostgresOnly]
    public async Task A_row_read_for_update_stays_locked_until_the_transaction_ends()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres);
        using var scope = app.Scope();
        var db = app.Db(scope);
        await using var other = new NpgsqlConnection(app.ConnectionString);
        await other.OpenAsync();
        async Task<string?> TryLockAsync()
        {
            await using var command = new NpgsqlCommand("""SELECT "NextIndex" FROM ledger_head WHERE "Id" = 1 FOR UPDATE NOWAIT""", other);
            try
            {
                await command.ExecuteScalarAsync();
                return null;
            }
            catch (PostgresException e)
            {
                return e.SqlState;
            }
        }

        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            var head = await db.LedgerHeads.Where(h => h.Id == LedgerHead.SingletonId).ForUpdate(db).SingleAsync();
            Assert.True(head.NextIndex > 0);
            // Another connection cannot take the row while this transaction holds it.
            Assert.Equal(PostgresErrorCodes.LockNotAvailable, await TryLockAsync());
            await transaction.CommitAsync();
        }
        Assert.Null(await TryLockAsync());

        // A plain read takes no lock.
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await db.LedgerHeads.Where(h => h.Id == LedgerHead.SingletonId).SingleAsync();
            Assert.Null(await TryLockAsync());
            await transaction.RollbackAsync();
        }
    }

    [ProviderTheory, Providers]
    public async Task Ordered_and_projected_queries_read_the_same_rows_for_update_as_without(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var system = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using (var client = await app.AsAsync(system))
        {
            foreach (var id in new[] { "c-3", "c-1", "c-2" })
                await HubApp.AppliedAsync(client, system, id, Seed.Consent("OFFERS", true));
        }
        using var scope = app.Scope();
        var db = app.Db(scope);
        string[] wanted = ["c-1", "c-2", "c-3", "c-9"];
        await using var transaction = await db.Database.BeginTransactionAsync();
        var plain = await db.Customers.Where(c => c.SourceSystemId == system.Id && wanted.Contains(c.SourceCustomerId)).OrderBy(c => c.Id).Select(c => c.Id).ToListAsync();
        var locked = await db.Customers.Where(c => c.SourceSystemId == system.Id && wanted.Contains(c.SourceCustomerId)).OrderBy(c => c.Id).Select(c => c.Id).ForUpdate(db).ToListAsync();
        Assert.Equal(3, locked.Count);
        Assert.Equal(plain, locked);
        Assert.Null(await db.Customers.Where(c => c.SourceSystemId == system.Id && c.SourceCustomerId == "c-9").ForUpdate(db).SingleOrDefaultAsync());
        await transaction.CommitAsync();
    }
}
