using ConsentHub.Preferences;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Preferences;

/// <summary>The sealed links and sessions of the preference centre: what they carry, and what opens none.</summary>
public sealed class PreferenceTokenTests
{
    static readonly string Key = new('a', 64);

    [Fact]
    public void A_link_carries_its_address_key_language_and_kind_and_stops_at_its_expiry()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        var tokens = new PreferenceTokens(new EphemeralDataProtectionProvider(), clock);
        var token = tokens.Link(Key, "de", PreferenceLinkKind.Requested, clock.GetUtcNow().UtcDateTime.AddMinutes(60));

        var grant = tokens.OpenLink(token);
        Assert.NotNull(grant);
        Assert.Equal(Key, grant.EmailKey);
        Assert.Equal("de", grant.Language);
        Assert.Equal(PreferenceLinkKind.Requested, grant.Kind);
        Assert.Equal(PreferenceTokens.LinkIdOf(token), grant.LinkId);
        Assert.Equal(32, grant.LinkId.Length);
        Assert.DoesNotContain(Key, token);

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(tokens.OpenLink(token));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(tokens.OpenLink(token));
    }

    [Fact]
    public void A_changed_character_a_session_offered_as_a_link_or_another_installation_s_link_opens_nothing()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new PreferenceTokens(new EphemeralDataProtectionProvider(), clock);
        var token = tokens.Link(Key, "en", PreferenceLinkKind.Email, clock.GetUtcNow().UtcDateTime.AddDays(30));
        var grant = tokens.OpenLink(token)!;

        var middle = token.Length / 2;
        var altered = token[..middle] + (token[middle] == 'A' ? 'B' : 'A') + token[(middle + 1)..];
        Assert.Null(tokens.OpenLink(altered));
        Assert.Null(tokens.OpenLink("not a token at all, but long enough to be read as one"));

        var session = tokens.Session(grant, clock.GetUtcNow().UtcDateTime.AddMinutes(30));
        Assert.Null(tokens.OpenLink(session));
        Assert.Null(tokens.OpenSession(token));
        var opened = tokens.OpenSession(session);
        Assert.Equal(grant.LinkId, opened!.LinkId);
        Assert.Equal(Key, opened.EmailKey);

        var elsewhere = new PreferenceTokens(new EphemeralDataProtectionProvider(), clock);
        Assert.Null(elsewhere.OpenLink(token));
        Assert.Null(elsewhere.OpenSession(session));
    }
}
