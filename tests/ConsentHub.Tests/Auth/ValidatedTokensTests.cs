using System.Security.Claims;
using ConsentHub.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Time.Testing;
using OpenIddict.Abstractions;

namespace ConsentHub.Tests.Auth;

/// <summary>The keeping of validated tokens: how long a ticket is kept, and how many.</summary>
public sealed class ValidatedTokensTests
{
    static AuthenticationTicket Ticket(DateTimeOffset expires)
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity("test"));
        principal.SetExpirationDate(expires);
        return new AuthenticationTicket(principal, "test");
    }

    [Fact]
    public void A_ticket_is_kept_until_its_token_expires_and_never_beyond_ten_minutes()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new ValidatedTokens(clock);
        tokens.Keep("short", Ticket(clock.GetUtcNow().AddMinutes(2)));
        tokens.Keep("long", Ticket(clock.GetUtcNow().AddHours(12)));
        tokens.Keep("expired", Ticket(clock.GetUtcNow().AddSeconds(-1)));
        tokens.Keep("no-expiry", new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity("test")), "test"));
        Assert.True(tokens.TryGet("short", out _));
        Assert.True(tokens.TryGet("long", out _));
        Assert.False(tokens.TryGet("expired", out _));
        Assert.False(tokens.TryGet("no-expiry", out _));

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.False(tokens.TryGet("short", out _));
        Assert.True(tokens.TryGet("long", out _));
        clock.Advance(TimeSpan.FromMinutes(8));
        Assert.False(tokens.TryGet("long", out _));
        Assert.Equal(0, tokens.Count);
    }

    [Fact]
    public void When_full_of_live_tokens_it_keeps_no_more_and_makes_room_as_they_expire()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new ValidatedTokens(clock);
        var soon = Ticket(clock.GetUtcNow().AddMinutes(1));
        for (var n = 0; n < ValidatedTokens.Capacity; n++) tokens.Keep($"t{n}", soon);
        Assert.Equal(ValidatedTokens.Capacity, tokens.Count);

        tokens.Keep("one-more", Ticket(clock.GetUtcNow().AddHours(1)));
        Assert.False(tokens.TryGet("one-more", out _));
        Assert.True(tokens.TryGet("t0", out _));

        clock.Advance(TimeSpan.FromMinutes(1));
        tokens.Keep("one-more", Ticket(clock.GetUtcNow().AddHours(1)));
        Assert.True(tokens.TryGet("one-more", out _));
        Assert.Equal(1, tokens.Count);
    }
}
