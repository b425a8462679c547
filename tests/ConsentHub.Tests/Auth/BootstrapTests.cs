using System.Runtime.Versioning;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Auth;

public sealed class BootstrapTests
{
    [Theory, Providers]
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

    [Theory, Providers]
    public async Task Configured_credentials_create_the_admin_and_no_file(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);

        using var admin = await app.AdminAsync();

        Assert.True((await admin.GetAsync("/ledger/verify")).IsSuccessStatusCode);
        Assert.False(File.Exists(Path.Combine(app.DataDirectory, "initial-credentials")));
    }

    [Theory, Providers]
    public async Task A_restart_keeps_the_admin_and_accepts_tokens_issued_before_it(DatabaseProvider provider)
    {
        await using var first = await HubApp.StartAsync(provider);
        using var admin = await first.AdminAsync();
        // A second instance on the same database loads the same token keys instead of making new ones.
        await using var second = first.SecondInstance();
        using var client = second.CreateClient();
        client.DefaultRequestHeaders.Authorization = admin.DefaultRequestHeaders.Authorization;

        Assert.True((await client.GetAsync("/ledger/verify")).IsSuccessStatusCode);
    }
}
