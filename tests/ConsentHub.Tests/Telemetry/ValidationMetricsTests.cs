using System.Net;
using System.Text.RegularExpressions;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Validation;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.Telemetry;

/// <summary>The double opt-in's counters (issue 21 §3): emails sent, validations confirmed and expired, by organisation.</summary>
public sealed class ValidationMetricsTests
{
    [ProviderTheory, Providers]
    public async Task Validation_emails_sent_confirmations_and_expiries_are_counted_by_organisation(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, ValidationFlowTests.Smtp(smtp, worker: false), s => s.AddSingleton<TimeProvider>(clock));
        var nmsc = $"m{Guid.NewGuid():N}"[..12];
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
        {
            foreach (var customer in new[] { "c1", "c2" })
                Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, customer, Seed.Consent("OFFERS", true, validated: false))).StatusCode);
        }
        Assert.Equal(2, await ValidationFlowTests.ProcessAsync(app));
        Assert.Equal(2, (await Poll.UntilAsync(() => Task.FromResult(smtp.Messages.Count), n => n >= 2, TimeSpan.FromSeconds(20))));

        // The person confirms the first; the second is reminded once, then expires.
        using var person = app.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = true });
        var link = ValidationFlowTests.LinkPath(smtp.Messages[0].Message);
        var page = await person.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var fields = ValidationFlowTests.Fields(await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await person.PostAsync(link, new FormUrlEncodedContent(fields))).StatusCode);
        clock.Advance(TimeSpan.FromHours(24.5));
        Assert.Equal(1, await ValidationFlowTests.ProcessAsync(app));
        clock.Advance(TimeSpan.FromHours(24.5));
        Assert.Equal(1, await ValidationFlowTests.ProcessAsync(app));
        Assert.Equal(3, smtp.Messages.Count);

        using var admin = await app.AdminAsync();
        var text = await admin.GetStringAsync("/metrics");
        Assert.Equal("2", Counter(text, "consenthub_validations_sent_total", "email=\"first\""));
        Assert.Equal("1", Counter(text, "consenthub_validations_sent_total", "email=\"reminder\""));
        Assert.Equal("1", Counter(text, "consenthub_validations_confirmed_total", "by=\"person\""));
        Assert.Equal("1", Counter(text, "consenthub_validations_expired_total", ""));
        Assert.DoesNotContain("person@example.com", text);

        string? Counter(string text, string name, string label)
        {
            var match = Regex.Match(text, $@"^{name}\{{(?=[^}}]*nmsc=""{nmsc}"")(?=[^}}]*{Regex.Escape(label)})[^}}]*\}} (\d+)", RegexOptions.Multiline);
            return match.Success ? match.Groups[1].Value : $"no {name} {label} for {nmsc}:\n{text}";
        }
    }
}
