using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace ConsentHub.Data;

/// <summary>What cached copies of rarely changing rows are kept of; a change to one tells every instance to drop its copies.</summary>
public static class NoticeTopics
{
    /// <summary>Whether a token's holder (a source system, an organisation's API user) is still active with the same credentials.</summary>
    public const string Holders = "holders";

    public static readonly IReadOnlyList<string> All = [Holders];
}

/// <summary>
/// Lets each instance keep rows that rarely change in memory and still see a change made by any instance. A writer
/// commits with <see cref="CommitAsync"/>: on PostgreSQL the commit carries a NOTIFY, which the database delivers to
/// every instance's <see cref="ChangeNoticeListener"/> when (and only if) the transaction commits; the writer's own
/// instance drops its copies as soon as the commit returns. Each topic has a generation that every notice moves on;
/// a cached value is good only while the generation it was read under is the current one.
/// </summary>
/// <remarks>
/// Caches are trusted only while the listener is connected and has seen its own probe come back, so a lost connection
/// (or a pooler that does not pass notifications on, as PgBouncer in transaction mode) means every lookup goes to the
/// database, as without a cache. On SQLite nothing is cached: instances on one file have no channel between them,
/// and the file is local, so a lookup costs no round trip.
/// </remarks>
public sealed class ChangeNotices
{
    /// <summary>The PostgreSQL channel the hub's notices travel on.</summary>
    public const string Channel = "consenthub_changes";

    readonly ConcurrentDictionary<string, long> generations = new(StringComparer.Ordinal);
    volatile bool live;

    /// <summary>Whether cached values may be used now: the listener hears every commit's notice.</summary>
    public bool Live => live;

    /// <summary>The topic's generation now. Read it before reading the database, and cache what was read under it.</summary>
    public long Generation(string topic) => generations.GetOrAdd(topic, 0);

    /// <summary>The topic changed: values cached under an earlier generation are no longer used.</summary>
    public void Changed(string topic) => generations.AddOrUpdate(topic, 1, (_, g) => g + 1);

    /// <summary>Every topic may have changed (the listener was not hearing notices for a while).</summary>
    public void ChangedAll()
    {
        foreach (var topic in NoticeTopics.All) Changed(topic);
        foreach (var topic in generations.Keys) Changed(topic);
    }

    internal void GoLive() => live = true;

    internal void GoDark()
    {
        live = false;
        ChangedAll();
    }

    /// <summary>
    /// Commits <paramref name="transaction"/> with a notice that <paramref name="topic"/> changed: every instance drops
    /// its cached copies, this one before returning.
    /// </summary>
    public async Task CommitAsync(ConsentDb db, IDbContextTransaction transaction, string topic, CancellationToken ct)
    {
        if (db.Provider == DatabaseProvider.Postgres)
            await db.Database.ExecuteSqlAsync($"SELECT pg_notify({Channel}, {topic})", ct);
        await transaction.CommitAsync(ct);
        Changed(topic);
    }
}

/// <summary>
/// A cache of values read from the database under a topic of <see cref="ChangeNotices"/>: a value is returned only while
/// notices are live and its topic has not changed since it was read. Bounded: a full cache starts again empty.
/// </summary>
public sealed class NoticedCache<TKey, TValue>(ChangeNotices notices, string topic, int capacity = 10_000) where TKey : notnull
{
    readonly ConcurrentDictionary<TKey, (long Generation, TValue Value)> entries = new();

    /// <summary>The cached value, if it is still good.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        if (notices.Live && entries.TryGetValue(key, out var entry) && entry.Generation == notices.Generation(topic))
        {
            value = entry.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>The generation to read the database under (before reading it).</summary>
    public long Generation => notices.Generation(topic);

    /// <summary>Keeps a value read under <paramref name="generation"/>, unless the topic has changed since.</summary>
    public void Set(TKey key, TValue value, long generation)
    {
        if (!notices.Live || generation != notices.Generation(topic)) return;
        if (entries.Count >= capacity) entries.Clear();
        entries[key] = (generation, value);
    }

    /// <summary>The value from the cache, or read by <paramref name="read"/> and kept.</summary>
    public async Task<TValue> GetOrReadAsync(TKey key, Func<CancellationToken, Task<TValue>> read, CancellationToken ct)
    {
        if (TryGet(key, out var cached)) return cached;
        var generation = Generation;
        var value = await read(ct);
        Set(key, value, generation);
        return value;
    }
}
