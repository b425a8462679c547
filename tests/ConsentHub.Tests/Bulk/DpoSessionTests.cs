using System.Net;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Bulk;

/// <summary>The DPO's sign-in: the form, lock-out, antiforgery, and the wall between the session cookie and bearer tokens.</summary>
public sealed class DpoSessionTests
{
    static async Task<string> TextAsync(HttpResponseMessage response) => WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());

    [ProviderTheory, Providers]
    public async Task A_dpo_signs_in_gets_a_strict_http_only_session_cookie_and_signs_out(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);
        using var client = Dpos.Browserless(app);

        var login = await Dpos.PostLoginAsync(client, dpo.Username, dpo.Password);
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BulkSetup.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);

        var landing = await client.GetAsync("/dpo");
        Assert.Equal(HttpStatusCode.OK, landing.StatusCode);
        Assert.Equal("no-store", landing.Headers.CacheControl?.ToString());
        var html = await TextAsync(landing);
        Assert.Contains(dpo.Username, html);
        Assert.Contains($"href=\"/exports/toyota/{crm.Nmsc}\"", html);

        var logout = await client.PostAsync("/dpo/logout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = Dpos.FormToken(await landing.Content.ReadAsStringAsync()),
        }));
        Assert.Equal(HttpStatusCode.SeeOther, logout.StatusCode);
        Assert.Equal("/dpo/login", logout.Headers.Location?.OriginalString);
        var after = await client.GetAsync("/dpo");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Five_failed_attempts_lock_the_account_for_15_minutes_with_the_same_words_as_an_unknown_user(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);
        using var client = Dpos.Browserless(app);

        var answers = new List<string>();
        for (var i = 0; i < DpoSignIn.MaxFailures; i++)
        {
            var failed = await Dpos.PostLoginAsync(client, dpo.Username, "wrong-" + i);
            Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
            answers.Add(await TextAsync(failed));
        }
        // Locked: the right password is refused now, with the very words of every other failure.
        var locked = await Dpos.PostLoginAsync(client, dpo.Username, dpo.Password);
        Assert.Equal(HttpStatusCode.BadRequest, locked.StatusCode);
        Assert.Contains(DpoHtml.GenericSignInError, await TextAsync(locked));
        Assert.DoesNotContain(locked.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith(BulkSetup.CookieName + "=", StringComparison.Ordinal));
        var unknown = await Dpos.PostLoginAsync(client, "nobody-" + Guid.NewGuid().ToString("N"), "whatever");
        Assert.Contains(DpoHtml.GenericSignInError, await TextAsync(unknown));
        Assert.All(answers, a => Assert.Contains(DpoHtml.GenericSignInError, a));

        using (var scope = app.Scope())
        {
            var user = await app.Db(scope).Users.AsNoTracking().SingleAsync(u => u.Username == dpo.Username);
            Assert.NotNull(user.LockedUntil);
            Assert.InRange(user.LockedUntil!.Value - DateTime.UtcNow, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15.1));
            // 15 minutes later (moved on in the database, where every instance reads it).
            await app.Db(scope).Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.LockedUntil, DateTime.UtcNow.AddSeconds(-1)));
        }
        Assert.Equal(HttpStatusCode.SeeOther, (await Dpos.PostLoginAsync(client, dpo.Username, dpo.Password)).StatusCode);
        using (var scope = app.Scope())
        {
            var user = await app.Db(scope).Users.AsNoTracking().SingleAsync(u => u.Username == dpo.Username);
            Assert.Equal(0, user.FailedLogins);
            Assert.Null(user.LockedUntil);
        }
    }

    [ProviderTheory, Providers]
    public async Task Failures_counted_by_two_instances_add_up(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);
        using var one = Dpos.Browserless(app);
        using var two = Dpos.Browserless(second);

        for (var i = 0; i < DpoSignIn.MaxFailures; i++)
            await Dpos.PostLoginAsync(i % 2 == 0 ? one : two, dpo.Username, "wrong");

        Assert.Equal(HttpStatusCode.BadRequest, (await Dpos.PostLoginAsync(one, dpo.Username, dpo.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Dpos.PostLoginAsync(two, dpo.Username, dpo.Password)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Admin_and_source_system_users_cannot_sign_in_on_the_dpo_page(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = Dpos.Browserless(app);

        foreach (var (username, password) in new[] { ("admin", HubApp.AdminPassword), (crm.Username, crm.Password) })
        {
            var refused = await Dpos.PostLoginAsync(client, username, password);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(DpoHtml.GenericSignInError, await TextAsync(refused));
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/dpo")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Posts_without_an_antiforgery_token_are_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);

        // Sign-in with the right password but no token (a cross-site form): refused, no session.
        using var forged = Dpos.Browserless(app);
        await forged.GetAsync("/dpo/login");
        var login = await forged.PostAsync("/dpo/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = dpo.Username, ["password"] = dpo.Password,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.False(login.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(BulkSetup.CookieName + "=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/dpo")).StatusCode);

        // Sign-out without a token: the session survives.
        using var session = await Dpos.SignInAsync(app, dpo);
        var logout = await session.PostAsync("/dpo/logout", new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.BadRequest, logout.StatusCode);
        var wrongToken = await session.PostAsync("/dpo/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = "forged" }));
        Assert.Equal(HttpStatusCode.BadRequest, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/dpo")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_cookie_opens_no_json_api_and_a_bearer_token_opens_no_dpo_page(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using (var system = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(system, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "head-office-dpo", "toyota", null));

        foreach (var path in new[] { "/admin/users", "/admin/source-systems", "/ledger/entries", HubApp.SubscriptionDataPath(crm, "c1") })
        {
            var response = await session.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)response.StatusCode}");
        }

        using var admin = await app.AdminAsync();
        using var system2 = await app.AsAsync(crm);
        foreach (var client in new[] { admin, system2 })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/dpo")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/exports/toyota/{crm.Nmsc}")).StatusCode);
        }
        // Bearer tokens work as before beside a session.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/admin/users")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Anonymous_browsers_are_sent_to_the_login_page_and_other_clients_get_a_401_problem(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var client = Dpos.Browserless(app);

        foreach (var path in new[] { "/dpo", "/exports/toyota/tgb" })
        {
            using var html = new HttpRequestMessage(HttpMethod.Get, path);
            html.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
            var redirected = await client.SendAsync(html);
            Assert.Equal(HttpStatusCode.Redirect, redirected.StatusCode);
            Assert.Equal("/dpo/login", redirected.Headers.Location?.OriginalString);

            var refused = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }
        var page = await client.GetAsync("/dpo/login");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var text = await page.Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"en\">", text);
        Assert.Contains("<label for=\"username\">", text);
        Assert.Contains("<label for=\"password\">", text);
        Assert.Contains("name=\"viewport\"", text);
        Assert.DoesNotContain("<script", text);
    }
}
