using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Bulk;

/// <summary>The admin's DPO users: creation rules, the password shown once, listing, removal, the ledger.</summary>
public sealed class DpoUserTests
{
    static async Task<JsonNode> AssertInvalidAsync(HttpResponseMessage response, string field, string rule)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Contains(problem["violations"]!.AsArray(), v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        return problem;
    }

    [ProviderTheory, Providers]
    public async Task An_organisation_dpo_is_created_with_a_password_shown_once_and_stored_hashed(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        var username = HubApp.Unique("dpo");

        var created = await admin.PostAsJsonAsync("/admin/users", new { username, role = "dpo", context = "toyota", nmsc = crm.Nmsc });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/admin/users/{username}", created.Headers.Location!.OriginalString);
        var body = await Json.ReadAsync(created);
        Assert.Equal(username, body["username"]!.GetValue<string>());
        Assert.Equal("dpo", body["role"]!.GetValue<string>());
        Assert.Equal(crm.Nmsc, body["nmsc"]!.GetValue<string>());
        var password = body["password"]!.GetValue<string>();
        Assert.True(password.Length >= 40);
        Assert.Null(body["passwordHash"]);

        var read = await Json.ReadAsync(await admin.GetAsync($"/admin/users/{username}"));
        Assert.Null(read["password"]);
        Assert.Null(read["passwordHash"]);
        Assert.Equal("toyota", read["context"]!.GetValue<string>());
        var listed = await Json.ReadAsync(await admin.GetAsync("/admin/users?role=dpo&limit=1000"));
        Assert.Contains(listed["users"]!.AsArray(), u => u!["username"]!.GetValue<string>() == username);
        Assert.DoesNotContain(password, listed.ToJsonString());

        using var scope = app.Scope();
        var db = app.Db(scope);
        var user = await db.Users.SingleAsync(u => u.Username == username);
        Assert.NotEqual(password, user.PasswordHash);
        Assert.True(ConsentHub.Auth.Secrets.VerifyPassword(user.PasswordHash, password));
        var entry = await db.LedgerEntries.Where(e => e.Type == "dpo-user-created" && e.Payload.Contains(username)).SingleAsync();
        Assert.DoesNotContain(password, entry.Payload);
        Assert.Contains("\"role\":\"dpo\"", entry.Payload);
    }

    [ProviderTheory, Providers]
    public async Task A_head_office_dpo_needs_a_context_and_no_organisation(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();

        var created = await admin.PostAsJsonAsync("/admin/users", new { username = HubApp.Unique("tme"), role = "head-office-dpo", context = "toyota" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Null((await Json.ReadAsync(created))["nmsc"]);

        await AssertInvalidAsync(await admin.PostAsJsonAsync("/admin/users",
            new { username = HubApp.Unique("tme"), role = "head-office-dpo", context = "toyota", nmsc = crm.Nmsc }), "nmsc", "not-allowed-for-head-office-dpo");
        await AssertInvalidAsync(await admin.PostAsJsonAsync("/admin/users",
            new { username = HubApp.Unique("tme"), role = "head-office-dpo" }), "context", "required");
    }

    [ProviderTheory, Providers]
    public async Task Bad_input_is_refused_naming_the_field_and_the_rule_and_creates_nobody(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();

        var cases = new (object Body, string Field, string Rule)[]
        {
            (new { role = "dpo", context = "toyota", nmsc = crm.Nmsc }, "username", "required"),
            (new { username = "has space", role = "dpo", context = "toyota", nmsc = crm.Nmsc }, "username", "username"),
            (new { username = HubApp.Unique("dpo"), context = "toyota", nmsc = crm.Nmsc }, "role", "required"),
            (new { username = HubApp.Unique("dpo"), role = "admin", context = "toyota", nmsc = crm.Nmsc }, "role", "dpo-role"),
            (new { username = HubApp.Unique("dpo"), role = "source-system", context = "toyota", nmsc = crm.Nmsc }, "role", "dpo-role"),
            (new { username = HubApp.Unique("dpo"), role = "dpo", context = "toyota" }, "nmsc", "required-for-dpo"),
            (new { username = HubApp.Unique("dpo"), role = "dpo", context = "toyota", nmsc = "Not A Name!" }, "nmsc", "tenant-name"),
            (new { username = HubApp.Unique("dpo"), role = "dpo", context = "toyota", nmsc = HubApp.Unique("nowhere") }, "nmsc", "must-exist"),
            (new { username = HubApp.Unique("dpo"), role = "dpo", context = HubApp.Unique("nobrand"), nmsc = crm.Nmsc }, "context", "must-exist"),
        };
        foreach (var (body, field, rule) in cases)
            await AssertInvalidAsync(await admin.PostAsJsonAsync("/admin/users", body), field, rule);
        var wrongType = await admin.PostAsync("/admin/users", new StringContent("""{"username": 5}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);

        var list = await Json.ReadAsync(await admin.GetAsync("/admin/users?role=dpo&limit=1000"));
        Assert.DoesNotContain(list["users"]!.AsArray(), u => u!["nmsc"]?.GetValue<string>() == crm.Nmsc);
    }

    [ProviderTheory, Providers]
    public async Task A_duplicate_username_is_refused_with_409_whatever_the_role(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);
        using var admin = await app.AdminAsync();

        foreach (var username in new[] { dpo.Username, "admin", crm.Username })
        {
            var again = await admin.PostAsJsonAsync("/admin/users", new { username, role = "head-office-dpo", context = "toyota" });
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        }
    }

    [ProviderTheory, Providers]
    public async Task Users_are_listed_in_pages_with_a_next_link(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        for (var i = 0; i < 3; i++) await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);
        using var admin = await app.AdminAsync();

        var seen = new List<string>();
        var next = "/admin/users?limit=2";
        while (next is not null)
        {
            var page = await Json.ReadAsync(await admin.GetAsync(next));
            Assert.True(page["count"]!.GetValue<int>() <= 2);
            seen.AddRange(page["users"]!.AsArray().Select(u => u!["username"]!.GetValue<string>()));
            next = page["_links"]!["next"]?["href"]?.GetValue<string>();
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Contains("admin", seen);
        Assert.Contains(crm.Username, seen);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/admin/users?limit=0")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Removing_a_dpo_ends_their_session_and_is_recorded_and_other_users_cannot_be_removed_here(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);
        using var session = await Dpos.SignInAsync(app, dpo);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/dpo")).StatusCode);
        using var admin = await app.AdminAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/users/{dpo.Username}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/admin/users/{dpo.Username}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/users/{dpo.Username}")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync($"/admin/users/{crm.Username}")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync("/admin/users/admin")).StatusCode);

        // The cookie still exists in the client, but the user behind it does not.
        Assert.Equal(HttpStatusCode.Unauthorized, (await session.GetAsync($"/exports/toyota/{crm.Nmsc}")).StatusCode);
        using var scope = app.Scope();
        Assert.True(await app.Db(scope).LedgerEntries.AnyAsync(e => e.Type == "dpo-user-deleted" && e.Payload.Contains(dpo.Username)));
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_gets_no_bearer_token_even_through_the_admin_client(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "head-office-dpo", "toyota", null);

        var response = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = dpo.Username, ["password"] = dpo.Password });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_grant", (await Json.ReadAsync(response))["error"]!.GetValue<string>());
        var viaSystem = await app.PostTokenAsync(crm.ClientId, crm.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = dpo.Username, ["password"] = dpo.Password });
        Assert.Equal(HttpStatusCode.BadRequest, viaSystem.StatusCode);
    }
}
