using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Bulk;

/// <summary>
/// Checks a DPO's username and password, with lock-out: after <see cref="MaxFailures"/> failed attempts the user is
/// refused for <see cref="LockOut"/>. The count and the lock live on the user row, so every instance enforces them.
/// Every outcome costs one password hash and reads the same, so the page tells nobody whether a username exists.
/// </summary>
public sealed class DpoSignIn(ConsentDb db, TimeProvider time, ILogger<DpoSignIn> logger)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockOut = TimeSpan.FromMinutes(15);
    const int MaxPasswordLength = 1_000;

    static readonly Lazy<string> DecoyHash = new(() => Secrets.HashPassword(Secrets.Generate()));

    /// <summary>The DPO, or null for a wrong username or password, a user who is no DPO, or a locked user.</summary>
    public async Task<HubUser?> CheckAsync(string? username, string? password, CancellationToken ct)
    {
        password ??= "";
        var user = username is { Length: > 0 and <= 100 } && !username.Any(char.IsControl) && password.Length <= MaxPasswordLength
            ? await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Username == username, ct)
            : null;
        var now = time.Now();
        if (user is null || !Roles.IsDpo(user.Role) || user.LockedUntil > now)
        {
            Secrets.VerifyPassword(DecoyHash.Value, password);
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
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.FailedLogins, u => u.FailedLogins + 1), ct);
        var locked = await db.Users.Where(u => u.Id == user.Id && u.FailedLogins >= MaxFailures).ExecuteUpdateAsync(s => s
            .SetProperty(u => u.FailedLogins, 0)
            .SetProperty(u => u.LockedUntil, now + LockOut), ct);
        if (locked > 0)
            logger.LogWarning("DPO {Username} is locked out until {LockedUntil} after {Failures} failed sign-ins",
                user.Username, HubTime.Format(now + LockOut), MaxFailures);
        return null;
    }
}
