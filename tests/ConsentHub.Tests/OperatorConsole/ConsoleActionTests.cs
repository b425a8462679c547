using System.Net;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's buttons hold no privilege of their own: they call the destination API's handlers with the operator's
/// session, so what the API refuses a DPO the console refuses too, and a form without its antiforgery token does nothing.
/// </summary>
public sealed class ConsoleActionTests
{
    [ProviderTheory, Providers]
    public async Task A_dpo_who_posts_the_recover_form_is_refused_as_the_api_refuses_them_and_nothing_is_recovered(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);
        using var session = await Operators.SignInAsync(app, dpo.Username, dpo.Password);
        var overview = await session.GetAsync("/console");
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        var token = Dpos.FormToken(await overview.Content.ReadAsStringAsync());

        var refused = await session.PostAsync("/console/destinations/recover", Form(token, nmsc));
        var page = await refused.Content.ReadAsStringAsync();
        // The API answers a DPO's token so (a DPO reads no source system through it); the console shows its answer.
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("No such source system.", page);
        var enable = await session.PostAsync("/console/destinations/enable", Form(token, nmsc));
        Assert.Equal(HttpStatusCode.NotFound, enable.StatusCode);
        Assert.Equal(0, await RecoveriesAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_recover_form_without_its_antiforgery_token_does_nothing_and_says_so(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var session = await Operators.AdminAsync(app);

        var refused = await session.PostAsync("/console/destinations/recover", Form(token: null, nmsc));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("Nothing was done: the form had expired", await refused.Content.ReadAsStringAsync());
        Assert.Equal(0, await RecoveriesAsync(app, nmsc));

        // With its token the same form recovers, and the ledger names the admin.
        var overview = await session.GetAsync("/console");
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        var done = await session.PostAsync("/console/destinations/recover", Form(Dpos.FormToken(await overview.Content.ReadAsStringAsync()), nmsc));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Contains($"No failed message of {nmsc} / toyota / crm was waiting", await done.Content.ReadAsStringAsync());
        Assert.Equal(1, await RecoveriesAsync(app, nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_who_posts_the_tenancy_forms_is_refused_as_the_api_refuses_them_and_nothing_changes(DatabaseProvider provider)
    {
        // Its own hub: the destination is a receiver on the loopback address, which only these settings allow.
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);
        using var session = await Operators.SignInAsync(app, dpo.Username, dpo.Password);
        var tenancy = await session.GetAsync("/console/tenancy");
        Assert.Equal(HttpStatusCode.OK, tenancy.StatusCode);
        var token = Dpos.FormToken(await tenancy.Content.ReadAsStringAsync());

        // The administration API is the admin's: the console answers a DPO 403, as the API does.
        foreach (var action in new[] { "deactivate", "rotate-client-secret", "rotate-password" })
        {
            var refused = await session.PostAsync($"/console/tenancy/source-systems/{crm.Id}/{action}", Form(token, nmsc));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("Only the admin manages source systems", await refused.Content.ReadAsStringAsync());
        }
        var register = await session.PostAsync("/console/tenancy/source-systems", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["nmsc"] = nmsc, ["context"] = "toyota", ["name"] = "rogue",
        }));
        Assert.Equal(HttpStatusCode.Forbidden, register.StatusCode);
        // The destination API reads no source system for a DPO's principal.
        foreach (var action in new[] { "disable", "rotate-secret" })
        {
            var refused = await session.PostAsync($"/console/tenancy/destinations/{action}", Form(token, nmsc));
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Contains("No such source system.", await refused.Content.ReadAsStringAsync());
        }

        using var scope = app.Scope();
        var db = app.Db(scope);
        Assert.Null((await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == crm.Id)).DeactivatedAt);
        Assert.False(await db.SourceSystems.AnyAsync(s => s.Nmsc == nmsc && s.Name == "rogue"));
        Assert.True((await db.Destinations.AsNoTracking().SingleAsync(d => d.SourceSystemId == crm.Id)).Enabled);
        var payloads = await db.LedgerEntries.AsNoTracking().Where(e => e.Type.StartsWith("source-system-") || e.Type.StartsWith("destination-"))
            .Select(e => e.Payload).ToListAsync();
        Assert.DoesNotContain(payloads, p => p.Contains(dpo.Username, StringComparison.Ordinal));
        // The system's client secret still gets a token: nothing was rotated.
        Assert.Equal(HttpStatusCode.OK, (await app.PostTokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "client_credentials" })).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_admins_tenancy_forms_without_their_antiforgery_token_do_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var session = await Operators.AdminAsync(app);

        foreach (var path in new[] { $"/console/tenancy/source-systems/{crm.Id}/deactivate", "/console/tenancy/destinations/disable", "/console/tenancy/source-systems" })
        {
            var refused = await session.PostAsync(path, Form(token: null, nmsc));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("Nothing was done: the form had expired", await refused.Content.ReadAsStringAsync());
        }
        using var scope = app.Scope();
        Assert.Null((await app.Db(scope).SourceSystems.AsNoTracking().SingleAsync(s => s.Id == crm.Id)).DeactivatedAt);
        Assert.Equal(1, await app.Db(scope).SourceSystems.CountAsync(s => s.Nmsc == nmsc));
    }

    static FormUrlEncodedContent Form(string? token, string nmsc)
    {
        var fields = new Dictionary<string, string> { ["context"] = "toyota", ["nmsc"] = nmsc, ["sourceSystem"] = "crm" };
        if (token is not null) fields["__RequestVerificationToken"] = token;
        return new FormUrlEncodedContent(fields);
    }

    /// <summary>The deliveries-recovered ledger entries of this organisation's crm, each checked to name the admin.</summary>
    static async Task<int> RecoveriesAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        var payloads = await app.Db(scope).LedgerEntries.AsNoTracking()
            .Where(e => e.Type == LedgerEvents.DeliveriesRecovered).Select(e => e.Payload).ToListAsync();
        var mine = payloads.Select(p => System.Text.Json.Nodes.JsonNode.Parse(p)!).Where(p => p["nmsc"]!.GetValue<string>() == nmsc).ToList();
        Assert.All(mine, p => Assert.Equal("admin", p["by"]!.GetValue<string>()));
        return mine.Count;
    }
}
