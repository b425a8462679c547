using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Tenancy;

/// <summary>Deactivating, reactivating and rotating the credentials of a source system, with two instances on one database.</summary>
public sealed class SourceSystemLifecycleTests
{
    static Dictionary<string, string> Password(SourceSystemCredentials s, string? password = null) =>
        new() { ["grant_type"] = "password", ["username"] = s.Username, ["password"] = password ?? s.Password };

    static readonly Dictionary<string, string> ClientCredentials = new() { ["grant_type"] = "client_credentials" };

    static async Task AssertRefusedTokenAsync(HttpClient client, string path) => await AssertRefusedAsync(await client.GetAsync(path));

    static async Task AssertRefusedAsync(HttpResponseMessage refused)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("invalid_token", (await Json.ReadAsync(refused))["error"]!.GetValue<string>());
    }

    /// <summary>On another instance the refusal comes with PostgreSQL's notice of the change, moments after the answer to it.</summary>
    static async Task AssertRefusedTokenSoonAsync(HttpClient client, string path) =>
        await AssertRefusedAsync(await HubApp.GetUntilUnauthorisedAsync(client, path));

    static async Task<List<string>> LedgerTypesAsync(HttpClient admin) =>
        [.. (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray().Select(e => e!["type"]!.GetValue<string>())];

    [ProviderTheory, Providers]
    public async Task A_deactivated_systems_tokens_stop_working_at_once_here_moments_later_on_every_instance_and_it_gets_no_new_one(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();
        await second.NoticesHeardAsync();   // so that the other instance keeps what it reads, and must hear of the change
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        using var viaClient = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(viaClient, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        using var viaPasswordOnSecond = second.WithToken(await second.TokenAsync(crm.ClientId, crm.ClientSecret, Password(crm)));
        using var viaClientOnSecond = second.WithToken(viaClient.DefaultRequestHeaders.Authorization!.Parameter!);
        Assert.Equal(HttpStatusCode.OK, (await viaPasswordOnSecond.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viaClientOnSecond.GetAsync(path)).StatusCode);

        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/source-systems/{crm.Id}")).StatusCode);

        await AssertRefusedTokenAsync(viaClient, path);
        foreach (var client in new[] { viaPasswordOnSecond, viaClientOnSecond }) await AssertRefusedTokenSoonAsync(client, path);
        var refusedWrite = await HubApp.SubmitAsync(viaClientOnSecond, crm, "c1", Seed.Consent("OFFERS", false));
        Assert.Equal(HttpStatusCode.Unauthorized, refusedWrite.StatusCode);
        foreach (var instance in new[] { app, second })
        foreach (var form in new[] { ClientCredentials, Password(crm) })
        {
            var token = await instance.PostTokenAsync(crm.ClientId, crm.ClientSecret, form);
            Assert.Equal(HttpStatusCode.BadRequest, token.StatusCode);
            Assert.Equal("invalid_grant", (await Json.ReadAsync(token))["error"]!.GetValue<string>());
        }
        var shown = await Json.ReadAsync(await admin.GetAsync($"/admin/source-systems/{crm.Id}"));
        Assert.False(shown["active"]!.GetValue<bool>());
        Assert.NotNull(shown["deactivatedAt"]);
        // Deactivating again changes nothing; the admin still reads the system's records.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/source-systems/{crm.Id}")).StatusCode);
        Assert.Equal(1, (await LedgerTypesAsync(admin)).Count(t => t == "source-system-deactivated"));
        var history = await Json.ReadAsync(await admin.GetAsync(path + "/history"));
        Assert.Equal(1, history["count"]!.GetValue<int>());

        var reactivated = await admin.PostAsync($"/admin/source-systems/{crm.Id}/reactivate", null);
        Assert.Equal(HttpStatusCode.OK, reactivated.StatusCode);
        Assert.True((await Json.ReadAsync(reactivated))["active"]!.GetValue<bool>());
        // The tokens from before the deactivation stay invalid; new ones work, on both instances.
        foreach (var client in new[] { viaClient, viaPasswordOnSecond }) await AssertRefusedTokenAsync(client, path);
        using var fresh = second.WithToken(await app.TokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials));
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync(path)).StatusCode);
        Assert.Contains("source-system-reactivated", await LedgerTypesAsync(admin));
    }

    [ProviderTheory, Providers]
    public async Task Rotating_the_password_and_the_client_secret_ends_the_old_ones_and_every_earlier_token_here_and_moments_later_everywhere(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();
        await second.NoticesHeardAsync();   // so that the other instance keeps what it reads, and must hear of the change
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        using var before = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(before, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        // Both instances have used the old client secret, so any cache of it is warm.
        Assert.Equal(HttpStatusCode.OK, (await second.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials)).StatusCode);
        using var admin = await app.AdminAsync();

        var rotatedPassword = await admin.PostAsync($"/admin/source-systems/{crm.Id}/rotate-password", null);
        Assert.Equal(HttpStatusCode.OK, rotatedPassword.StatusCode);
        var password = (await Json.ReadAsync(rotatedPassword))["password"]!.GetValue<string>();
        Assert.NotEqual(crm.Password, password);
        await AssertRefusedTokenAsync(before, path);
        await AssertRefusedTokenSoonAsync(second.WithToken(before.DefaultRequestHeaders.Authorization!.Parameter!), path);
        var oldPassword = await second.PostTokenAsync(crm.ClientId, crm.ClientSecret, Password(crm));
        Assert.Equal(HttpStatusCode.BadRequest, oldPassword.StatusCode);
        Assert.Equal("invalid_grant", (await Json.ReadAsync(oldPassword))["error"]!.GetValue<string>());
        using var withNewPassword = app.WithToken(await second.TokenAsync(crm.ClientId, crm.ClientSecret, Password(crm, password)));
        Assert.Equal(HttpStatusCode.OK, (await withNewPassword.GetAsync(path)).StatusCode);

        var rotatedSecret = await admin.PostAsync($"/admin/source-systems/{crm.Id}/rotate-client-secret", null);
        Assert.Equal(HttpStatusCode.OK, rotatedSecret.StatusCode);
        var rotated = await Json.ReadAsync(rotatedSecret);
        var secret = rotated["clientSecret"]!.GetValue<string>();
        Assert.Equal(crm.ClientId, rotated["clientId"]!.GetValue<string>());
        Assert.Null(rotated["password"]);
        await AssertRefusedTokenAsync(withNewPassword, path);
        foreach (var instance in new[] { app, second })
        {
            var oldSecret = await instance.PostTokenAsync(crm.ClientId, crm.ClientSecret, ClientCredentials);
            Assert.Equal(HttpStatusCode.Unauthorized, oldSecret.StatusCode);
            Assert.Equal("invalid_client", (await Json.ReadAsync(oldSecret))["error"]!.GetValue<string>());
            using var withNewSecret = instance.WithToken(await instance.TokenAsync(crm.ClientId, secret, ClientCredentials));
            Assert.Equal(HttpStatusCode.OK, (await withNewSecret.GetAsync(path)).StatusCode);
        }
        // The secrets are shown once: reading the system shows neither.
        var shown = (await admin.GetStringAsync($"/admin/source-systems/{crm.Id}"));
        Assert.DoesNotContain(secret, shown);
        Assert.DoesNotContain(password, shown);
        var types = await LedgerTypesAsync(admin);
        Assert.Contains("source-system-password-rotated", types);
        Assert.Contains("source-system-client-secret-rotated", types);
    }

    [ProviderTheory, Providers]
    public async Task Lifecycle_actions_on_an_unknown_source_system_are_404(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();

        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/admin/source-systems/987654321")).StatusCode);
        foreach (var action in new[] { "reactivate", "rotate-password", "rotate-client-secret" })
        {
            var response = await admin.PostAsync($"/admin/source-systems/987654321/{action}", null);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{action}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }
}
