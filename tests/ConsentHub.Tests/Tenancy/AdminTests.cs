using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;

namespace ConsentHub.Tests.Tenancy;

/// <summary>The admin API: organisations, contexts, source systems and per-organisation categories.</summary>
public sealed class AdminTests
{
    static StringContent JsonContent(object body) =>
        new(body as string ?? System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    static async Task<JsonNode> AssertProblem(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        return problem;
    }

    /// <summary>Asserts a 400 problem with a violation naming <paramref name="field"/> and, when given, its rule.</summary>
    static async Task AssertInvalid(HttpResponseMessage response, string field, string? rule = null)
    {
        var problem = await AssertProblem(response, HttpStatusCode.BadRequest);
        var violations = problem["violations"]!.AsArray();
        Assert.Contains(violations, v => v!["field"]!.GetValue<string>() == field && (rule is null || v["rule"]!.GetValue<string>() == rule));
        Assert.NotNull(problem["errors"]![field]);
    }

    // ---- organisations --------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Put_organisation_creates_with_201_then_answers_200_with_the_same_body(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("tgb");

        var first = await admin.PutAsync($"/admin/organisations/{nmsc}", JsonContent(new { name = "Toyota GB" }));
        var second = await admin.PutAsync($"/admin/organisations/{nmsc}", JsonContent(new { name = "Toyota GB" }));
        var read = await admin.GetAsync($"/admin/organisations/{nmsc}");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal($"/admin/organisations/{nmsc}", first.Headers.Location!.OriginalString);
        Assert.Equal("application/hal+json", first.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var created = await Json.ReadAsync(first);
        Assert.Equal(nmsc, created["nmsc"]!.GetValue<string>());
        Assert.Equal("Toyota GB", created["name"]!.GetValue<string>());
        Assert.Equal($"/admin/organisations/{nmsc}", created["_links"]!["self"]!["href"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(created, await Json.ReadAsync(second)));
        Assert.True(JsonNode.DeepEquals(created, await Json.ReadAsync(read)));
    }

    [ProviderTheory, Providers]
    public async Task Put_organisation_without_a_body_works_and_a_later_name_updates_it(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("tgb");

        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).StatusCode);
        var renamed = await admin.PutAsync($"/admin/organisations/{nmsc}", JsonContent(new { name = "Toyota GB" }));

        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal("Toyota GB", (await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}")))["name"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Upper_case_nmsc_is_normalised_to_lower_case(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("tgb");

        var created = await admin.PutAsync($"/admin/organisations/{nmsc.ToUpperInvariant()}", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(nmsc, (await Json.ReadAsync(created))["nmsc"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/admin/organisations/{nmsc}")).StatusCode);
        // The lower-case spelling is the same organisation, not a second one.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).StatusCode);
        using var scope = app.Scope();
        Assert.Equal(1, await app.Db(scope).Organisations.CountAsync(o => o.Nmsc == nmsc || o.Nmsc == nmsc.ToUpperInvariant()));
    }

    [ProviderTheory, Providers]
    public async Task Invalid_nmsc_is_a_400_problem_naming_nmsc(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();

        await AssertInvalid(await admin.PutAsync("/admin/organisations/bad%20name!", null), "nmsc", "tenant-name");
        await AssertInvalid(await admin.PutAsync("/admin/organisations/" + new string('a', 65), null), "nmsc", "tenant-name");
        await AssertInvalid(await admin.PutAsync("/admin/organisations/-leading-dash", null), "nmsc", "tenant-name");
        using var scope = app.Scope();
        Assert.False(await app.Db(scope).Organisations.AnyAsync(o => o.Nmsc == "bad name!" || o.Nmsc == "-leading-dash"));
    }

    [ProviderTheory, Providers]
    public async Task Unknown_organisation_is_not_found(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("none");

        await AssertProblem(await admin.GetAsync($"/admin/organisations/{nmsc}"), HttpStatusCode.NotFound);
        await AssertProblem(await admin.GetAsync($"/admin/organisations/{nmsc}/categories"), HttpStatusCode.NotFound);
        await AssertProblem(await admin.PutAsync($"/admin/organisations/{nmsc}/categories", JsonContent(new { hidden = new[] { "EVENTS" } })), HttpStatusCode.NotFound);
    }

    // ---- contexts -------------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Put_context_creates_with_201_then_answers_200_with_the_same_body(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var context = HubApp.Unique("brand");

        var first = await admin.PutAsync($"/admin/contexts/{context}", JsonContent(new { displayName = "Brand" }));
        var second = await admin.PutAsync($"/admin/contexts/{context}", JsonContent(new { displayName = "Brand" }));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal($"/admin/contexts/{context}", first.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var created = await Json.ReadAsync(first);
        Assert.Equal(context, created["context"]!.GetValue<string>());
        Assert.Equal("Brand", created["displayName"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(created, await Json.ReadAsync(second)));
        using var scope = app.Scope();
        Assert.Equal(1, await app.Db(scope).Contexts.CountAsync(c => c.Name == context));
    }

    [ProviderTheory, Providers]
    public async Task Upper_case_context_is_normalised_and_invalid_context_is_a_400_naming_context(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var context = HubApp.Unique("brand");

        var created = await admin.PutAsync($"/admin/contexts/{context.ToUpperInvariant()}", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(context, (await Json.ReadAsync(created))["context"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/admin/contexts/{context}", null)).StatusCode);

        await AssertInvalid(await admin.PutAsync("/admin/contexts/bad%20name!", null), "context", "tenant-name");
    }

    // ---- source systems -------------------------------------------------------------------------

    static async Task<(HttpClient Admin, string Nmsc, string Context)> TenantAsync(HubApp app)
    {
        var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("tgb");
        var context = HubApp.Unique("brand");
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/contexts/{context}", null)).StatusCode);
        return (admin, nmsc, context);
    }

    [ProviderTheory, Providers]
    public async Task Registering_a_source_system_returns_credentials_that_really_work(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (admin, nmsc, context) = await TenantAsync(app);
        using var _ = admin;

        var response = await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc, name = "Dealer CRM" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/hal+json", response.Content.Headers.ContentType!.MediaType);
        var body = await Json.ReadAsync(response);
        var id = body["id"]!.GetValue<long>();
        Assert.Equal($"/admin/source-systems/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("Dealer CRM", body["name"]!.GetValue<string>());
        Assert.Equal(nmsc, body["nmsc"]!.GetValue<string>());
        Assert.Equal(context, body["context"]!.GetValue<string>());
        var username = body["username"]!.GetValue<string>();
        var password = body["password"]!.GetValue<string>();
        var clientId = body["clientId"]!.GetValue<string>();
        var clientSecret = body["clientSecret"]!.GetValue<string>();
        Assert.All(new[] { username, password, clientId, clientSecret }, v => Assert.False(string.IsNullOrWhiteSpace(v)));
        Assert.True(password.Length >= 32 && clientSecret.Length >= 32, "secrets are long random strings");
        Assert.NotEqual(password, clientSecret);

        var viaPassword = await app.TokenAsync(clientId, clientSecret,
            new() { ["grant_type"] = "password", ["username"] = username, ["password"] = password });
        var viaClient = await app.TokenAsync(clientId, clientSecret, new() { ["grant_type"] = "client_credentials" });
        var system = new SourceSystemCredentials(id, context, nmsc, "Dealer CRM", username, password, clientId, clientSecret);
        foreach (var token in new[] { viaPassword, viaClient })
        {
            using var client = app.WithToken(token);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, system, "c-" + token.Length + Guid.NewGuid().ToString("N")[..6], Seed.Consent("OFFERS", true))).StatusCode);
        }
    }

    [ProviderTheory, Providers]
    public async Task Duplicate_source_system_name_in_the_same_organisation_and_context_is_a_409_but_elsewhere_is_fine(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (admin, nmsc, context) = await TenantAsync(app);
        using var _ = admin;
        var otherContext = HubApp.Unique("brand");
        var otherNmsc = HubApp.Unique("tgb");
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/contexts/{otherContext}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/organisations/{otherNmsc}", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc, name = "crm" })).StatusCode);
        var duplicate = await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc, name = "crm" });
        // The nmsc and context are case-insensitive, so this is the same system again.
        var duplicateUpper = await admin.PostAsJsonAsync("/admin/source-systems", new { context = context.ToUpperInvariant(), nmsc = nmsc.ToUpperInvariant(), name = "crm" });
        var otherContextSameName = await admin.PostAsJsonAsync("/admin/source-systems", new { context = otherContext, nmsc, name = "crm" });
        var otherNmscSameName = await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc = otherNmsc, name = "crm" });

        var problem = await AssertProblem(duplicate, HttpStatusCode.Conflict);
        Assert.Contains("crm", problem["detail"]!.GetValue<string>());
        await AssertProblem(duplicateUpper, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.Created, otherContextSameName.StatusCode);
        Assert.Equal(HttpStatusCode.Created, otherNmscSameName.StatusCode);
        using var scope = app.Scope();
        Assert.Equal(1, await app.Db(scope).SourceSystems.CountAsync(s => s.Nmsc == nmsc && s.Context == context));
    }

    [ProviderTheory, Providers]
    public async Task Unknown_organisation_or_context_of_a_source_system_is_a_400_naming_the_field(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (admin, nmsc, context) = await TenantAsync(app);
        using var _ = admin;

        await AssertInvalid(await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc = HubApp.Unique("none"), name = "crm" }), "nmsc", "must-exist");
        await AssertInvalid(await admin.PostAsJsonAsync("/admin/source-systems", new { context = HubApp.Unique("none"), nmsc, name = "crm" }), "context", "must-exist");
        await AssertInvalid(await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc, name = "bad/name" }), "name", "source-system-name");
        await AssertInvalid(await admin.PostAsJsonAsync("/admin/source-systems", new { context, nmsc }), "name", "source-system-name");
        await AssertInvalid(await admin.PostAsJsonAsync("/admin/source-systems", new { context = "bad name!", nmsc, name = "crm" }), "context", "tenant-name");
        await AssertProblem(await admin.PostAsync("/admin/source-systems", JsonContent("{ not json")), HttpStatusCode.BadRequest);

        using var scope = app.Scope();
        Assert.False(await app.Db(scope).SourceSystems.AnyAsync(s => s.Nmsc == nmsc));
    }

    [ProviderTheory, Providers]
    public async Task Reading_source_systems_never_shows_their_secrets(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var web = await app.RegisterSourceSystemAsync(nmsc, "lexus", "web");
        using var admin = await app.AdminAsync();

        var list = await admin.GetAsync($"/admin/source-systems?nmsc={nmsc}");
        var one = await admin.GetAsync($"/admin/source-systems/{crm.Id}");

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var listText = await list.Content.ReadAsStringAsync();
        var oneText = await one.Content.ReadAsStringAsync();
        var listed = JsonNode.Parse(listText)!;
        Assert.Equal(2, listed["count"]!.GetValue<int>());
        Assert.Equal([crm.ClientId, web.ClientId], listed["sourceSystems"]!.AsArray().Select(s => s!["clientId"]!.GetValue<string>()));
        Assert.Equal(crm.Username, JsonNode.Parse(oneText)!["username"]!.GetValue<string>());
        foreach (var text in new[] { listText, oneText })
        {
            foreach (var secret in new[] { crm.Password, crm.ClientSecret, web.Password, web.ClientSecret })
                Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain("\"password\"", text);
            Assert.DoesNotContain("\"clientSecret\"", text);
        }
        await AssertProblem(await admin.GetAsync("/admin/source-systems/999999999"), HttpStatusCode.NotFound);
    }

    [ProviderTheory, Providers]
    public async Task Passwords_and_client_secrets_are_stored_hashed(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        // The admin signs in at least once before, so its rows exist too.
        using var admin = await app.AdminAsync();

        using var scope = app.Scope();
        var db = app.Db(scope);
        var user = await db.Users.AsNoTracking().SingleAsync(u => u.Username == crm.Username);
        Assert.DoesNotContain(crm.Password, user.PasswordHash);
        Assert.True(Secrets.VerifyPassword(user.PasswordHash, crm.Password), "the stored value is a hash of the issued password");
        Assert.False(Secrets.VerifyPassword(user.PasswordHash, crm.Password + "x"));
        var adminUser = await db.Users.AsNoTracking().SingleAsync(u => u.Username == "admin");
        Assert.DoesNotContain(HubApp.AdminPassword, adminUser.PasswordHash);

        var applications = db.Set<OpenIddictEntityFrameworkCoreApplication>().AsNoTracking();
        var client = await applications.SingleAsync(a => a.ClientId == crm.ClientId);
        Assert.False(string.IsNullOrEmpty(client.ClientSecret));
        Assert.NotEqual(crm.ClientSecret, client.ClientSecret);
        Assert.DoesNotContain(crm.ClientSecret, client.ClientSecret!);
        var adminClient = await applications.SingleAsync(a => a.ClientId == HubApp.AdminClientId);
        Assert.DoesNotContain(HubApp.AdminClientSecret, adminClient.ClientSecret!);

        // Nothing anywhere in the source system's rows holds the plain secrets.
        var system = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == crm.Id);
        var row = System.Text.Json.JsonSerializer.Serialize(system) + System.Text.Json.JsonSerializer.Serialize(user) + System.Text.Json.JsonSerializer.Serialize(client);
        Assert.DoesNotContain(crm.Password, row);
        Assert.DoesNotContain(crm.ClientSecret, row);
    }

    // ---- categories -----------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task An_organisation_hides_a_canonical_category_and_adds_a_local_one(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        var path = $"/admin/organisations/{crm.Nmsc}/categories";

        var before = await Json.ReadAsync(await admin.GetAsync(path));
        Assert.Empty(before["hidden"]!.AsArray());
        Assert.Contains("EVENTS", Codes(before["available"]));

        var put = await admin.PutAsync(path, JsonContent(new
        {
            hidden = new[] { "EVENTS" },
            local = new[] { new { code = "PROFILING", description = "Profiling for tailored offers" } },
        }));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var read = await admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var categories = await Json.ReadAsync(read);
        Assert.True(JsonNode.DeepEquals(await Json.ReadAsync(put), categories));

        Assert.Equal(["EVENTS"], Codes(categories["hidden"]));
        var local = Assert.Single(categories["local"]!.AsArray());
        Assert.Equal("PROFILING", local!["code"]!.GetValue<string>());
        Assert.Equal("Profiling for tailored offers", local["description"]!.GetValue<string>());
        var available = Codes(categories["available"]);
        Assert.Contains("PROFILING", available);
        Assert.DoesNotContain(available, c => c.Split('_').Contains("EVENTS"));
        string[] expected = ["REMINDERS", "OFFERS", "SURVEYS", "OFFERS_SURVEYS", "REMINDERS_SURVEYS", "REMINDERS_OFFERS", "REMINDERS_OFFERS_SURVEYS", "PROFILING"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), available.Order(StringComparer.Ordinal));

        // The configuration takes effect for the organisation's source systems.
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("PROFILING", true))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("EVENTS", true))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS_EVENTS", true))).StatusCode);

        // Another organisation is unaffected.
        var otherSystem = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var otherCategories = Codes((await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{otherSystem.Nmsc}/categories")))["available"]);
        Assert.Contains("EVENTS", otherCategories);
        Assert.DoesNotContain("PROFILING", otherCategories);
    }

    [ProviderTheory, Providers]
    public async Task Invalid_category_configuration_is_a_400_and_changes_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nmsc = HubApp.Unique("tgb");
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).StatusCode);
        var path = $"/admin/organisations/{nmsc}/categories";
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync(path, JsonContent(new { hidden = new[] { "SURVEYS" }, local = new[] { new { code = "PROFILING" } } }))).StatusCode);
        var before = await Json.ReadAsync(await admin.GetAsync(path));

        await AssertInvalid(await admin.PutAsync(path, JsonContent(new { local = new[] { new { code = "profiling" } } })), "local[0].code", "category-code");
        await AssertInvalid(await admin.PutAsync(path, JsonContent(new { local = new[] { new { code = "OFFERS" } } })), "local[0].code", "builtin-category");
        await AssertInvalid(await admin.PutAsync(path, JsonContent(new { local = new[] { new { code = "OFFERS_SURVEYS" } } })), "local[0].code", "builtin-category");
        await AssertInvalid(await admin.PutAsync(path, JsonContent(new { local = new[] { new { code = "PROFILING" }, new { code = "PROFILING" } } })), "local[1].code", "duplicate-category");
        await AssertInvalid(await admin.PutAsync(path, JsonContent(new { hidden = new[] { "PROFILING" } })), "hidden[0]", "unknown-category");
        await AssertInvalid(await admin.PutAsync(path, JsonContent(new { hidden = new[] { "OFFERS", "NOPE" } })), "hidden[1]", "unknown-category");

        Assert.True(JsonNode.DeepEquals(before, await Json.ReadAsync(await admin.GetAsync(path))));
    }

    static List<string> Codes(JsonNode? array) => array!.AsArray().Select(c => c!.GetValue<string>()).ToList();
}
