using System.Net;
using System.Runtime.Versioning;
using Microsoft.EntityFrameworkCore;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Auth;

public sealed class BootstrapTests
{
    [ProviderTheory, Providers]
    [SupportedOSPlatform("linux")]
    public async Task First_start_without_configured_credentials_generates_them_into_an_owner_only_file(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new()
        {
            ["ConsentHub:Bootstrap:AdminPassword"] = "",
            ["ConsentHub:Bootstrap:ClientId"] = "",
            ["ConsentHub:Bootstrap:ClientSecret"] = "",
        });

        var file = Path.Combine(app.DataDirectory, "initial-credentials");
        Assert.True(File.Exists(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var values = (await File.ReadAllLinesAsync(file))
            .Where(l => l.Contains('=') && !l.StartsWith('#'))
            .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
        Assert.Equal("admin", values["username"]);
        Assert.DoesNotContain(HubApp.AdminPassword, values["password"]);

        var token = await app.TokenAsync(values["client_id"], values["client_secret"],
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = values["password"] });
        using var admin = app.WithToken(token);
        Assert.True((await admin.GetAsync("/ledger/verify")).IsSuccessStatusCode);

        // The generated password is never logged.
        Assert.DoesNotContain(app.Logs.Lines, line => line.Contains(values["password"]) || line.Contains(values["client_secret"]));
    }

    [ProviderTheory, Providers]
    public async Task Configured_credentials_create_the_admin_and_no_file(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);

        using var admin = await app.AdminAsync();

        Assert.True((await admin.GetAsync("/ledger/verify")).IsSuccessStatusCode);
        Assert.False(File.Exists(Path.Combine(app.DataDirectory, "initial-credentials")));
    }

    [ProviderTheory, Providers]
    public async Task A_restart_keeps_the_admin_and_accepts_tokens_issued_before_it(DatabaseProvider provider)
    {
        var first = await HubApp.StartAsync(provider);
        string token;
        using (var admin = await first.AdminAsync())
        {
            Assert.True((await admin.GetAsync("/ledger/verify")).IsSuccessStatusCode);
            token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        }
        int users;
        using (var scope = first.Scope()) users = await first.Db(scope).Users.CountAsync();
        Assert.True(users >= 1);

        // The process stops; a new one starts on the same database and directory with the same configuration.
        await using var restarted = await first.RestartAsync();

        // The token issued before the restart is still accepted: the signing keys came from the database, not memory.
        using var before = restarted.WithToken(token);
        Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/ledger/verify")).StatusCode);
        // The configured admin signs in as before, and the bootstrap made no second admin.
        using var again = await restarted.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/ledger/verify")).StatusCode);
        using var scope2 = restarted.Scope();
        Assert.Equal(users, await restarted.Db(scope2).Users.CountAsync());
    }
}
