using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Server;
using OpenIddict.Validation;

namespace ConsentHub.Tests.Hosting;

/// <summary>Structured logs never contain secrets or tokens, even with every category at Trace.</summary>
public sealed class SecretsInLogsTests
{
    [ProviderTheory, Providers]
    public async Task No_log_line_contains_a_password_a_client_secret_or_an_access_token(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartTracingEverythingAsync(provider);
        var secrets = new List<(string What, string Value)>
        {
            ("admin password", HubApp.AdminPassword),
            ("admin client secret", HubApp.AdminClientSecret),
            ("admin Basic credentials", Basic(HubApp.AdminClientId, HubApp.AdminClientSecret)),
        };

        // Password grant of the admin, then registration through the admin API.
        var adminToken = await app.TokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = HubApp.AdminPassword });
        secrets.Add(("admin access token", adminToken));
        using var admin = app.WithToken(adminToken);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/admin/organisations/tgb", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/admin/contexts/toyota", null)).StatusCode);
        var registered = await admin.PostAsJsonAsync("/admin/source-systems", new { context = "toyota", nmsc = "tgb", name = "crm" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var crm = JsonSerializer.Deserialize<SourceSystemCredentials>(await registered.Content.ReadAsStringAsync(), JsonSerializerOptions.Web)!;
        secrets.Add(("source system password", crm.Password));
        secrets.Add(("source system client secret", crm.ClientSecret));
        secrets.Add(("source system Basic credentials", Basic(crm.ClientId, crm.ClientSecret)));

        // Both grants of the source system, and a submission and a read with each token.
        var clientToken = await app.TokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "client_credentials" });
        var passwordToken = await app.TokenAsync(crm.ClientId, crm.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = crm.Username, ["password"] = crm.Password });
        secrets.Add(("client_credentials access token", clientToken));
        secrets.Add(("source system password-grant access token", passwordToken));
        foreach (var token in new[] { clientToken, passwordToken })
        {
            using var client = app.WithToken(token);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "cust-123", Seed.Customer123)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(HubApp.SubscriptionDataPath(crm, "cust-123"))).StatusCode);
        }

        // Refusals log too: a wrong password, a wrong secret and a bad token must not leak what was sent either.
        var wrongPassword = "wrong-" + crm.Password;
        var wrongSecret = "wrong-" + crm.ClientSecret;
        secrets.Add(("wrong password", wrongPassword));
        secrets.Add(("wrong client secret", wrongSecret));
        Assert.Equal(HttpStatusCode.BadRequest, (await app.PostTokenAsync(crm.ClientId, crm.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = crm.Username, ["password"] = wrongPassword })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.PostTokenAsync(crm.ClientId, wrongSecret,
            new() { ["grant_type"] = "client_credentials" })).StatusCode);
        var tampered = clientToken[..^4] + (clientToken.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        secrets.Add(("tampered access token", tampered));
        using (var bad = app.WithToken(tampered))
            Assert.Equal(HttpStatusCode.Unauthorized, (await bad.GetAsync(HubApp.SubscriptionDataPath(crm, "cust-123"))).StatusCode);

        var lines = app.Logs.Lines.ToList();
        // The capture really saw the token endpoint, the admin API and the API calls at the most verbose levels,
        // so the absence below means something.
        Assert.Contains(lines, l => l.StartsWith("Trace ", StringComparison.Ordinal) || l.StartsWith("Debug ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/oauth/token", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/admin/source-systems", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/subscription-data", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("OpenIddict", StringComparison.Ordinal));

        // OpenIddict writes whole tokens at Trace; the hub keeps its dispatchers at Debug whatever the configuration says.
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        foreach (var logger in new ILogger[] { loggers.CreateLogger<OpenIddictServerDispatcher>(), loggers.CreateLogger<OpenIddictValidationDispatcher>() })
        {
            Assert.False(logger.IsEnabled(LogLevel.Trace));
            Assert.True(logger.IsEnabled(LogLevel.Debug));
        }

        var leaks = (from line in lines
                     from secret in secrets
                     where line.Contains(secret.Value, StringComparison.Ordinal)
                        || line.Contains(Signature(secret.Value), StringComparison.Ordinal)
                     select $"{secret.What}: {line}").ToList();
        Assert.True(leaks.Count == 0, "secrets in the log:\n" + string.Join("\n", leaks.Take(10)));
    }

    [ProviderTheory, Providers]
    public async Task Keeping_tokens_out_of_the_log_leaves_a_quieter_configured_level_as_it_is(DatabaseProvider provider)
    {
        // appsettings.json sets OpenIddict to Warning; the cap at Debug must not make it chattier.
        var app = await HubApp.SharedAsync(provider);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();

        foreach (var logger in new ILogger[] { loggers.CreateLogger<OpenIddictServerDispatcher>(), loggers.CreateLogger<OpenIddictValidationDispatcher>() })
        {
            Assert.False(logger.IsEnabled(LogLevel.Information));
            Assert.True(logger.IsEnabled(LogLevel.Warning));
        }
    }

    static string Basic(string clientId, string clientSecret) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{clientSecret}"));

    /// <summary>For a JWT, its signature alone is enough to leak it (header and claims are not secret); other values stand for themselves.</summary>
    static string Signature(string value) => value.Count(c => c == '.') == 2 ? value[(value.LastIndexOf('.') + 1)..] : value;
}
