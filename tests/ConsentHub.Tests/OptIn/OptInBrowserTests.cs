using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Validation;
using Microsoft.Playwright;

namespace ConsentHub.Tests.OptIn;

/// <summary>
/// A double opt-in the hub confirms (optInConfirmation "hub"): the hub emails the person over real SMTP, and the person
/// opens the link from the mail in Debian's Chromium against a Kestrel-served hub. Run on both providers: the
/// confirmation is a locked read and write of the validation, which each provider does its own way.
/// </summary>
public sealed class OptInBrowserTests
{
    const string Person = "hub.person@example.com";
    const string N = OptIns.Newsletter, S = OptIns.Surveys;

    [ProviderTheory, Providers]
    public async Task The_person_confirms_the_hubs_email_in_chromium_and_a_replaced_selections_old_link_no_longer_confirms(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var port = HubApp.FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var settings = new Dictionary<string, string?>
        {
            ["ConsentHub:Smtp:Host"] = "127.0.0.1",
            ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
            ["ConsentHub:Smtp:TlsMode"] = "None",
            ["ConsentHub:Validation:PublicBaseUrl"] = baseUrl,
        };
        // The validation worker stays off (as in Propagations.Settings): each pass is run by the test.
        await using var journey = await OptInJourney.StartAsync(provider, Person, Linking.BuiltInMatching,
            organisation: new { optInConfirmation = "hub" }, settings: settings, kestrelPort: port);
        var client = journey.Client;

        var started = await OptIns.ExpectAsync(OptIns.PostAsync(client, journey.ContactPath,
            UseCaseTests.Items(OptIns.Requested, (N, OptIns.Consent))), 200);
        UseCaseTests.AssertResult(started, "Success");
        var extRefNo = started["extRefNo"]!.GetValue<string>();
        Assert.Equal(1, await journey.ProcessValidationsAsync());
        var first = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal([Person], first.Recipients);
        var firstLink = new Uri(new Uri(baseUrl), ValidationFlowTests.LinkPath(first.Message)).ToString();

        // Only the person confirms such a flow.
        var byPartner = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "?approval=true", ""), 522);
        Assert.Equal("confirmed-by-person", byPartner["violations"]![0]!["rule"]!.GetValue<string>());
        Assert.Equal(522, byPartner["result"]!["code"]!.GetValue<int>());
        await AssertRequestedAsync(journey, extRefNo, [N]);

        // The CRM replaces the selection: a new email, and the first one's link dies.
        var replaced = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo),
            UseCaseTests.Items((N, OptIns.Consent), (S, OptIns.Refusal))), 200);
        Assert.Equal([(N, OptIns.Requested, OptIns.Consent), (S, OptIns.Requested, OptIns.Refusal)], UseCaseTests.Described(replaced));
        Assert.Equal(1, await journey.ProcessValidationsAsync());
        var second = await smtp.WaitForMessageAsync(m => m.Message.MessageId != first.Message.MessageId, TimeSpan.FromSeconds(20));
        Assert.Equal([Person], second.Recipients);
        var secondLink = new Uri(new Uri(baseUrl), ValidationFlowTests.LinkPath(second.Message)).ToString();
        Assert.NotEqual(firstLink, secondLink);
        await AssertRequestedAsync(journey, extRefNo, [N, S]);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var old = await page.GotoAsync(firstLink);
        Assert.Equal(410, old!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("expired");
        await Assertions.Expect(page.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await Browser.SaveScreenshotAsync(page, $"optin-replaced-link-{provider}");
        await AssertRequestedAsync(journey, extRefNo, [N, S]);

        var shown = await page.GotoAsync(secondLink);
        Assert.Equal(200, shown!.Status);
        await Assertions.Expect(page.GetByText("OFFERS").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("SURVEYS").First).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Thank");
        await Browser.SaveScreenshotAsync(page, $"optin-confirmed-{provider}");

        var flow = await OptIns.ExpectAsync(client.GetAsync(OptIns.FlowPath(extRefNo)), 200);
        Assert.Equal([(N, OptIns.Current, OptIns.Consent), (S, OptIns.Current, OptIns.Refusal)], UseCaseTests.Described(flow));
        await journey.AssertViewsAgreeAsync();
        foreach (var category in new[] { "OFFERS", "SURVEYS" })
            Assert.Equal(extRefNo, (await journey.ConsolidatedConsentAsync(category))!["validationReference"]!.GetValue<string>());
        await journey.DmsReceivesAsync(new() { ["OFFERS"] = true, ["SURVEYS"] = false }, "the person's confirmation");

        // The partner still cannot confirm it, and nothing more is sent or planned.
        var late = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "?approval=true", ""), 522);
        Assert.Equal("confirmed-by-person", late["violations"]![0]!["rule"]!.GetValue<string>());
        var again = await page.GotoAsync(secondLink);
        Assert.Equal(410, again!.Status);
        Assert.Equal(0, await journey.ProcessValidationsAsync());
        Assert.Equal(2, smtp.Messages.Count);
        await journey.AssertViewsAgreeAsync();
        await journey.AssertDmsHeardEverythingAsync();
        var ledger = await journey.LedgerAsync();
        var confirmation = Assert.Single(ledger, e => e["type"]!.GetValue<string>() == "validation-confirmed");
        Assert.Equal("person", confirmation["payload"]!["confirmedBy"]!.GetValue<string>());
        await journey.AssertLedgerValidAsync();
    }

    static async Task AssertRequestedAsync(OptInJourney journey, string extRefNo, string[] types)
    {
        var flow = await OptIns.ExpectAsync(journey.Client.GetAsync(OptIns.FlowPath(extRefNo)), 200);
        Assert.Equal([.. types.Select(t => (t, OptIns.Requested, (string?)null))], UseCaseTests.Described(flow));
        var overview = await journey.OverviewAsync();
        Assert.All(types, t => Assert.Equal(OptIns.Requested, UseCaseTests.Item(overview, t)["status"]!.GetValue<string>()));
        await journey.AssertViewsAgreeAsync();
        await journey.AssertDmsHeardEverythingAsync();
    }
}
