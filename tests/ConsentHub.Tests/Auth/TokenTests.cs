using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Auth;

/// <summary>POST /oauth/token (RFC 6749, seed 004 §5.5) and what the hub answers to bad bearer tokens.</summary>
public sealed class TokenTests
{
    static Dictionary<string, string> PasswordGrant(string username, string password, string? scope = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "password", ["username"] = username, ["password"] = password };
        if (scope is not null) form["scope"] = scope;
        return form;
    }

    static Dictionary<string, string> ClientCredentials(string? scope = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        if (scope is not null) form["scope"] = scope;
        return form;
    }

    // ---- successful grants ------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Password_grant_of_a_source_system_returns_the_published_token_members(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");

        var response = await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, PasswordGrant(crm.Username, crm.Password));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await Json.ReadAsync(response)).AsObject();
        AssertPublishedMembers(body);
        Assert.Equal("read write", body["scope"]!.GetValue<string>());
        Assert.Equal("crm", body["source_system"]!.GetValue<string>());
        Assert.Equal(nmsc, body["nmsc"]!.GetValue<string>());

        var claims = Payload(body["access_token"]!.GetValue<string>());
        Assert.Equal(body["jti"]!.GetValue<string>(), claims["jti"]!.GetValue<string>());
        Assert.Equal(nmsc, claims["nmsc"]!.GetValue<string>());
        Assert.Equal("toyota", claims["context"]!.GetValue<string>());
        Assert.Equal("crm", claims["source_system"]!.GetValue<string>());

        // The token really works for the holder's own data.
        using var client = app.WithToken(body["access_token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Password_grant_of_the_admin_with_the_bootstrap_client_has_null_source_system_and_nmsc(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);

        var response = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret, PasswordGrant("admin", HubApp.AdminPassword));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await Json.ReadAsync(response)).AsObject();
        AssertPublishedMembers(body);
        Assert.Equal("read write", body["scope"]!.GetValue<string>());
        // Present, with JSON null, as in the seed's example.
        Assert.True(body.ContainsKey("source_system"), body.ToJsonString());
        Assert.Null(body["source_system"]);
        Assert.True(body.ContainsKey("nmsc"), body.ToJsonString());
        Assert.Null(body["nmsc"]);
        Assert.Equal(body["jti"]!.GetValue<string>(), Payload(body["access_token"]!.GetValue<string>())["jti"]!.GetValue<string>());

        using var admin = app.WithToken(body["access_token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/ledger/verify")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Client_credentials_of_a_source_system_returns_the_published_token_members(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var web = await app.RegisterSourceSystemAsync(nmsc, "lexus", "web form");

        var response = await app.PostTokenAsync(web.ClientId, web.ClientSecret, ClientCredentials());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await Json.ReadAsync(response)).AsObject();
        AssertPublishedMembers(body);
        Assert.Equal("read write", body["scope"]!.GetValue<string>());
        Assert.Equal("web form", body["source_system"]!.GetValue<string>());
        Assert.Equal(nmsc, body["nmsc"]!.GetValue<string>());
        var claims = Payload(body["access_token"]!.GetValue<string>());
        Assert.Equal(body["jti"]!.GetValue<string>(), claims["jti"]!.GetValue<string>());
        Assert.Equal("lexus", claims["context"]!.GetValue<string>());

        using var client = app.WithToken(body["access_token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, web, "c1", Seed.Consent("OFFERS", true))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Each_token_has_its_own_jti(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");

        var first = await Json.ReadAsync(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials()));
        var second = await Json.ReadAsync(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials()));

        Assert.NotEqual(first["jti"]!.GetValue<string>(), second["jti"]!.GetValue<string>());
    }

    static void AssertPublishedMembers(JsonObject body)
    {
        var json = body.ToJsonString();
        Assert.False(string.IsNullOrEmpty(body["access_token"]?.GetValue<string>()), json);
        Assert.Equal(3, body["access_token"]!.GetValue<string>().Split('.').Length);
        Assert.Equal("bearer", body["token_type"]!.GetValue<string>());
        Assert.True(body["expires_in"]!.GetValue<long>() > 0, json);
        Assert.False(string.IsNullOrEmpty(body["jti"]?.GetValue<string>()), json);
        Assert.True(body.ContainsKey("scope"), json);
        Assert.True(body.ContainsKey("source_system"), json);
        Assert.True(body.ContainsKey("nmsc"), json);
    }

    // ---- refused grants -------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Wrong_password_is_invalid_grant(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");

        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, PasswordGrant(crm.Username, crm.Password + "x")),
            HttpStatusCode.BadRequest, "invalid_grant");
        await AssertError(await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret, PasswordGrant("admin", "not-" + HubApp.AdminPassword)),
            HttpStatusCode.BadRequest, "invalid_grant");
        await AssertError(await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret, PasswordGrant("nobody-" + Guid.NewGuid(), HubApp.AdminPassword)),
            HttpStatusCode.BadRequest, "invalid_grant");
    }

    [ProviderTheory, Providers]
    public async Task Wrong_client_secret_is_invalid_client_with_401(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");

        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret + "x", PasswordGrant(crm.Username, crm.Password)),
            HttpStatusCode.Unauthorized, "invalid_client");
        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret + "x", ClientCredentials()),
            HttpStatusCode.Unauthorized, "invalid_client");
        await AssertError(await app.PostTokenAsync(HubApp.AdminClientId, "wrong", PasswordGrant("admin", HubApp.AdminPassword)),
            HttpStatusCode.Unauthorized, "invalid_client");
        // Another system's secret does not open this system's client.
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await AssertError(await app.PostTokenAsync(crm.ClientId, other.ClientSecret, ClientCredentials()),
            HttpStatusCode.Unauthorized, "invalid_client");
    }

    [ProviderTheory, Providers]
    public async Task A_source_systems_client_cannot_sign_in_another_source_systems_user(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var sameOrganisation = await app.RegisterSourceSystemAsync(crm.Nmsc, "toyota", "dealer");
        var otherOrganisation = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");

        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, PasswordGrant(sameOrganisation.Username, sameOrganisation.Password)),
            HttpStatusCode.BadRequest, "invalid_grant");
        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, PasswordGrant(otherOrganisation.Username, otherOrganisation.Password)),
            HttpStatusCode.BadRequest, "invalid_grant");
        // Nor the admin.
        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, PasswordGrant("admin", HubApp.AdminPassword)),
            HttpStatusCode.BadRequest, "invalid_grant");
    }

    [ProviderTheory, Providers]
    public async Task Client_credentials_with_the_admin_client_is_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);

        var response = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret, ClientCredentials());

        await AssertError(response, HttpStatusCode.BadRequest, "unauthorized_client");
    }

    [ProviderTheory, Providers]
    public async Task Unknown_grant_type_and_unknown_scope_are_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");

        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "authorization_code", ["code"] = "x" }),
            HttpStatusCode.BadRequest, "unsupported_grant_type");
        await AssertError(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials("read admin")),
            HttpStatusCode.BadRequest, "invalid_scope");
    }

    [ProviderTheory, Providers]
    public async Task A_read_scoped_token_reads_but_cannot_write(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using (var writer = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(writer, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);

        foreach (var response in new[]
                 {
                     await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials("read")),
                     await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, PasswordGrant(crm.Username, crm.Password, "read")),
                 })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await Json.ReadAsync(response);
            Assert.Equal("read", body["scope"]!.GetValue<string>());
            using var reader = app.WithToken(body["access_token"]!.GetValue<string>());

            Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await HubApp.SubmitAsync(reader, crm, "c2", Seed.Consent("OFFERS", true))).StatusCode);
        }
        // The refused write stored nothing.
        using var check = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.NotFound, (await check.GetAsync(HubApp.SubscriptionDataPath(crm, "c2"))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_write_scoped_token_writes_but_cannot_read(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var body = await Json.ReadAsync(await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials("write")));
        Assert.Equal("write", body["scope"]!.GetValue<string>());
        using var writer = app.WithToken(body["access_token"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(writer, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"))).StatusCode);
    }

    static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {error}, got {(int)response.StatusCode}: {text}");
        var body = JsonNode.Parse(text)!;
        Assert.Equal(error, body["error"]!.GetValue<string>());
        Assert.Null(body["access_token"]);
    }

    // ---- bad bearer tokens ----------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task A_garbage_bearer_token_gets_401_invalid_token_with_a_json_body(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = app.WithToken("garbage");

        var response = await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"));

        await AssertInvalidToken(response);
    }

    [ProviderTheory, Providers]
    public async Task A_missing_token_gets_401_invalid_token(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = app.CreateClient();

        await AssertInvalidToken(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")));
        await AssertInvalidToken(await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true)));
        await AssertInvalidToken(await client.GetAsync("/admin/source-systems"));
    }

    [ProviderTheory, Providers]
    public async Task An_expired_token_signed_with_the_servers_own_key_gets_401_invalid_token(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using (var writer = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(writer, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        var token = await app.TokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials());
        var key = app.Services.GetRequiredService<TokenKeys>().Signing;

        // Control: the same re-signing without touching the lifetime yields a token the hub accepts,
        // so the refusal below is about the expiry and nothing else.
        var resigned = Resign(token, key, _ => { });
        using (var control = app.WithToken(resigned))
            Assert.Equal(HttpStatusCode.OK, (await control.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"))).StatusCode);

        var past = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds();
        var expired = Resign(token, key, payload =>
        {
            payload["iat"] = past;
            if (payload.ContainsKey("nbf")) payload["nbf"] = past;
            payload["exp"] = past + 60;
        });
        using var client = app.WithToken(expired);

        var response = await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"));

        var body = await AssertInvalidToken(response);
        Assert.Contains("no longer valid", body["error_description"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        // The answer never echoes the token back.
        Assert.DoesNotContain(expired, body.ToJsonString());
    }

    [ProviderTheory, Providers]
    public async Task A_token_that_worked_gets_401_invalid_token_from_the_moment_it_expires(DatabaseProvider provider)
    {
        // A token the hub has validated is not validated again on each request until it expires (ValidatedTokens):
        // its expiry must still end it, on the hub's clock.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, services: s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        // Kept after its first validation, so the requests below are answered from what was kept.
        Assert.True(app.Services.GetRequiredService<ValidatedTokens>().TryGet(client.DefaultRequestHeaders.Authorization!.Parameter!, out _));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        var lifetime = TimeSpan.FromMinutes(new TokenOptions().AccessTokenLifetimeMinutes);

        clock.Advance(lifetime - TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(2));

        var body = await AssertInvalidToken(await client.GetAsync(path));
        Assert.Contains("no longer valid", body["error_description"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    [ProviderTheory, Providers]
    public async Task A_token_with_a_forged_signature_gets_401_invalid_token(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var victim = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var token = await app.TokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials());

        // Claims rewritten to another organisation, signed with a key that is not the hub's.
        using var rsa = RSA.Create(2048);
        var forged = Resign(token, new Microsoft.IdentityModel.Tokens.RsaSecurityKey(rsa), payload => payload["nmsc"] = victim.Nmsc);
        using var client = app.WithToken(forged);

        await AssertInvalidToken(await client.GetAsync(HubApp.SubscriptionDataPath(victim, "c1")));
    }

    static async Task<JsonNode> AssertInvalidToken(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"expected 401, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("invalid_token", body["error"]!.GetValue<string>());
        Assert.True(body.ContainsKey("error_description"), text);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        return body;
    }

    // ---- JWT by hand ------------------------------------------------------------------------------

    internal static JsonObject Payload(string jwt) => JsonNode.Parse(FromBase64Url(jwt.Split('.')[1]))!.AsObject();

    static string Resign(string jwt, Microsoft.IdentityModel.Tokens.RsaSecurityKey key, Action<JsonObject> edit)
    {
        var parts = jwt.Split('.');
        var header = JsonNode.Parse(FromBase64Url(parts[0]))!.AsObject();
        Assert.Equal("RS256", header["alg"]!.GetValue<string>());
        var payload = JsonNode.Parse(FromBase64Url(parts[1]))!.AsObject();
        edit(payload);
        var input = ToBase64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + ToBase64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var rsa = key.Rsa ?? RSA.Create(key.Parameters);
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + ToBase64Url(signature);
    }

    static byte[] FromBase64Url(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }

    static string ToBase64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
