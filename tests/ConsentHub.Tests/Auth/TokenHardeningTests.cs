using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Auth;

/// <summary>Issue 14 §8.2 and §8.6: lock-out, rate limit and timing of POST /oauth/token, and one issuer for every instance.</summary>
public sealed class TokenHardeningTests
{
    static Dictionary<string, string> Password(string username, string password) =>
        new() { ["grant_type"] = "password", ["username"] = username, ["password"] = password };

    static readonly Dictionary<string, string> ClientCredentials = new() { ["grant_type"] = "client_credentials" };

    static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {text}");
        Assert.Equal(error, System.Text.Json.Nodes.JsonNode.Parse(text)!["error"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Repeated_wrong_passwords_lock_the_username_on_every_instance_and_the_right_password_is_refused_meanwhile(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");

        for (var i = 0; i < ConsentHub.Auth.SignInOptions.DefaultMaxFailures; i++)
            await AssertErrorAsync(await (i % 2 == 0 ? app : second).PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm.Username, "wrong-" + i)),
                HttpStatusCode.BadRequest, "invalid_grant");

        // Locked: the right password is refused on both instances, in the words of a wrong one.
        foreach (var instance in new[] { app, second })
        {
            var locked = await instance.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm.Username, crm.Password));
            await AssertErrorAsync(locked, HttpStatusCode.BadRequest, "invalid_grant");
        }
        using (var scope = app.Scope())
        {
            var user = await app.Db(scope).Users.AsNoTracking().SingleAsync(u => u.Username == crm.Username);
            Assert.InRange(user.LockedUntil!.Value - DateTime.UtcNow, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15.1));
        }
        // The lock is the user's: the system's client still gets client_credentials tokens.
        Assert.Equal(HttpStatusCode.OK, (await second.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials)).StatusCode);

        // 15 minutes later (moved on in the database, where every instance reads it) the right password works again.
        using (var scope = app.Scope())
            await app.Db(scope).Users.Where(u => u.Username == crm.Username).ExecuteUpdateAsync(s => s.SetProperty(u => u.LockedUntil, DateTime.UtcNow.AddSeconds(-1)));
        Assert.Equal(HttpStatusCode.OK, (await second.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm.Username, crm.Password))).StatusCode);
        using (var scope = app.Scope())
        {
            var user = await app.Db(scope).Users.AsNoTracking().SingleAsync(u => u.Username == crm.Username);
            Assert.Equal(0, user.FailedLogins);
            Assert.Null(user.LockedUntil);
        }
    }

    [ProviderTheory, Providers]
    public async Task Repeated_wrong_client_secrets_lock_the_client_on_every_instance_and_the_right_secret_is_refused_meanwhile(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        // A success clears the count: only failures in a row lock.
        await AssertErrorAsync(await app.PostTokenAsync(crm.ClientId, "wrong", ClientCredentials), HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(HttpStatusCode.OK, (await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials)).StatusCode);

        for (var i = 0; i < ConsentHub.Auth.SignInOptions.DefaultMaxFailures; i++)
            await AssertErrorAsync(await (i % 2 == 0 ? app : second).PostTokenAsync(crm.ClientId, "wrong-" + i, i % 3 == 0 ? ClientCredentials : Password(crm.Username, crm.Password)),
                HttpStatusCode.Unauthorized, "invalid_client");

        foreach (var instance in new[] { app, second })
        {
            await AssertErrorAsync(await instance.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials), HttpStatusCode.Unauthorized, "invalid_client");
            await AssertErrorAsync(await instance.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm.Username, crm.Password)), HttpStatusCode.Unauthorized, "invalid_client");
        }
        // Unknown clients leave no rows behind: only registered ones are counted.
        await AssertErrorAsync(await app.PostTokenAsync("client_unknown", "wrong", ClientCredentials), HttpStatusCode.Unauthorized, "invalid_client");
        using (var scope = app.Scope())
        {
            var rows = await app.Db(scope).ClientLockouts.AsNoTracking().ToListAsync();
            var row = Assert.Single(rows);
            Assert.Equal(crm.ClientId, row.ClientId);
            Assert.InRange(row.LockedUntil!.Value - DateTime.UtcNow, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15.1));
            await app.Db(scope).ClientLockouts.ExecuteUpdateAsync(s => s.SetProperty(l => l.LockedUntil, DateTime.UtcNow.AddSeconds(-1)));
        }
        Assert.Equal(HttpStatusCode.OK, (await second.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Token_requests_beyond_the_rate_limit_of_an_address_get_429_with_retry_after(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new()
        {
            ["ConsentHub:Tokens:RateLimitPermits"] = "3",
            ["ConsentHub:Tokens:RateLimitWindowSeconds"] = "600",
        });

        // Whatever they answer, three requests pass the limiter; the fourth does not even reach the credential check.
        for (var i = 0; i < 3; i++)
        {
            var allowed = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret, Password("admin", i == 0 ? HubApp.AdminPassword : "wrong"));
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }
        var refused = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret, Password("admin", HubApp.AdminPassword));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var retryAfter = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 600);
        var body = await Json.ReadAsync(refused);
        Assert.Equal(429, body["status"]!.GetValue<int>());
        Assert.Equal("too_many_requests", body["error"]!.GetValue<string>());
        Assert.NotNull(body["error_description"]);
        // The limit is the token endpoint's: the rest of the API is not counted.
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/health")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task An_unknown_username_is_answered_in_the_time_of_a_known_one(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var known = new List<double>();
        var unknown = new List<double>();
        // Warm both paths first (JIT, connection pool, the decoy hash).
        await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm.Username, crm.Password));
        await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password("nobody-" + Guid.NewGuid().ToString("N"), "whatever"));

        // Interleaved, so that load on the machine weighs on both alike. Without the decoy hash an unknown user is
        // answered more than ten times faster; the margin here is wide enough for a busy machine.
        for (var i = 0; i < 9; i++)
        {
            known.Add(await TimeAsync(() => app.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm.Username, crm.Password)), HttpStatusCode.OK));
            unknown.Add(await TimeAsync(() => app.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password("nobody-" + Guid.NewGuid().ToString("N"), "whatever")), HttpStatusCode.BadRequest));
        }
        Assert.True(Median(unknown) >= 0.5 * Median(known), $"unknown {Median(unknown):F1} ms, known {Median(known):F1} ms");
    }

    static async Task<double> TimeAsync(Func<Task<HttpResponseMessage>> request, HttpStatusCode expected)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await request();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Assert.Equal(expected, response.StatusCode);
        return elapsed;
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    // ---- §8.6: one issuer ---------------------------------------------------------------------------

    static async Task<string> TokenViaHostAsync(HubApp app, string host)
    {
        using var client = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri($"http://{host}/") });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(Password("admin", HubApp.AdminPassword)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{HubApp.AdminClientId}:{HubApp.AdminClientSecret}")));
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Json.ReadAsync(response))["access_token"]!.GetValue<string>();
    }

    static async Task<HttpResponseMessage> ReadViaHostAsync(HubApp app, string host, string token)
    {
        using var client = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri($"http://{host}/") });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.GetAsync("/ledger/verify");
    }

    [ProviderTheory, Providers]
    public async Task Two_instances_reached_by_different_host_names_accept_each_others_tokens(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();

        var fromOne = await TokenViaHostAsync(app, "hub-one.example");
        var fromTwo = await TokenViaHostAsync(second, "hub-two.example:8443");

        // The issuer is the configured public base URL, not the Host the token was asked for at.
        Assert.Equal("http://localhost:5080/", TokenTests.Payload(fromOne)["iss"]!.GetValue<string>());
        Assert.Equal("http://localhost:5080/", TokenTests.Payload(fromTwo)["iss"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await ReadViaHostAsync(second, "hub-two.example:8443", fromOne)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ReadViaHostAsync(app, "hub-one.example", fromTwo)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ReadViaHostAsync(second, "10.0.0.7", fromOne)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_issuer_setting_names_the_tokens_and_an_instance_with_another_issuer_refuses_them(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Tokens:Issuer"] = "https://consent.example.com" });
        await using var same = app.SecondInstance(new() { ["ConsentHub:Tokens:Issuer"] = "https://consent.example.com" });
        await using var other = app.SecondInstance(new() { ["ConsentHub:Tokens:Issuer"] = "https://elsewhere.example.com" });

        var token = await TokenViaHostAsync(app, "internal-node-1");

        Assert.Equal("https://consent.example.com/", TokenTests.Payload(token)["iss"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await ReadViaHostAsync(same, "internal-node-2", token)).StatusCode);
        var refused = await ReadViaHostAsync(other, "internal-node-3", token);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("invalid_token", (await Json.ReadAsync(refused))["error"]!.GetValue<string>());
    }
}
