using System.Collections.Concurrent;

namespace ConsentHub.Data;

/// <summary>
/// The tables whose rows instances keep in memory. A save that adds, changes or removes a row of one notices its topic
/// (<see cref="ChangeNoticeInterceptor"/>, which names each table's entity type), so every instance drops what it kept
/// of that table.
/// </summary>
public static class NoticeTopics
{
    public const string Organisations = "organisations";
    public const string OrganisationCategories = "organisation-categories";
    public const string SourceSystems = "source-systems";
    public const string Users = "users";
    public const string Destinations = "destinations";

    public static readonly IReadOnlyList<string> All = [Organisations, OrganisationCategories, SourceSystems, Users, Destinations];
}

/// <summary>
/// Lets each instance keep rows that rarely change in memory and still see a change made by any instance. Every save
/// that writes such a row notices its table's topic (<see cref="ChangeNoticeInterceptor"/>): on PostgreSQL with a
/// NOTIFY in the same transaction, which the database delivers to every instance's <see cref="ChangeNoticeListener"/>
/// when (and only if) the transaction commits; the writer's own instance moves the topic on as soon as the commit
/// returns. Each topic has a generation that every notice moves on; a kept value is good only while the generations it
/// was read under are the current ones.
/// </summary>
/// <remarks>
/// Kept values are trusted only while the listener is connected and has seen its own probe come back, so a lost
/// connection (or a pooler that does not pass notices on, as PgBouncer in transaction mode) means every lookup goes to
/// the database, as without a cache. On SQLite nothing is kept: instances on one file have no channel between them, and
/// the file is local, so a lookup costs no round trip.
/// </remarks>
public sealed class ChangeNotices
{
    /// <summary>The PostgreSQL channel the hub's notices travel on.</summary>
    public const string Channel = "consenthub_changes";

    readonly ConcurrentDictionary<string, long> generations =
        new(NoticeTopics.All.Select(t => KeyValuePair.Create(t, 0L)), StringComparer.Ordinal);
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
        foreach (var topic in generations.Keys) Changed(topic);
    }

    internal void GoLive() => live = true;

    internal void GoDark()
    {
        live = false;
        ChangedAll();
    }
}

/// <summary>
/// A cache of values read from the database, kept under topics of <see cref="ChangeNotices"/>: a value is returned only
/// while notices are live, none of its topics has changed since it was read, and it is younger than a minute (a bound
/// for a notice lost in a crash between a commit and its notice, which only a save outside a transaction can have).
/// Bounded: a full cache starts again empty.
/// </summary>
public sealed class NoticedCache<TKey, TValue>(ChangeNotices notices, IReadOnlyList<string> topics, int capacity = 10_000) where TKey : notnull
{
    static readonly long MaxAgeMilliseconds = 60_000;

    readonly ConcurrentDictionary<TKey, (long Generation, long ReadAt, TValue Value)> entries = new();

    /// <summary>The cached value, if it is still good.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        if (notices.Live && entries.TryGetValue(key, out var entry) && entry.Generation == Generation
            && Environment.TickCount64 - entry.ReadAt < MaxAgeMilliseconds)
        {
            value = entry.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>The generation to read the database under (before reading it): the sum of its topics', which only grow.</summary>
    public long Generation
    {
        get
        {
            long sum = 0;
            foreach (var topic in topics) sum += notices.Generation(topic);
            return sum;
        }
    }

    /// <summary>Keeps a value read under <paramref name="generation"/>, unless a topic has changed since.</summary>
    public void Set(TKey key, TValue value, long generation)
    {
        if (!notices.Live || generation != Generation) return;
        if (entries.Count >= capacity) entries.Clear();
        entries[key] = (generation, Environment.TickCount64, value);
    }

    /// <summary>The value from the cache, or read by <paramref name="read"/> and kept.</summary>
    public async Task<TValue> GetOrReadAsync(TKey key, Func<CancellationToken, Task<TValue>> read, CancellationToken ct) =>
        TryGet(key, out var cached) ? cached : await ReadAsync(key, read, ct);

    /// <summary>The value read by <paramref name="read"/> now, whatever is kept, and kept in its place.</summary>
    public async Task<TValue> ReadAsync(TKey key, Func<CancellationToken, Task<TValue>> read, CancellationToken ct)
    {
        var generation = Generation;
        var value = await read(ct);
        Set(key, value, generation);
        return value;
    }
}
