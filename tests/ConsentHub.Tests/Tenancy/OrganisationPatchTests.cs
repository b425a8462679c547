using System.Net;
using System.Net.Http.Json;
using System.Text;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Tenancy;

/// <summary>PATCH /admin/organisations/{nmsc}: JSON merge patch (RFC 7396) of an organisation's settings.</summary>
public sealed class OrganisationPatchTests
{
    static HttpRequestMessage Patch(string nmsc, string json, string mediaType = "application/merge-patch+json") =>
        new(HttpMethod.Patch, $"/admin/organisations/{nmsc}") { Content = new StringContent(json, Encoding.UTF8, mediaType) };

    static async Task<int> UpdatesAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        return await app.Db(scope).LedgerEntries.CountAsync(e => e.Type == "organisation-updated" && e.Payload.Contains($"\"{nmsc}\""));
    }

    [ProviderTheory, Providers]
    public async Task A_patch_changes_only_the_members_it_names_and_null_resets_a_member(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { name = "Toyota GB", validationWindowHours = 48 })).StatusCode);

        var patched = await admin.SendAsync(Patch(nmsc, """{"mergePolicy":"most-restrictive","builtInMatching":true}"""));

        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var body = await Json.ReadAsync(patched);
        Assert.Equal("Toyota GB", body["name"]!.GetValue<string>());
        Assert.Equal(48, body["validationWindowHours"]!.GetValue<int>());
        Assert.Equal("most-restrictive", body["mergePolicy"]!.GetValue<string>());
        Assert.True(body["builtInMatching"]!.GetValue<bool>());

        // application/json is accepted too; null takes a member back to its default.
        var reset = await Json.ReadAsync(await admin.SendAsync(Patch(nmsc, """{"validationWindowHours":null,"name":null}""", "application/json")));
        Assert.Null(reset["name"]);
        Assert.Equal(24, reset["validationWindowHours"]!.GetValue<int>());
        Assert.Equal("most-restrictive", reset["mergePolicy"]!.GetValue<string>());
        var read = await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}"));
        Assert.Equal(reset.ToJsonString(), read.ToJsonString());

        // An empty patch changes nothing and writes no ledger entry.
        Assert.Equal(2, await UpdatesAsync(app, nmsc));
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(Patch(nmsc, "{}"))).StatusCode);
        Assert.Equal(2, await UpdatesAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_bad_patch_is_a_400_naming_the_member_and_the_rule_and_changes_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { name = "Toyota GB" })).StatusCode);
        var original = (await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}"))).ToJsonString();

        foreach (var (json, field, rule) in new[]
        {
            ("""{"validationWindowHours":0}""", "validationWindowHours", "range"),
            ("""{"validationWindowHours":"48"}""", "validationWindowHours", "json"),
            ("""{"mergePolicy":"loudest-wins"}""", "mergePolicy", "merge-policy"),
            ("""{"builtInMatching":"yes"}""", "builtInMatching", "json"),
            ("""{"name":5}""", "name", "json"),
            ($$"""{"name":"{{new string('x', 201)}}"}""", "name", "max-length"),
            ("""{"name":"Kept?","colour":"red"}""", "colour", "unknown-member"),
            ("""{"defaultCountry":"UK"}""", "defaultCountry", "country"),
            ("""{"defaultCountry":"USA"}""", "defaultCountry", "country"),
            ("""{"defaultCountry":"XX"}""", "defaultCountry", "country"),
            ("""{"defaultCountry":""}""", "defaultCountry", "country"),
            ("""{"defaultCountry":1}""", "defaultCountry", "json"),
            ("[]", "body", "json"),
        })
        {
            var response = await admin.SendAsync(Patch(nmsc, json));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{json}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var violations = (await Json.ReadAsync(response))["violations"]!.AsArray();
            Assert.Contains(violations, v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        }
        Assert.Equal(original, (await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}"))).ToJsonString());

        // PATCH changes an organisation; it never creates one.
        var unknown = HubApp.Unique("tgb");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(Patch(unknown, """{"name":"x"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{unknown}")).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await admin.SendAsync(Patch(nmsc, "name=x", "text/plain"))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_default_country_is_US_until_set_reads_in_either_case_and_null_sets_it_back(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        using var admin = await app.AdminAsync();
        var created = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { name = "Toyota GB" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("US", (await Json.ReadAsync(created))["defaultCountry"]!.GetValue<string>());

        var patched = await admin.SendAsync(Patch(nmsc, """{"defaultCountry":"gb"}"""));

        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal("GB", (await Json.ReadAsync(patched))["defaultCountry"]!.GetValue<string>());
        Assert.Equal("GB", (await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}")))["defaultCountry"]!.GetValue<string>());
        using (var scope = app.Scope())
        {
            Assert.Equal("GB", (await app.Db(scope).Organisations.SingleAsync(o => o.Nmsc == nmsc)).DefaultCountry);
            var payload = await app.Db(scope).LedgerEntries.Where(e => e.Type == "organisation-updated" && e.Payload.Contains($"\"{nmsc}\""))
                .OrderByDescending(e => e.Index).Select(e => e.Payload).FirstAsync();
            Assert.Contains("\"defaultCountry\":\"GB\"", payload);
        }
        Assert.Equal(1, await UpdatesAsync(app, nmsc));

        // Setting the country it has changes nothing; null takes it back to US.
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(Patch(nmsc, """{"defaultCountry":"GB"}"""))).StatusCode);
        Assert.Equal(1, await UpdatesAsync(app, nmsc));
        var reset = await Json.ReadAsync(await admin.SendAsync(Patch(nmsc, """{"defaultCountry":null}""")));
        Assert.Equal("US", reset["defaultCountry"]!.GetValue<string>());
        using (var scope = app.Scope())
            Assert.Null((await app.Db(scope).Organisations.SingleAsync(o => o.Nmsc == nmsc)).DefaultCountry);

        // PUT sets it too, and refuses what PATCH refuses.
        var put = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { name = "Toyota GB", defaultCountry = "de" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("DE", (await Json.ReadAsync(put))["defaultCountry"]!.GetValue<string>());
        var refused = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { name = "Toyota GB", defaultCountry = "UK" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var violation = (await Json.ReadAsync(refused))["violations"]![0]!;
        Assert.Equal("defaultCountry", violation["field"]!.GetValue<string>());
        Assert.Equal("country", violation["rule"]!.GetValue<string>());
        Assert.Equal("DE", (await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}")))["defaultCountry"]!.GetValue<string>());
    }
}
