using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Hosting;

/// <summary>Issue 14 §7.2: validation links lead to the hub as it listens, and a public address that does not is reported at start.</summary>
public sealed class PublicAddressTests
{
    static Dictionary<string, string?> Smtp(SmtpListener smtp) => new()
    {
        ["ConsentHub:Smtp:Host"] = "127.0.0.1",
        ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ConsentHub:Smtp:TlsMode"] = "None",
        ["ConsentHub:Validation:PollSeconds"] = "1",
    };

    [ProviderTheory, Providers]
    public async Task Without_a_public_base_url_the_email_links_to_the_address_the_hub_listens_on_and_the_link_opens_the_landing_page(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, Smtp(smtp), kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);

        Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false))).StatusCode);

        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        var link = System.Text.RegularExpressions.Regex.Match(mail.Message.TextBody ?? "", @"(http\S+/validation/\S+)").Groups[1].Value;
        Assert.Matches($@"^http://(localhost|127\.0\.0\.1):{port}/validation/", link);
        using var browser = new HttpClient();
        var page = await browser.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("PublicBaseUrl", StringComparison.Ordinal) && l.StartsWith("Warning", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_public_base_url_on_another_port_is_warned_about_at_start_and_a_matching_one_is_not()
    {
        var port = HubApp.FreePort();
        await using (var elsewhere = await HubApp.StartAsync(DatabaseProvider.Sqlite,
            new() { ["ConsentHub:Validation:PublicBaseUrl"] = $"http://localhost:{port + 1}" }, kestrelPort: port))
        {
            var warning = Assert.Single(elsewhere.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("PublicBaseUrl", StringComparison.Ordinal));
            Assert.Contains($"http://localhost:{port + 1}", warning, StringComparison.Ordinal);
            Assert.Contains($":{port}", warning, StringComparison.Ordinal);
        }

        port = HubApp.FreePort();
        await using var matching = await HubApp.StartAsync(DatabaseProvider.Sqlite,
            new() { ["ConsentHub:Validation:PublicBaseUrl"] = $"http://127.0.0.1:{port}" }, kestrelPort: port);
        using var client = matching.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.DoesNotContain(matching.Logs.Lines, l => l.Contains("PublicBaseUrl", StringComparison.Ordinal));
    }
}
