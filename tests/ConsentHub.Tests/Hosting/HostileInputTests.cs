using System.Net;
using System.Text;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Hosting;

/// <summary>Whatever a client sends is answered with a 4xx, never a 500: PostgreSQL refuses U+0000 in text, for one.</summary>
public sealed class HostileInputTests
{
    [ProviderTheory, Providers]
    public async Task A_nul_character_in_a_body_string_is_refused_with_400(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Seed.Consent("OFFERS", true).ToJsonString().Replace("I agree to OFFERS", "I agree\\u0000 to OFFERS");

        var response = await HubApp.SubmitAsync(client, crm, "c1", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("nul-character", (await Json.ReadAsync(response))["violations"]![0]!["rule"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Control_characters_and_overlong_route_values_are_not_found_for_the_admin(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();

        // (Kestrel itself refuses %00 in a path; the hub must cope with everything else.)
        var overlong = new string('x', 5_000);
        foreach (var path in new[]
        {
            "/contexts/toyota/nmscs/tgb/source-systems/crm/customers/a%01b/subscription-data",
            "/contexts/toy%01ota/nmscs/tgb/source-systems/crm/customers/c1/subscription-data",
            "/contexts/toyota/nmscs/t%1Fgb/source-systems/crm/customers/c1/subscription-data/history",
            "/contexts/toyota/nmscs/tgb/source-systems/c%01rm/customers/c1/cluster",
            $"/contexts/toyota/nmscs/tgb/source-systems/crm/customers/{overlong}/subscription-data",
            $"/contexts/{overlong}/nmscs/tgb/source-systems/crm/customers/c1/subscription-data",
            "/admin/organisations/t%01gb",
            $"/admin/organisations/{overlong}/categories",
            "/change-requests/" + overlong,
        })
        {
            var response = await admin.GetAsync(path);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode}");
        }
    }

    [ProviderTheory, Providers]
    public async Task Nul_characters_at_the_token_endpoint_are_refused_as_oauth_errors(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);

        var badUser = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "ad\0min", ["password"] = "x" });
        var badClient = await app.PostTokenAsync("cli\0ent", "secret", new() { ["grant_type"] = "client_credentials" });

        // The form reader refuses U+0000 before OAuth sees it: a problem, not an OAuth error, but a 400 all the same.
        Assert.Equal(HttpStatusCode.BadRequest, badUser.StatusCode);
        Assert.Equal("application/problem+json", badUser.Content.Headers.ContentType!.MediaType);
        var controlUser = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "ad\u0001min", ["password"] = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, controlUser.StatusCode);
        Assert.Equal("invalid_request", (await Json.ReadAsync(controlUser))["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, badClient.StatusCode);
        Assert.Equal("invalid_request", (await Json.ReadAsync(badClient))["error"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Admin_bodies_with_nul_characters_are_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("tgb");

        var response = await admin.PutAsync($"/admin/organisations/{nmsc}",
            new StringContent("""{"name":"bad\u0000name"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{nmsc}")).StatusCode);
    }
}
