using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's ledger page: the admin sees its size and signed checkpoints, verifies the whole ledger and downloads
/// its entries as the ledger API gives them; a DPO, whom the ledger API refuses, is refused here too and offered no link.
/// </summary>
public sealed class LedgerPageTests
{
    [ProviderTheory, Providers]
    public async Task The_admin_verifies_the_ledger_from_the_page_and_sees_its_checkpoints(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        // A line of progress after every page of entries the verification reads.
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Console:VerifyProgressMilliseconds"] = "0" }, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm)) await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));
        long size;
        using (var scope = app.Scope())
        {
            // More entries than one page of the verification (5,000), so that it reports progress more than once.
            var ledger = scope.ServiceProvider.GetRequiredService<LedgerWriter>();
            await using (var transaction = await ledger.BeginAsync(CancellationToken.None))
            {
                for (var i = 0; i < 6_000; i++) ledger.Append("test-filler", new { i });
                await app.Db(scope).SaveChangesAsync();
                await transaction.CommitAsync();
            }
            Assert.NotNull(await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(CancellationToken.None));
            size = await app.Db(scope).LedgerHeads.Select(h => h.NextIndex).SingleAsync();
        }

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{port}/console/login");
        await Browser.SignInAsync(page, "admin", HubApp.AdminPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "Ledger" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Ledger");
        await Assertions.Expect(page.Locator("#ledger-size")).ToHaveTextAsync(size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#checkpoints tbody tr").First).ToContainTextAsync(size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#verifier-key")).ToContainTextAsync("+");

        var response = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Verify now" }).ClickAsync(),
            r => r.Url.EndsWith("/console/ledger/verify", StringComparison.Ordinal));
        await Assertions.Expect(page.Locator("#verification")).ToContainTextAsync("The ledger verifies:");
        // Streamed: sent in chunks as the verification goes, with no length known in advance.
        Assert.Equal("chunked", (await response.AllHeadersAsync()).GetValueOrDefault("transfer-encoding"));
        // The page was streamed with its progress: after the first 5,000 entries, after the rest, and at the end.
        var bars = page.Locator("#verify-progress progress");
        await Assertions.Expect(bars).ToHaveCountAsync(3);
        Assert.Equal("5000", await bars.Nth(0).GetAttributeAsync("value"));
        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), await bars.Nth(2).GetAttributeAsync("value"));
        await Assertions.Expect(page.Locator("#verify-progress p").Last).ToHaveTextAsync(
            $"100% {size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} of {size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} entries checked");
        await Accessibility.NoViolationsAsync(page);
        await Browser.SaveScreenshotAsync(page, $"console-ledger-{provider}");
    }

    [ProviderTheory, Providers]
    public async Task The_download_is_the_ledger_export_and_a_dpo_is_refused_the_page_the_verification_and_the_download(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm)) await HubApp.AppliedAsync(client, crm, "c-1", Seed.Consent("OFFERS", true));

        using var admin = await Operators.AdminAsync(app);
        // "Verify now" answers the page with its progress log, then the outcome, then the page's end.
        var ledgerPage = await admin.GetAsync("/console/ledger");
        Assert.Equal(HttpStatusCode.OK, ledgerPage.StatusCode);
        var verified = await admin.PostAsync("/console/ledger/verify", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = Dpos.FormToken(await ledgerPage.Content.ReadAsStringAsync()),
        }));
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.Equal("no-store", verified.Headers.CacheControl?.ToString());
        var verifiedHtml = await verified.Content.ReadAsStringAsync();
        Assert.Matches("entries checked</p></div><p class=\"note\" role=\"status\" id=\"verification\">The ledger verifies:", verifiedHtml);
        Assert.EndsWith("</html>", verifiedHtml.TrimEnd());
        var download = await admin.GetAsync("/console/ledger/export?from=0");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        var lines = (await download.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        for (var i = 0; i < lines.Length; i++)
        {
            var space = lines[i].IndexOf(' ');
            Assert.Equal(64, space);
            Assert.Equal(i, JsonNode.Parse(lines[i][(space + 1)..])!["index"]!.GetValue<long>());
        }
        using (var apiAdmin = await app.AdminAsync())
        {
            // Entries never change: the first lines of both downloads are the same, whatever was appended between them.
            var api = (await (await apiAdmin.GetAsync("/ledger/export?from=0")).Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var common = Math.Min(api.Length, lines.Length);
            Assert.True(common > 0);
            Assert.Equal(api[..common], lines[..common]);
        }

        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);
        using var session = await Operators.SignInAsync(app, dpo.Username, dpo.Password);
        var overview = await session.GetAsync("/console");
        var html = await overview.Content.ReadAsStringAsync();
        Assert.DoesNotContain("/console/ledger", html);
        var refused = await session.GetAsync("/console/ledger");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("The ledger is the administrator's", await refused.Content.ReadAsStringAsync());
        var verify = await session.PostAsync("/console/ledger/verify", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = Dpos.FormToken(html),
        }));
        Assert.Equal(HttpStatusCode.Forbidden, verify.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await session.GetAsync("/console/ledger/export?from=0")).StatusCode);
    }
}
