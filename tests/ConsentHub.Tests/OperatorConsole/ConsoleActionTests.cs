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
