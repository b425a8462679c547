using System.Net;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Hosting;

/// <summary>Headers a browser and a TLS proxy rely on, checked on a real Kestrel socket where it matters.</summary>
public sealed class SecurityHeadersTests
{
    [Fact]
    public async Task Api_answers_and_the_api_reference_carry_nosniff_and_a_content_security_policy()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        using var client = app.CreateClient();

        var docs = await client.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal(SecurityHeaders.DocsPolicy, docs.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", docs.Headers.GetValues("X-Content-Type-Options").Single());
        var script = await client.GetAsync("/docs/scalar.js");
        Assert.Equal("nosniff", script.Headers.GetValues("X-Content-Type-Options").Single());

        var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(SecurityHeaders.ApiPolicy, health.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", health.Headers.GetValues("X-Content-Type-Options").Single());

        // A page's own, stricter policy is kept.
        var login = await client.GetAsync(DpoPages.LoginPath);
        Assert.Equal(DpoHtml.ContentSecurityPolicy, login.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task Behind_a_configured_proxy_a_forwarded_https_request_gets_secure_cookies_and_hsts()
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(DatabaseProvider.Sqlite, new() { ["ConsentHub:Proxies:KnownProxies:0"] = "127.0.0.1" }, kestrelPort: port);
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var viaTls = new HttpRequestMessage(HttpMethod.Get, DpoPages.LoginPath);
        viaTls.Headers.Add("X-Forwarded-Proto", "https");
        viaTls.Headers.Add("X-Forwarded-For", "203.0.113.7");
        var secure = await client.SendAsync(viaTls);
        Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
        Assert.Equal(SecurityHeaders.Hsts, secure.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.All(secure.Headers.GetValues("Set-Cookie"), c => Assert.Contains("; secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.False(secure.Headers.Contains("Server"));

        // The same proxy forwarding plain HTTP: no HSTS, and cookies a plain-HTTP browser can send back.
        var plain = await client.GetAsync(DpoPages.LoginPath);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.False(plain.Headers.Contains("Strict-Transport-Security"));
        Assert.All(plain.Headers.GetValues("Set-Cookie"), c => Assert.DoesNotContain("; secure", c, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Forwarded_headers_from_a_sender_that_is_not_a_configured_proxy_are_ignored()
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(DatabaseProvider.Sqlite, kestrelPort: port);
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var claimed = new HttpRequestMessage(HttpMethod.Get, DpoPages.LoginPath);
        claimed.Headers.Add("X-Forwarded-Proto", "https");
        var response = await client.SendAsync(claimed);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        Assert.All(response.Headers.GetValues("Set-Cookie"), c => Assert.DoesNotContain("; secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task The_api_reference_renders_in_chromium_under_its_content_security_policy()
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(DatabaseProvider.Sqlite, kestrelPort: port);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) violations.Add(message.Text);
        };

        var response = await page.GotoAsync($"http://127.0.0.1:{port}/docs/");
        Assert.Equal(200, response!.Status);
        // Scalar draws the operations of the OpenAPI document it fetched: scripts ran and the fetch was allowed.
        await Assertions.Expect(page.GetByText("Token").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Browser.SaveScreenshotAsync(page, "api-reference");

        Assert.Empty(violations);
    }
}
