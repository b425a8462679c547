using ConsentHub.Auth;

namespace ConsentHub.Bulk;

/// <summary>
/// Checks a DPO's username and password on the login page, with the lock-out every password sign-in has
/// (<see cref="PasswordSignIn"/>): after <see cref="MaxFailures"/> failed attempts (by default) the user is refused for
/// the lock-out time, on every instance. Every outcome costs one password hash and reads the same.
/// </summary>
public sealed class DpoSignIn(PasswordSignIn signIn)
{
    public const int MaxFailures = SignInOptions.DefaultMaxFailures;

    /// <summary>The DPO, or null for a wrong username or password, a user who is no DPO, or a locked user.</summary>
    public Task<HubUser?> CheckAsync(string? username, string? password, CancellationToken ct) =>
        signIn.CheckAsync(username, password, user => Roles.IsDpo(user.Role), ct);
}
