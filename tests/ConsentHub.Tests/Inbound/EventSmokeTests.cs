using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Inbound;

/// <summary>The shortest path through the inbound event endpoint: the sample type, a token in the query, one validated event.</summary>
public sealed class EventSmokeTests
{
    [ProviderTheory, Providers]
    public async Task A_validated_form_event_posted_with_the_token_in_the_query_becomes_the_records_consent(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("in");
        var (admin, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();

        var answer = await Inbound.ExpectAsync(anonymous.PostAsync(Inbound.EventsPath(nmsc, "form-builder") + "?token=" + Uri.EscapeDataString(token),
            Inbound.Json("""{ "id": "f-1", "mail": "anna@example.org", "newsletter": "yes", "lang": "de", "confirmed": true }""")), HttpStatusCode.Accepted);

        Assert.Equal(1, answer["accepted"]!.GetValue<int>());
        var outcome = answer["events"]![0]!;
        Assert.Equal("accepted", outcome["status"]!.GetValue<string>());
        Assert.Equal("APPLIED", outcome["changeStatus"]!.GetValue<string>());

        // The same event again (same id) applies nothing and names the first change request.
        var again = await Inbound.ExpectAsync(anonymous.PostAsync(Inbound.EventsPath(nmsc, "form-builder") + "?token=" + Uri.EscapeDataString(token),
            Inbound.Json("""{ "id": "f-1", "mail": "anna@example.org", "newsletter": "yes", "lang": "de", "confirmed": true }""")), HttpStatusCode.Accepted);
        Assert.Equal("duplicate", again["events"]![0]!["status"]!.GetValue<string>());
        Assert.Equal(outcome["changeRequestId"]!.GetValue<string>(), again["events"]![0]!["changeRequestId"]!.GetValue<string>());

        var data = await Inbound.ExpectAsync(admin.GetAsync($"/contexts/toyota/nmscs/{nmsc}/source-systems/forms/customers/f-1/subscription-data"), HttpStatusCode.OK);
        Assert.Contains("\"OFFERS\"", data.ToJsonString());
        Assert.Contains("anna@example.org", data.ToJsonString());

        // The person's subject access export carries the event as it was received, once.
        var access = await Inbound.ExpectAsync(admin.GetAsync($"/nmscs/{nmsc}/subject-access?email=anna%40example.org"), HttpStatusCode.OK);
        var received = access["records"]![0]!["inboundEvents"]!.AsArray();
        Assert.Single(received);
        Assert.Equal("form-builder", received[0]!["eventType"]!.GetValue<string>());
        Assert.Equal("post", received[0]!["via"]!.GetValue<string>());
        Assert.Equal("yes", received[0]!["event"]!["newsletter"]!.GetValue<string>());

        // A wrong token changes nothing.
        using var refused = await anonymous.PostAsync(Inbound.EventsPath(nmsc, "form-builder") + "?token=chk_wrongwrongwrongwrong",
            Inbound.Json("""{ "id": "f-2", "mail": "bob@example.org", "newsletter": "yes", "confirmed": true }"""));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
