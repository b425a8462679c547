using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>An event token never reaches a log line, however it is sent (?token=, bearer, x-api-key), even with every category at Trace.</summary>
public sealed class TokenRedactionTests
{
    [ProviderTheory, Providers]
    public async Task A_token_in_the_query_is_logged_as_token_REDACTED_and_never_in_clear(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartTracingEverythingAsync(provider);
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
        // The header forms: a bearer token (which the host's own token validation looks at and refuses) and x-api-key.
        using (var bearer = new HttpRequestMessage(HttpMethod.Post, path) { Content = Inbound.Json("""{ "id": "l-4", "newsletter": "yes", "confirmed": true }""") })
        {
            bearer.Headers.Authorization = new("Bearer", token);
            await Inbound.ExpectAsync(anonymous.SendAsync(bearer), HttpStatusCode.Accepted);
        }
        using (var keyed = new HttpRequestMessage(HttpMethod.Post, path) { Content = Inbound.Json("""{ "id": "l-5", "newsletter": "yes", "confirmed": true }""") })
        {
            keyed.Headers.Add("x-api-key", token);
            await Inbound.ExpectAsync(anonymous.SendAsync(keyed), HttpStatusCode.Accepted);
        }

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
