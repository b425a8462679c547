using System.Security.Cryptography;
using System.Text;
using ConsentHub.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Consents;

/// <summary>
/// The secret key of one customer record. Ledger entries commit to the record's personal data (email, the request
/// that carried it, the confirming browser) with HMAC-SHA256 under this key instead of a plain hash, which anyone
/// could recompute from a guessed address. Destroying the key leaves every commitment, and so every ledger proof,
/// intact while making it impossible to tie them to a person again.
/// </summary>
public sealed class PersonKey
{
    public long CustomerId { get; set; }
    /// <summary>The 32-byte key, wrapped by <see cref="PersonKeyWrapping"/> ("w1:…"), or by Data Protection alone in rows written before it.</summary>
    public required string ProtectedKey { get; set; }
    public DateTime CreatedAt { get; set; }
}

sealed class PersonKeyConfiguration : IEntityTypeConfiguration<PersonKey>
{
    public void Configure(EntityTypeBuilder<PersonKey> b)
    {
        b.ToTable("person_keys");
        b.HasKey(k => k.CustomerId);
        b.Property(k => k.ProtectedKey).HasMaxLength(500);
    }
}

/// <summary>
/// The key that wraps every person key with AES-256-GCM, itself kept in server_keys under Data Protection. A Data
/// Protection call costs about a millisecond; unwrapping with one loaded key costs microseconds, which matters when an
/// upload or an export opens thousands of records at once. Keys wrapped by Data Protection alone (before this) still open.
/// </summary>
public sealed class PersonKeyWrapping
{
    const string Name = "person-key-wrapping";
    const string Purpose = "ConsentHub.PersonKeyWrapping.v1";
    const string Prefix = "w1:";
    const int NonceSize = 12, TagSize = 16;

    byte[]? key;

    /// <summary>
    /// This thread's cipher under <see cref="key"/>: set up once instead of for every record an upload, export or read
    /// opens (an <see cref="AesGcm"/> is not safe to share between threads). Checked against the key it was made with,
    /// since hosts in one process (the tests) each load their own.
    /// </summary>
    [ThreadStatic] static (byte[] Key, AesGcm Cipher)? cached;

    public async Task LoadAsync(ConsentDb db, IDataProtectionProvider protection, TimeProvider time, CancellationToken ct)
    {
        key = await ServerKeys.GetOrCreateProtectedAsync(db, protection, Name, Purpose, () => RandomNumberGenerator.GetBytes(32), time, ct);
    }

    public static bool IsWrapped(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The person key sealed for its record: a wrapped key moved to another record does not open.</summary>
    public string Wrap(long customerId, byte[] personKey) => Wrap(AssociatedData(customerId), personKey);

    public byte[] Unwrap(long customerId, string stored) => Unwrap(AssociatedData(customerId), stored);

    /// <summary>Another record's key (an opt-out's), bound to what <paramref name="owner"/> names so it opens for that owner only.</summary>
    public string Wrap(string owner, byte[] key) => Wrap(Encoding.UTF8.GetBytes(owner), key);

    public byte[] Unwrap(string owner, string stored) => Unwrap(Encoding.UTF8.GetBytes(owner), stored);

    string Wrap(byte[] associatedData, byte[] personKey)
    {
        var output = new byte[NonceSize + TagSize + personKey.Length];
        RandomNumberGenerator.Fill(output.AsSpan(0, NonceSize));
        Cipher().Encrypt(output.AsSpan(0, NonceSize), personKey, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), associatedData);
        return Prefix + Convert.ToBase64String(output);
    }

    byte[] Unwrap(byte[] associatedData, string stored)
    {
        var input = Convert.FromBase64String(stored[Prefix.Length..]);
        var personKey = new byte[input.Length - NonceSize - TagSize];
        Cipher().Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize + TagSize), input.AsSpan(NonceSize, TagSize), personKey, associatedData);
        return personKey;
    }

    AesGcm Cipher()
    {
        var current = Key;
        if (cached is { } mine && ReferenceEquals(mine.Key, current)) return mine.Cipher;
        cached?.Cipher.Dispose();
        var cipher = new AesGcm(current, TagSize);
        cached = (current, cipher);
        return cipher;
    }

    byte[] Key => key ?? throw new InvalidOperationException("The person key wrapping key is not loaded: the host must call LoadAsync at start.");

    static byte[] AssociatedData(long customerId) => Encoding.UTF8.GetBytes($"person-key:{customerId}");
}

/// <summary>Creates and reads person keys, and computes commitments under them.</summary>
public sealed class PersonKeys(ConsentDb db, IDataProtectionProvider protection, PersonKeyWrapping wrapping, TimeProvider time)
{
    const string Purpose = "ConsentHub.PersonKeys.v1";

    /// <summary>Keys read from the database in this scope. Keys created in it are not kept here: a unit of work that
    /// rolls back and starts again must not find a key that was never committed.</summary>
    readonly Dictionary<long, byte[]> committed = [];

    /// <summary>
    /// The record's key, created on first use in the caller's transaction. Callers hold the customer's row lock (or
    /// come after the change that created it), so two keys are never made for one record.
    /// </summary>
    /// <param name="dropUnreadable">
    /// The record existed before this unit of work and nothing of it is tracked yet. If its key was destroyed without
    /// its sealed rows (by hand, before the erasure API), those rows would fail to open under the new key: they go first.
    /// </param>
    public async Task<byte[]> ForAsync(long customerId, CancellationToken ct, bool dropUnreadable = false)
    {
        if (db.Staged<PersonKey>().FirstOrDefault(k => k.CustomerId == customerId) is { } staged) return Open(staged);
        if ((await ExistingAsync([customerId], ct)).TryGetValue(customerId, out var existing)) return existing;
        if (dropUnreadable) await db.PersonalData.Where(p => p.CustomerId == customerId).ExecuteDeleteAsync(ct);
        return Create(customerId);
    }

    /// <summary>As <see cref="ForAsync"/> for many records at once: one query, and keys staged for those without one.</summary>
    public async Task<Dictionary<long, byte[]>> ForManyAsync(IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        var found = await ExistingAsync(customerIds, ct);
        foreach (var id in customerIds.Distinct().Where(id => !found.ContainsKey(id))) found[id] = Create(id);
        return found;
    }

    /// <summary>A new key for a record that has none: one created in this unit of work, or erased.</summary>
    public byte[] Create(long customerId)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        db.Insert(new PersonKey { CustomerId = customerId, ProtectedKey = wrapping.Wrap(customerId, key), CreatedAt = Hosting.HubTime.Now(time) });
        return key;
    }

    /// <summary>A record's key as the caller read it from its row in this transaction (<see cref="LockedRecord"/>), kept for the scope.</summary>
    public byte[] Remember(long customerId, string protectedKey) => committed[customerId] = Open(customerId, protectedKey);

    byte[] Open(PersonKey stored) => Open(stored.CustomerId, stored.ProtectedKey);

    /// <summary>A record's key as stored in its row, read by the caller (a query that fetched it with other data).</summary>
    public byte[] Open(long customerId, string protectedKey) => PersonKeyWrapping.IsWrapped(protectedKey)
        ? wrapping.Unwrap(customerId, protectedKey)
        : Convert.FromBase64String(protection.CreateProtector(Purpose).Unprotect(protectedKey));

    /// <summary>The keys these records have, whether committed or staged in this unit of work; an erased record has none.</summary>
    public async Task<Dictionary<long, byte[]>> ExistingAsync(IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        var found = new Dictionary<long, byte[]>();
        var unknown = new List<long>();
        // The local view once: each look at it detects changes across everything tracked, thousands of rows in a batch.
        var staged = db.Staged<PersonKey>().ToDictionary(k => k.CustomerId);
        foreach (var id in customerIds.Distinct())
        {
            if (committed.TryGetValue(id, out var known)) found[id] = known;
            else if (staged.TryGetValue(id, out var key)) found[id] = Open(key);
            else unknown.Add(id);
        }
        if (unknown.Count == 1)
        {
            // One record's change, the common case: a compiled query (ProviderQuery).
            if (await OneKey.For(db)(db, unknown[0], ct) is { } row) found[row.CustomerId] = committed[row.CustomerId] = Open(row);
            return found;
        }
        foreach (var chunk in unknown.Chunk(500))
        {
            var rows = await db.PersonKeys.AsNoTracking().Where(k => chunk.Contains(k.CustomerId)).ToListAsync(ct);
            foreach (var row in rows) found[row.CustomerId] = committed[row.CustomerId] = Open(row);
        }
        return found;
    }

    static readonly ProviderQuery<Func<ConsentDb, long, CancellationToken, Task<PersonKey?>>> OneKey = new(() =>
        EF.CompileAsyncQuery((ConsentDb db, long customerId, CancellationToken ct) =>
            db.PersonKeys.AsNoTracking().SingleOrDefault(k => k.CustomerId == customerId)));

    /// <summary>HMAC-SHA256 of the UTF-8 text under the key, lower-case hex.</summary>
    public static string Commit(byte[] key, string text) => Commit(key, Encoding.UTF8.GetBytes(text));

    public static string Commit(byte[] key, byte[] bytes) => Convert.ToHexStringLower(HMACSHA256.HashData(key, bytes));
}
