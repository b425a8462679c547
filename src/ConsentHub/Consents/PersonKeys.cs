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
    /// <summary>The 32-byte key, protected with ASP.NET Data Protection.</summary>
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

/// <summary>Creates and reads person keys, and computes commitments under them.</summary>
public sealed class PersonKeys(ConsentDb db, IDataProtectionProvider protection, TimeProvider time)
{
    const string Purpose = "ConsentHub.PersonKeys.v1";

    /// <summary>Keys read from the database in this scope. Keys created in it are not kept here: a unit of work that
    /// rolls back and starts again must not find a key that was never committed.</summary>
    readonly Dictionary<long, byte[]> committed = [];

    /// <summary>
    /// The record's key, created on first use in the caller's transaction. Callers hold the customer's row lock (or
    /// come after the change that created it), so two keys are never made for one record.
    /// </summary>
    public async Task<byte[]> ForAsync(long customerId, CancellationToken ct)
    {
        var protector = protection.CreateProtector(Purpose);
        if (db.PersonKeys.Local.FirstOrDefault(k => k.CustomerId == customerId) is { } staged)
            return Convert.FromBase64String(protector.Unprotect(staged.ProtectedKey));
        if ((await ExistingAsync([customerId], ct)).TryGetValue(customerId, out var existing)) return existing;
        return Create(customerId, protector);
    }

    /// <summary>As <see cref="ForAsync"/> for many records at once: one query, and keys staged for those without one.</summary>
    public async Task<Dictionary<long, byte[]>> ForManyAsync(IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        var found = await ExistingAsync(customerIds, ct);
        var protector = protection.CreateProtector(Purpose);
        foreach (var id in customerIds.Distinct().Where(id => !found.ContainsKey(id))) found[id] = Create(id, protector);
        return found;
    }

    byte[] Create(long customerId, IDataProtector protector)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        db.PersonKeys.Add(new PersonKey
        {
            CustomerId = customerId, ProtectedKey = protector.Protect(Convert.ToBase64String(key)), CreatedAt = Hosting.HubTime.Now(time),
        });
        return key;
    }

    /// <summary>The keys these records have, whether committed or staged in this unit of work; an erased record has none.</summary>
    public async Task<Dictionary<long, byte[]>> ExistingAsync(IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        var protector = protection.CreateProtector(Purpose);
        var found = new Dictionary<long, byte[]>();
        var unknown = new List<long>();
        foreach (var id in customerIds.Distinct())
        {
            if (committed.TryGetValue(id, out var known)) found[id] = known;
            else if (db.PersonKeys.Local.FirstOrDefault(k => k.CustomerId == id) is { } staged)
                found[id] = Convert.FromBase64String(protector.Unprotect(staged.ProtectedKey));
            else unknown.Add(id);
        }
        foreach (var chunk in unknown.Chunk(500))
        {
            var rows = await db.PersonKeys.AsNoTracking().Where(k => chunk.Contains(k.CustomerId)).ToListAsync(ct);
            foreach (var row in rows)
                found[row.CustomerId] = committed[row.CustomerId] = Convert.FromBase64String(protector.Unprotect(row.ProtectedKey));
        }
        return found;
    }

    /// <summary>HMAC-SHA256 of the UTF-8 text under the key, lower-case hex.</summary>
    public static string Commit(byte[] key, string text) => Commit(key, Encoding.UTF8.GetBytes(text));

    public static string Commit(byte[] key, byte[] bytes) => Convert.ToHexStringLower(HMACSHA256.HashData(key, bytes));
}
