using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>A console session lasts only as long as its user: removed, the user's next request is sent to the login page.</summary>
public sealed class ConsoleSessionTests
{
    [ProviderTheory, Providers]
    public async Task A_removed_dpos_console_session_ends_at_its_next_request_and_the_account_no_longer_signs_in(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);
        using var session = await Operators.SignInAsync(app, dpo.Username, dpo.Password);
        var before = await session.GetAsync("/console");
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Contains($"DPO of the organisation {nmsc} in the context toyota", await before.Content.ReadAsStringAsync());

        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/users/{dpo.Username}")).StatusCode);

        var after = await session.GetAsync("/console");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Equal("/console/login", after.Headers.Location?.OriginalString);
        var again = await Operators.PostLoginAsync(Dpos.Browserless(app), dpo.Username, dpo.Password);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }
}
