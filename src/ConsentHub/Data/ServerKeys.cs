using ConsentHub.Auth;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Data;

/// <summary>
/// Named secrets of the installation kept in the database (<c>server_keys</c>): token keys, the checkpoint signing key,
/// the blind index and person-key wrapping keys. The first instance to start creates each; every instance on the
/// database reads the same one.
/// </summary>
public static class ServerKeys
{
    /// <summary>The value of a named server key; the first instance to ask creates it, the others read theirs.</summary>
    public static async Task<string> GetOrCreateAsync(ConsentDb db, string name, Func<string> create, TimeProvider time, CancellationToken ct)
    {
        var existing = await db.ServerKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Name == name, ct);
        if (existing is not null) return existing.Value;
        db.ServerKeys.Add(new ServerKey { Name = name, Value = create(), CreatedAt = time.Now() });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another instance created it first: use theirs.
            db.ChangeTracker.Clear();
        }
        return (await db.ServerKeys.AsNoTracking().SingleAsync(k => k.Name == name, ct)).Value;
    }

    /// <summary>
    /// As <see cref="GetOrCreateAsync"/> for secret bytes kept under Data Protection with <paramref name="purpose"/>:
    /// the first instance creates and protects them, every instance reads them back in clear.
    /// </summary>
    public static async Task<byte[]> GetOrCreateProtectedAsync(
        ConsentDb db, IDataProtectionProvider protection, string name, string purpose, Func<byte[]> create, TimeProvider time, CancellationToken ct)
    {
        var protector = protection.CreateProtector(purpose);
        var stored = await GetOrCreateAsync(db, name, () => protector.Protect(Convert.ToBase64String(create())), time, ct);
        return Convert.FromBase64String(protector.Unprotect(stored));
    }
}
