using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>An event token sent as ?token= never reaches a log line, even with every category at Trace.</summary>
public sealed class TokenRedactionTests
{
    [Theory, Providers]
    public async Task A_token_in_the_query_is_logged_as_token_REDACTED_and_never_in_clear(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new()
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Trace",
            ["Logging:LogLevel:OpenIddict"] = "Trace",
            ["Logging:LogLevel:System"] = "Trace",
        });
        var levels = app.Services.GetRequiredService<IConfiguration>().GetSection("Logging:LogLevel").GetChildren().ToList();
        Assert.All(levels, level => Assert.True(level.Value == "Trace", $"Logging:LogLevel:{level.Key} is {level.Value}: add it to this test's overrides."));
        var nmsc = HubApp.Unique("log");
        var (admin, token) = await Inbound.FormBuilderAsync(app, nmsc);
        var wrong = "chk_" + "wrongtokenvalue0123456789abcdefghijklmnop";
        using var anonymous = app.CreateClient();
        var path = Inbound.EventsPath(nmsc, "form-builder");

        var accepted = await Inbound.ExpectAsync(anonymous.PostAsync(path + "?token=" + Uri.EscapeDataString(token),
            Inbound.Json("""{ "id": "l-1", "mail": "log@example.org", "newsletter": "yes", "confirmed": true }""")), HttpStatusCode.Accepted);
        Assert.Equal(1, Int(accepted["accepted"]));
        // Among other parameters, twice, and percent-encoded; a wrong token, and a refused body.
        await Inbound.ExpectAsync(anonymous.PostAsync(path + "?source=web&token=" + Uri.EscapeDataString(token) + "&x=1&token=" + Uri.EscapeDataString(token),
            Inbound.Json("""{ "id": "l-2", "newsletter": "yes", "confirmed": true }""")), HttpStatusCode.Accepted);
        await Inbound.ExpectAsync(anonymous.PostAsync(path + "?%74oken=" + Uri.EscapeDataString(token),
            Inbound.Json("""{ "id": "l-3", "newsletter": "yes", "confirmed": true }""")), HttpStatusCode.Accepted);
        await UnauthorisedAsync(anonymous.PostAsync(path + "?token=" + wrong, Inbound.Json("{}")), "a wrong token");
        await InvalidAsync(anonymous.PostAsync(path + "?token=" + Uri.EscapeDataString(token), Inbound.Json("not json")), "body", "json");
        await ProblemAsync(anonymous.PostAsync(path + "?token=" + Uri.EscapeDataString(token), new StringContent("x", System.Text.Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType);
        Assert.NotNull(await CustomerIdAsync(app, nmsc, "forms", "l-3"));

        var lines = app.Logs.Lines.ToList();
        foreach (var secret in new[] { token, Uri.EscapeDataString(token), wrong, token[4..] })
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        // The host's request logs show the query, with the token's value replaced.
        var requestLines = lines.Where(l => l.Contains("/events/", StringComparison.Ordinal) && l.Contains('?')).ToList();
        Assert.NotEmpty(requestLines);
        Assert.Contains(requestLines, l => l.Contains("token=REDACTED", StringComparison.Ordinal));
        Assert.Contains(requestLines, l => l.Contains("source=web&token=REDACTED&x=1&token=REDACTED", StringComparison.Ordinal));
        Assert.All(lines.Where(l => l.Contains("token=", StringComparison.OrdinalIgnoreCase) && l.Contains("/events/", StringComparison.Ordinal)),
            l => Assert.Contains("token=REDACTED", l));
        admin.Dispose();
    }
}
