using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace ConsentHub.Data;

/// <summary>
/// Sends the notices of <see cref="ChangeNotices"/> so that no writer has to remember to. A save that adds, changes or
/// removes a row of a table of <see cref="NoticeTopics"/> notices its topic: inside the caller's transaction it sends
/// the NOTIFY there (delivered only if that transaction commits) and moves the topic on here once it has committed;
/// a save in a transaction of its own sends the NOTIFY and moves the topic on right after it.
/// </summary>
/// <remarks>
/// Only changes made through the change tracker are seen: <c>ExecuteUpdate</c>, <c>ExecuteDelete</c> and raw SQL on
/// these tables would bypass it (the hub has none that change what is kept; only failed-login counters on users).
/// </remarks>
sealed class ChangeNoticeInterceptor(ChangeNotices notices) : ISaveChangesInterceptor, IDbTransactionInterceptor
{
    // The hub saves asynchronously; ASP.NET Core's key store (data protection) saves synchronously, rows of no kept table.
    public InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result) =>
        SavingChangesAsync(eventData, result).AsTask().GetAwaiter().GetResult();

    public int SavedChanges(SaveChangesCompletedEventData eventData, int result) =>
        SavedChangesAsync(eventData, result).AsTask().GetAwaiter().GetResult();

    public void SaveChangesFailed(DbContextErrorEventData eventData) => SaveChangesFailedAsync(eventData).GetAwaiter().GetResult();

    public async ValueTask<InterceptionResult<int>> SavingChangesAsync(
        DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is not ConsentDb db) return result;
        var topics = Written(db);
        if (topics.Count == 0) return result;
        if (db.Database.CurrentTransaction is { } transaction)
        {
            await NotifyAsync(db, topics, transaction.GetDbTransaction(), cancellationToken);
            db.CommittingTopics.UnionWith(topics);
        }
        else
        {
            db.UnsentTopics.UnionWith(topics);
        }
        return result;
    }

    public async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        // Saved in a transaction of its own, now committed: told now, after the commit (a crash just here loses the
        // notice; kept values are bounded in age for that).
        if (eventData.Context is ConsentDb { UnsentTopics.Count: > 0 } db)
        {
            var topics = db.UnsentTopics.ToList();
            db.UnsentTopics.Clear();
            await NotifyAsync(db, topics, null, cancellationToken);
            foreach (var topic in topics) notices.Changed(topic);
        }
        return result;
    }

    public Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is ConsentDb db) db.UnsentTopics.Clear();
        return Task.CompletedTask;
    }

    public ValueTask<DbTransaction> TransactionStartedAsync(
        DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is ConsentDb db) db.CommittingTopics.Clear();
        return ValueTask.FromResult(result);
    }

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        TransactionCommitted(transaction, eventData);
        return Task.CompletedTask;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData)
    {
        if (eventData.Context is ConsentDb db)
        {
            foreach (var topic in db.CommittingTopics) notices.Changed(topic);
            db.CommittingTopics.Clear();
        }
    }

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is ConsentDb db) db.CommittingTopics.Clear();
        return Task.CompletedTask;
    }

    /// <summary>The kept tables: the entity whose rows each holds, and the topic a write to it notices.</summary>
    static readonly Kept[] KeptTables =
    [
        Kept.Of<Tenancy.Organisation>(NoticeTopics.Organisations),
        Kept.Of<Tenancy.OrganisationCategory>(NoticeTopics.OrganisationCategories),
        Kept.Of<Tenancy.SourceSystem>(NoticeTopics.SourceSystems),
        Kept.Of<Auth.HubUser>(NoticeTopics.Users),
        Kept.Of<Propagation.Destination>(NoticeTopics.Destinations),
    ];

    /// <summary>Whether writing rows of this entity sends a notice: a save that writes them must go through this interceptor.</summary>
    public static bool Notices(Type entity) => KeptTables.Any(t => t.Entity == entity);

    /// <summary>
    /// The topics of the rows this save writes. Only the entries of kept tables are looked at, each on its own, without
    /// detecting changes across everything tracked (thousands of rows in an upload's batch).
    /// </summary>
    static HashSet<string> Written(ConsentDb db)
    {
        var topics = new HashSet<string>(StringComparer.Ordinal);
        var tracker = db.ChangeTracker;
        var detect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            foreach (var table in KeptTables)
                if (table.Written(tracker)) topics.Add(table.Topic);
        }
        finally
        {
            tracker.AutoDetectChangesEnabled = detect;
        }
        return topics;
    }

    sealed record Kept(Type Entity, string Topic, Func<Microsoft.EntityFrameworkCore.ChangeTracking.ChangeTracker, bool> Written)
    {
        public static Kept Of<TEntity>(string topic) where TEntity : class => new(typeof(TEntity), topic, AnyWritten<TEntity>);

        static bool AnyWritten<TEntity>(Microsoft.EntityFrameworkCore.ChangeTracking.ChangeTracker tracker) where TEntity : class
        {
            foreach (var entry in tracker.Entries<TEntity>())
            {
                if (entry.State == EntityState.Unchanged) entry.DetectChanges();
                if (entry.State is EntityState.Added or EntityState.Modified or EntityState.Deleted) return true;
            }
            return false;
        }
    }

    static async Task NotifyAsync(ConsentDb db, IReadOnlyCollection<string> topics, DbTransaction? transaction, CancellationToken ct)
    {
        if (db.Provider != DatabaseProvider.Postgres) return;
        // On the context's own connection, bypassing EF Core (a command of the context inside its own save is refused).
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = transaction;
            command.CommandText = string.Join(";", topics.Select((_, i) => $"SELECT pg_notify('{ChangeNotices.Channel}', @t{i})"));
            var i = 0;
            foreach (var topic in topics)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = $"t{i++}";
                parameter.Value = topic;
                command.Parameters.Add(parameter);
            }
            await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
