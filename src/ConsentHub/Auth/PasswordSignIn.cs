using System.ComponentModel.DataAnnotations;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Auth;

public sealed class SignInOptions
{
    public const string Section = "ConsentHub:SignIn";
    public const int DefaultMaxFailures = 5;
    public const int DefaultLockoutMinutes = 15;

    /// <summary>Failed attempts in a row after which a username (DPO page, token endpoint) or an OAuth client is locked.</summary>
    [Range(1, 1000)]
    public int MaxFailures { get; set; } = DefaultMaxFailures;

    /// <summary>How long a lock lasts; during it even the right password or secret is refused.</summary>
    [Range(1, 7 * 24 * 60)]
    public int LockoutMinutes { get; set; } = DefaultLockoutMinutes;
}

/// <summary>
/// Password and client-secret checks with lock-out, shared by the DPO login page and the token endpoint. Counts and
/// locks live in the database (the user row, <c>client_lockouts</c>), so attempts at several instances add up.
/// Every outcome for a username costs one password hash, so timing tells nobody whether it exists or is locked.
/// </summary>
public sealed class PasswordSignIn(ConsentDb db, TimeProvider time, IOptions<SignInOptions> options, ILogger<PasswordSignIn> logger)
{
    const int MaxPasswordLength = 1_000;

    /// <summary>What a sign-in page says of every refusal: the same words whether the username exists, the password is wrong or the account is locked.</summary>
    public const string Refused =
        "The username or password is incorrect, or the account is locked. After 5 failed attempts an account is locked for " +
        "15 minutes; wait and try again, or ask your administrator.";

    static readonly Lazy<string> DecoyHash = new(() => Secrets.HashPassword(Secrets.Generate()));

    TimeSpan LockOut => TimeSpan.FromMinutes(options.Value.LockoutMinutes);

    /// <summary>Costs what checking a real password costs: for answers that must not be faster than a real check.</summary>
    public static void SpendOneHash(string? password) => Secrets.VerifyPassword(DecoyHash.Value, password ?? "");

    /// <summary>
    /// The user, or null for a wrong username or password, a user <paramref name="admits"/> refuses, or a locked user.
    /// Only a wrong password of an admitted user counts towards the lock.
    /// </summary>
    public async Task<HubUser?> CheckAsync(string? username, string? password, Func<HubUser, bool> admits, CancellationToken ct)
    {
        password ??= "";
        var user = username is { Length: > 0 and <= 100 } && !username.Any(char.IsControl) && password.Length <= MaxPasswordLength
            ? await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Username == username, ct)
            : null;
        var now = time.Now();
        if (user is null || !admits(user) || user.LockedUntil > now)
        {
            SpendOneHash(password);
            return null;
        }
        if (Secrets.VerifyPassword(user.PasswordHash, password))
        {
            if (user.FailedLogins != 0 || user.LockedUntil is not null)
                await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s
                    .SetProperty(u => u.FailedLogins, 0)
                    .SetProperty(u => u.LockedUntil, (DateTime?)null), ct);
            return user;
        }

        // Counted in the database, so attempts at several instances at once all count.
        var max = options.Value.MaxFailures;
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.FailedLogins, u => u.FailedLogins + 1), ct);
        var locked = await db.Users.Where(u => u.Id == user.Id && u.FailedLogins >= max).ExecuteUpdateAsync(s => s
            .SetProperty(u => u.FailedLogins, 0)
            .SetProperty(u => u.LockedUntil, now + LockOut), ct);
        if (locked > 0)
            logger.LogWarning("User {Username} is locked out until {LockedUntil} after {Failures} failed sign-ins",
                user.Username, HubTime.Format(now + LockOut), max);
        return null;
    }

    public async Task<bool> IsClientLockedAsync(string clientId, CancellationToken ct)
    {
        var now = time.Now();
        return await db.ClientLockouts.AsNoTracking().AnyAsync(l => l.ClientId == clientId && l.LockedUntil > now, ct);
    }

    /// <summary>One failed authentication of a registered client; the one that reaches the limit locks it.</summary>
    public async Task RecordClientFailureAsync(string clientId, CancellationToken ct)
    {
        // The same statement on SQLite and PostgreSQL: the row exists after it, whichever instance created it.
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""INSERT INTO client_lockouts ("ClientId", "FailedAttempts") VALUES ({clientId}, 0) ON CONFLICT DO NOTHING""", ct);
        var max = options.Value.MaxFailures;
        var now = time.Now();
        await db.ClientLockouts.Where(l => l.ClientId == clientId)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.FailedAttempts, l => l.FailedAttempts + 1), ct);
        var locked = await db.ClientLockouts.Where(l => l.ClientId == clientId && l.FailedAttempts >= max).ExecuteUpdateAsync(s => s
            .SetProperty(l => l.FailedAttempts, 0)
            .SetProperty(l => l.LockedUntil, now + LockOut), ct);
        if (locked > 0)
            logger.LogWarning("OAuth client {ClientId} is locked out until {LockedUntil} after {Failures} failed authentications",
                clientId, HubTime.Format(now + LockOut), max);
    }

    /// <summary>A successful authentication clears the count.</summary>
    public async Task ResetClientAsync(string clientId, CancellationToken ct)
    {
        // Read first: nearly every success has nothing to clear, and a write would take SQLite's write lock for nothing.
        var stale = db.ClientLockouts.Where(l => l.ClientId == clientId && (l.FailedAttempts != 0 || l.LockedUntil != null));
        if (await stale.AnyAsync(ct))
            await stale.ExecuteUpdateAsync(s => s.SetProperty(l => l.FailedAttempts, 0).SetProperty(l => l.LockedUntil, (DateTime?)null), ct);
    }
}
