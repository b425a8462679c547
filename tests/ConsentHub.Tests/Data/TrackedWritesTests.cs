using System.Net;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Data;

/// <summary>
/// <see cref="TrackedWrites"/> saves what a unit of work tracks as EF Core's SaveChanges would: rows inserted with the
/// database's identity keys read back, modified columns updated, both in the caller's transaction; a taken unique key
/// fails as a retryable <see cref="DbUpdateException"/>, an update of a vanished row as a concurrency failure, and what
/// it does not cover (deleted rows) is left to SaveChanges. On SQLite every save is SaveChanges: the same answers.
/// </summary>
public sealed class TrackedWritesTests
{
    const string Kind = "tracked-writes-test";
    static readonly TestRows Rows = new(Kind);

    static SealedPersonalData Row(long customerId, string reference, byte[] sealedBytes) => Rows.Row(customerId, reference, sealedBytes);

    static Task<long> CustomerAsync(HubApp app) => TestRows.CustomerAsync(app);

    static Task<List<SealedPersonalData>> StoredAsync(HubApp app) => Rows.StoredAsync(app);

    [ProviderTheory, Providers]
    public async Task Added_and_modified_rows_are_written_in_the_transaction_with_identity_keys_read_back_and_then_tracked_as_unchanged(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var customerId = await CustomerAsync(app);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.PersonalData.Add(Row(customerId, "a", [1]));
            await db.SaveChangesAsync();
        }

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            await using var transaction = await db.Database.BeginTransactionAsync();
            var existing = await db.PersonalData.SingleAsync(p => p.Kind == Kind && p.Reference == "a");
            existing.Sealed = [9, 9];
            var b = Row(customerId, "b", [2]);
            var c = Row(customerId, "c", [3, 0, 255]);
            db.PersonalData.AddRange(b, c);

            await TrackedWrites.SaveAsync(db, CancellationToken.None);

            Assert.True(b.Id > 0);
            Assert.True(c.Id > b.Id);
            Assert.All(db.ChangeTracker.Entries(), e => Assert.Equal(EntityState.Unchanged, e.State));
            // Not visible outside the transaction until it commits.
            Assert.Equal([[1]], (await StoredAsync(app)).Select(p => p.Sealed));
            await transaction.CommitAsync();
        }

        var stored = await StoredAsync(app);
        Assert.Equal(["a", "b", "c"], stored.Select(p => p.Reference));
        Assert.Equal([[9, 9], [2], [3, 0, 255]], stored.Select(p => p.Sealed));
        Assert.All(stored.Skip(1), p => Assert.Equal(new DateTime(2026, 12, 6, 1, 2, 3, 456, DateTimeKind.Utc), p.UpdatedAt));
        Assert.All(stored, p => Assert.Equal(customerId, p.CustomerId));
    }

    [ProviderTheory, Providers]
    public async Task A_taken_unique_key_fails_the_whole_save_as_a_retryable_update_error_and_writes_nothing(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var customerId = await CustomerAsync(app);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.PersonalData.Add(Row(customerId, "taken", [1]));
            await db.SaveChangesAsync();
        }

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.PersonalData.AddRange(Row(customerId, "fresh", [2]), Row(customerId, "taken", [3]));
            var error = await Assert.ThrowsAsync<DbUpdateException>(() => TrackedWrites.SaveAsync(db, CancellationToken.None));
            Assert.True(DbErrors.IsUniqueViolation(error));
            Assert.True(DbErrors.IsRetryable(error));
        }
        Assert.Equal(["taken"], (await StoredAsync(app)).Select(p => p.Reference));
    }

    [ProviderTheory, Providers]
    public async Task An_update_of_a_row_that_is_gone_fails_as_a_concurrency_error(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var customerId = await CustomerAsync(app);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.PersonalData.Add(Row(customerId, "gone", [1]));
            await db.SaveChangesAsync();
        }

        using var changing = app.Scope();
        var changingDb = app.Db(changing);
        var row = await changingDb.PersonalData.SingleAsync(p => p.Kind == Kind && p.Reference == "gone");
        using (var scope = app.Scope())
            Assert.Equal(1, await app.Db(scope).PersonalData.Where(p => p.Kind == Kind).ExecuteDeleteAsync());
        row.Sealed = [2];
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => TrackedWrites.SaveAsync(changingDb, CancellationToken.None));
        Assert.Empty(await StoredAsync(app));
    }

    [ProviderTheory, Providers]
    public async Task A_unit_of_work_with_a_deleted_row_is_saved_whole_by_SaveChanges(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var customerId = await CustomerAsync(app);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.PersonalData.AddRange(Row(customerId, "old", [1]));
            await db.SaveChangesAsync();
        }
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.PersonalData.Remove(await db.PersonalData.SingleAsync(p => p.Kind == Kind && p.Reference == "old"));
            var added = Row(customerId, "new", [2]);
            db.PersonalData.Add(added);
            await TrackedWrites.SaveAsync(db, CancellationToken.None);
            Assert.True(added.Id > 0);
        }
        Assert.Equal(["new"], (await StoredAsync(app)).Select(p => p.Reference));
    }
}
