using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;

namespace ConsentHub.Auth;

/// <summary>
/// Bearer tokens OpenIddict has validated, with what it made of them, kept until the token expires (and for ten minutes
/// at most). A token is a signed JWT whose validation depends only on its text, the issuer and the signing keys, all
/// fixed while the process runs, so the same text validates the same way until its expiry. What can change sooner,
/// whether its holder is still current, is not kept here: <see cref="BearerAuthentication"/> checks it on every request.
/// </summary>
public sealed class ValidatedTokens(TimeProvider time)
{
    public const int Capacity = 10_000;
    static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(10);

    readonly ConcurrentDictionary<string, (AuthenticationTicket Ticket, DateTimeOffset Until)> entries = new(StringComparer.Ordinal);

    public int Count => entries.Count;

    /// <summary>The ticket OpenIddict gave <paramref name="token"/>, if the token has not expired since.</summary>
    public bool TryGet(string token, out AuthenticationTicket ticket)
    {
        if (entries.TryGetValue(token, out var entry))
        {
            if (time.GetUtcNow() < entry.Until)
            {
                ticket = entry.Ticket;
                return true;
            }
            entries.TryRemove(KeyValuePair.Create(token, entry));
        }
        ticket = null!;
        return false;
    }

    /// <summary>Keeps the ticket of a token OpenIddict has just validated; a ticket without an expiry is not kept.</summary>
    public void Keep(string token, AuthenticationTicket ticket)
    {
        if (ticket.Principal.GetExpirationDate() is not { } expires) return;
        var now = time.GetUtcNow();
        var until = expires < now + MaxAge ? expires : now + MaxAge;
        if (until <= now) return;
        if (entries.Count >= Capacity)
        {
            foreach (var (key, entry) in entries)
                if (entry.Until <= now) entries.TryRemove(KeyValuePair.Create(key, entry));
            // Still full of live tokens: stop keeping more; the ones kept age out within MaxAge.
            if (entries.Count >= Capacity) return;
        }
        entries[token] = (ticket, until);
    }

    /// <summary>Forgets a token, so its next request is validated by OpenIddict again.</summary>
    public void Forget(string token) => entries.TryRemove(token, out _);
}
