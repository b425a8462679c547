using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace ConsentHub.Tests.Reminders;

/// <summary>The consent reminder in Debian's Chromium: one person keeps their choices in one click, another changes them.</summary>
public sealed class ReminderBrowserTests
{
    [ProviderTheory, Providers]
    public async Task People_keep_or_change_their_choices_from_the_reminder_in_a_real_browser(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var port = HubApp.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["ConsentHub:Smtp:Host"] = "127.0.0.1",
            ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
            ["ConsentHub:Smtp:TlsMode"] = "None",
            ["ConsentHub:Validation:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
            ["ConsentHub:Reminders:Enabled"] = "false",
        };
        await using var app = await HubApp.StartAsync(provider, settings, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await ReminderSteps.SendAsync(app, crm, "keeper", "keeper@example.com", "OFFERS", true, DateTime.UtcNow.AddYears(-3));
        await ReminderSteps.SendAsync(app, crm, "changer", "changer@example.com", "OFFERS", true, DateTime.UtcNow.AddYears(-3));
        using (var admin = await app.AdminAsync())
        {
            await ReminderSteps.DefineAsync(admin, "tgb", "offers", new
            {
                categories = new[] { "OFFERS" }, olderThan = "P24M", channel = "email", schedule = "0 9 1 * *",
            });
            var run = await admin.PostAsync("/admin/organisations/tgb/reminder-rules/offers:run", null);
            Assert.Equal(System.Net.HttpStatusCode.Created, run.StatusCode);
        }
        var (_, delivered) = await ReminderSteps.PassAsync(app);
        Assert.Equal(2, delivered);
        string LinkOf(string to) =>
            $"http://127.0.0.1:{port}{ReminderSteps.LinkPath(smtp.Messages.Single(m => m.Recipients.Single() == to))}";

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        Assert.Equal(200, (await page.GotoAsync(LinkOf("keeper@example.com")))!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Are these still your choices?");
        await Assertions.Expect(page.GetByLabel("I agree to OFFERS, \"quoted\", with a comma")).ToBeCheckedAsync();
        await Browser.SaveScreenshotAsync(page, $"reminder-page-{provider}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Keep my choices" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Thank");

        var other = await browser.NewPageAsync();
        Assert.Equal(200, (await other.GotoAsync(LinkOf("changer@example.com")))!.Status);
        await other.GetByLabel("I agree to OFFERS, \"quoted\", with a comma").UncheckAsync();
        await other.GetByRole(AriaRole.Button, new() { Name = "Save my changes" }).ClickAsync();
        await Assertions.Expect(other.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Thank");

        using var scope = app.Scope();
        var db = app.Db(scope);
        var flags = await db.ConsentEntries.AsNoTracking().Join(db.Customers, e => e.CustomerId, c => c.Id, (e, c) => new { c.SourceCustomerId, e.Flag, e.ValidatedAt })
            .ToListAsync();
        Assert.True(flags.Single(f => f.SourceCustomerId == "keeper").Flag);
        Assert.True(flags.Single(f => f.SourceCustomerId == "keeper").ValidatedAt > DateTime.UtcNow.AddMinutes(-5));
        Assert.False(flags.Single(f => f.SourceCustomerId == "changer").Flag);
    }
}
