using System.Net;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Data;

/// <summary>
/// New rows a large unit of work holds untracked (<see cref="InsertBuffer"/>): read back through Staged, written by
/// <see cref="CopyInsert.WriteAddedAsync"/> in the unit's transaction (COPY on PostgreSQL, the save on SQLite), and
/// dropped when the buffer closes unwritten.
/// </summary>
public sealed class InsertBufferTests
{
    static readonly TestRows Rows = new("insert-buffer-test");

    static SealedPersonalData Row(long customerId, string reference, long id = 0) => Rows.Row(customerId, reference, id: id);

    static Task<long> CustomerAsync(HubApp app) => TestRows.CustomerAsync(app);

    static Task<List<SealedPersonalData>> StoredAsync(HubApp app) => Rows.StoredAsync(app);

    [ProviderTheory, Providers]
    public async Task Buffered_rows_are_untracked_seen_as_staged_written_in_the_transaction_and_dropped_when_the_buffer_closes_unwritten(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var customerId = await CustomerAsync(app);

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            await using var transaction = await db.Database.BeginTransactionAsync();
            using (db.BufferInserts())
            {
                db.Insert(Row(customerId, "a"));
                db.Insert(Row(customerId, "b"));
                Assert.Empty(db.ChangeTracker.Entries());
                Assert.Equal(["a", "b"], db.Staged<SealedPersonalData>().Select(p => p.Reference).Order());
                await CopyInsert.WriteAddedAsync(db, CancellationToken.None);
                await db.SaveChangesAsync();
            }
            // Not visible outside the transaction until it commits.
            Assert.Empty(await StoredAsync(app));
            await transaction.CommitAsync();
        }
        var stored = await StoredAsync(app);
        Assert.Equal(["a", "b"], stored.Select(p => p.Reference));
        // The identity column was left to the database, as for an added entity.
        Assert.All(stored, p => Assert.True(p.Id > 0));
        Assert.NotEqual(stored[0].Id, stored[1].Id);

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            using (db.BufferInserts())
            {
                db.Insert(Row(customerId, "c"));
                Assert.Single(db.Staged<SealedPersonalData>(), p => p.Reference == "c");
            }
            // Closed unwritten: the row is gone, and a row inserted now is tracked as added, for the next save.
            Assert.DoesNotContain(db.Staged<SealedPersonalData>(), p => p.Reference == "c");
            db.Insert(Row(customerId, "d"));
            Assert.Single(db.ChangeTracker.Entries<SealedPersonalData>(), e => e.State == EntityState.Added);
            await db.SaveChangesAsync();
        }
        Assert.Equal(["a", "b", "d"], (await StoredAsync(app)).Select(p => p.Reference));
    }

    [PostgresOnly]
    public async Task Buffered_rows_that_set_a_generated_key_on_some_and_not_others_are_refused_before_anything_is_copied()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres);
        var customerId = await CustomerAsync(app);
        using var scope = app.Scope();
        var db = app.Db(scope);
        await using var transaction = await db.Database.BeginTransactionAsync();
        using var inserts = db.BufferInserts();
        db.Insert(Row(customerId, "a"));
        db.Insert(Row(customerId, "b", id: 987_654_321));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => CopyInsert.WriteAddedAsync(db, CancellationToken.None));
        Assert.Contains("SealedPersonalData.Id is set on some buffered rows and not on others", refused.Message);
        Assert.Throws<InvalidOperationException>(() => db.BufferInserts());
        await transaction.RollbackAsync();
        Assert.Empty(await StoredAsync(app));
    }
}
