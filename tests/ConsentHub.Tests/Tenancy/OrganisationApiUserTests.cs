using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Tenancy;

/// <summary>The organisation-level API user of seed 004 §5.5's sample token: reads its organisation, writes nothing.</summary>
public sealed class OrganisationApiUserTests
{
    [ProviderTheory, Providers]
    public async Task Its_token_has_the_shape_of_the_seeds_sample_null_source_system_the_nmsc_and_NMSC_ROLE(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var user = await ApiUsers.CreateAsync(app, nmsc);
        Assert.Equal(nmsc, user.Nmsc);
        Assert.Null(user.Context);

        var response = await app.PostTokenAsync(user.ClientId, user.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = user.Username, ["password"] = user.Password });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await Json.ReadAsync(response)).AsObject();
        Assert.True(body.ContainsKey("source_system"));
        Assert.Null(body["source_system"]);
        Assert.Equal(nmsc, body["nmsc"]!.GetValue<string>());
        Assert.Equal("bearer", body["token_type"]!.GetValue<string>());
        // It writes nothing, so its token carries the read scope only, even when write is asked for.
        Assert.Equal("read", body["scope"]!.GetValue<string>());
        var claims = Auth.TokenTests.Payload(body["access_token"]!.GetValue<string>());
        Assert.Equal("NMSC_ROLE", Assert.Single(claims["authorities"]!.AsArray())!.GetValue<string>());
        Assert.Equal(nmsc, claims["nmsc"]!.GetValue<string>());

        // Its client also has client_credentials, and signs in no other user.
        var viaClient = await app.PostTokenAsync(user.ClientId, user.ClientSecret, new() { ["grant_type"] = "client_credentials", ["scope"] = "read write" });
        Assert.Equal(HttpStatusCode.OK, viaClient.StatusCode);
        Assert.Equal("read", (await Json.ReadAsync(viaClient))["scope"]!.GetValue<string>());
        var writeOnly = await app.PostTokenAsync(user.ClientId, user.ClientSecret, new() { ["grant_type"] = "client_credentials", ["scope"] = "write" });
        Assert.Equal(HttpStatusCode.BadRequest, writeOnly.StatusCode);
        Assert.Equal("invalid_scope", (await Json.ReadAsync(writeOnly))["error"]!.GetValue<string>());
        var admin = await app.PostTokenAsync(user.ClientId, user.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = HubApp.AdminPassword });
        Assert.Equal(HttpStatusCode.BadRequest, admin.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_admin_lists_and_removes_api_users_and_a_removed_users_token_is_refused_at_once_here_and_moments_later_everywhere(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await using var second = app.SecondInstance();
        await second.NoticesHeardAsync();   // so that the other instance keeps what it reads, and must hear of the change
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var asCrm = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        var user = await ApiUsers.CreateAsync(app, "tgb", "toyota");
        using var asUser = await ApiUsers.AsAsync(app, user);
        var token = asUser.DefaultRequestHeaders.Authorization!.Parameter!;
        using var onSecond = second.WithToken(token);
        Assert.Equal(HttpStatusCode.OK, (await onSecond.GetAsync(HubApp.SubscriptionDataPath(crm, "c1"))).StatusCode);

        using var admin = await app.AdminAsync();
        var list = await Json.ReadAsync(await admin.GetAsync("/admin/organisations/tgb/api-users"));
        var listed = Assert.Single(list["apiUsers"]!.AsArray())!;
        Assert.Equal(user.Username, listed["username"]!.GetValue<string>());
        Assert.Equal("toyota", listed["context"]!.GetValue<string>());
        Assert.Null(listed["password"]);
        Assert.Null(listed["clientSecret"]);
        var self = listed["_links"]!["self"]!["href"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(self)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/admin/organisations/other/api-users")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(self)).StatusCode);

        // Refused by the instance that removed the user as soon as it answered; by the other when the database's notice reaches it.
        foreach (var refused in new[] { await asUser.GetAsync(HubApp.SubscriptionDataPath(crm, "c1")),
                     await HubApp.GetUntilUnauthorisedAsync(onSecond, HubApp.SubscriptionDataPath(crm, "c1")) })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("invalid_token", (await Json.ReadAsync(refused))["error"]!.GetValue<string>());
        }
        var again = await app.PostTokenAsync(user.ClientId, user.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = user.Username, ["password"] = user.Password });
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync(self)).StatusCode);
        var types = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray()
            .Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("organisation-api-user-created", types);
        Assert.Contains("organisation-api-user-deleted", types);
    }

    [ProviderTheory, Providers]
    public async Task Creating_an_api_user_for_an_unknown_organisation_or_context_is_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();

        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/admin/organisations/{HubApp.Unique("none")}/api-users", null)).StatusCode);
        var badContext = await admin.PostAsync($"/admin/organisations/{nmsc}/api-users",
            new StringContent("""{"context":"no-such-context"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badContext.StatusCode);
        var violation = (await Json.ReadAsync(badContext))["violations"]![0]!;
        Assert.Equal("context", violation["field"]!.GetValue<string>());
        Assert.Equal("must-exist", violation["rule"]!.GetValue<string>());
        Assert.Equal(0, (await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}/api-users")))["count"]!.GetValue<int>());
    }
}
