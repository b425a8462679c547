using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Propagation;

public sealed class DestinationTests
{
    static readonly Dictionary<string, string?> Loopback = new() { ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true" };

    static string PathOf(SourceSystemCredentials s) => $"/contexts/{s.Context}/nmscs/{s.Nmsc}/source-systems/{s.Name}/destination";

    [ProviderTheory, Providers]
    public async Task A_source_system_registers_its_destination_and_sees_the_secrets_once(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Loopback);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var created = await client.PutAsJsonAsync(PathOf(crm), new { uri = "http://127.0.0.1:9/hooks/consent", version = "1.0" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await Json.ReadAsync(created);
        var apiKey = body["apiKey"]!.GetValue<string>();
        var secret = body["signingSecret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", secret);
        Assert.True(Convert.FromBase64String(secret["whsec_".Length..]).Length >= 24);
        var shown = await Json.ReadAsync(await client.GetAsync(PathOf(crm)));
        Assert.Null(shown["apiKey"]);
        Assert.Null(shown["signingSecret"]);
        Assert.Equal("http://127.0.0.1:9/hooks/consent", shown["uri"]!.GetValue<string>());
        using (var scope = app.Scope())
        {
            var row = await app.Db(scope).Destinations.SingleAsync();
            Assert.DoesNotContain(apiKey, row.ProtectedApiKey);
            Assert.DoesNotContain(secret, row.ProtectedSigningSecret);
        }

        var changed = await client.PutAsJsonAsync(PathOf(crm), new { uri = "http://localhost:9/other", version = "1" });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Null((await Json.ReadAsync(changed))["signingSecret"]);

        var rotated = await Json.ReadAsync(await client.PostAsync(PathOf(crm) + "/rotate-secret", null));
        Assert.StartsWith("whsec_", rotated["signingSecret"]!.GetValue<string>());
        Assert.NotEqual(secret, rotated["signingSecret"]!.GetValue<string>());
        Assert.NotNull(rotated["previousSecretValidUntil"]);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(PathOf(crm))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(PathOf(crm))).StatusCode);
        using var admin = await app.AdminAsync();
        var types = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("destination-registered", types);
        Assert.Contains("destination-secret-rotated", types);
        Assert.Contains("destination-deleted", types);
    }

    [ProviderTheory, Providers]
    public async Task Unsafe_or_unsupported_destinations_are_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);

        foreach (var (uri, version, field) in new[]
        {
            ("http://127.0.0.1:9/hook", "1.0", "uri"),          // plain http without AllowInsecureLoopback
            ("https://169.254.169.254/latest", "1.0", "uri"),   // cloud metadata
            ("https://[fe80::1]/hook", "1.0", "uri"),           // link-local
            ("not a uri", "1.0", "uri"),
            ("https://127.0.0.1/hook", "2.0", "version"),
        })
        {
            var response = await client.PutAsJsonAsync(PathOf(crm), new { uri, version });
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{uri} {version}: {(int)response.StatusCode}");
            Assert.Contains(field, (await Json.ReadAsync(response))["violations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>()));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(PathOf(crm))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Only_the_system_itself_or_the_admin_manages_a_destination(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Loopback);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        var other = await app.RegisterSourceSystemAsync("tmi", "toyota", "crm");
        using var sibling = await app.AsAsync(dms);
        using var stranger = await app.AsAsync(other);
        using var admin = await app.AdminAsync();
        var body = new { uri = "http://127.0.0.1:9/hook", version = "1.0" };

        Assert.Equal(HttpStatusCode.Forbidden, (await sibling.PutAsJsonAsync(PathOf(crm), body)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PutAsJsonAsync(PathOf(crm), body)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync(PathOf(crm), body)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await sibling.GetAsync(PathOf(crm))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(PathOf(crm))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().GetAsync(PathOf(crm))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(PathOf(crm))).StatusCode);
    }
}
