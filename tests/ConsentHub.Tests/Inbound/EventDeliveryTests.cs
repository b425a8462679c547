using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Rights;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>
/// POST /events (seed 001 §2): one event or an array, each answered by its position; second deliveries applied once;
/// the raw body sealed under the record's key with a keyed commitment in the ledger; refusals as problems, never a 500.
/// </summary>
public sealed class EventDeliveryTests
{
    static string Form(string id, string newsletter = "yes", string mail = "anna@example.org") =>
        $$"""{ "id": "{{id}}", "mail": "{{mail}}", "newsletter": "{{newsletter}}", "lang": "de", "confirmed": true }""";

    [ProviderTheory, Providers]
    public async Task One_event_or_an_array_mixed_outcomes_are_answered_by_position_with_counts(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("dl");
        var (admin, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();

        var one = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "form-builder", token, Form("d-1")), HttpStatusCode.Accepted);
        Assert.Equal((1, 1, 0, 0), (Int(one["received"]), Int(one["accepted"]), Int(one["duplicates"]), Int(one["rejected"])));
        Assert.Equal("form-builder", Str(one["eventType"]));
        var first = one["events"]![0]!;
        Assert.Equal((0, "accepted", "APPLIED"), (Int(first["index"]), Str(first["status"]), Str(first["changeStatus"])));
        var change = await Inbound.ExpectAsync(admin.GetAsync(Str(first["_links"]!["change-request"]!["href"])), HttpStatusCode.OK);
        Assert.Equal(Str(first["changeRequestId"]), Str(change["id"]));

        var mixed = $$"""[ {{Form("d-2")}}, {{Form("d-3", newsletter: "maybe")}}, {{Form("d-1")}}, { "mail": "x@example.org", "newsletter": "yes" }, 7, {{Form("d-2", "no")}} ]""";
        var answer = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "form-builder", token, mixed), HttpStatusCode.Accepted);
        Assert.Equal((6, 1, 2, 3), (Int(answer["received"]), Int(answer["accepted"]), Int(answer["duplicates"]), Int(answer["rejected"])));
        var events = answer["events"]!.AsArray();
        Assert.Equal([0, 1, 2, 3, 4, 5], events.Select(e => Int(e!["index"])));
        Assert.Equal(["accepted", "rejected", "duplicate", "rejected", "rejected", "duplicate"], events.Select(e => Str(e!["status"])));
        var unmapped = Assert.Single(events[1]!["violations"]!.AsArray())!;
        Assert.Equal(("/newsletter", "unmapped-value"), (Str(unmapped["field"]), Str(unmapped["rule"])));
        Assert.Null(events[1]!["changeRequestId"]);
        Assert.Equal(Str(first["changeRequestId"]), Str(events[2]!["changeRequestId"]));
        Assert.Equal("APPLIED", Str(events[2]!["changeStatus"]));
        Assert.Contains(events[3]!["violations"]!.AsArray(), v => Str(v!["field"]) == "/id" && Str(v["rule"]) == "required");
        Assert.Contains(events[4]!["violations"]!.AsArray(), v => Str(v!["field"]) == "event" && Str(v["rule"]) == "json");
        // The same id again, with other content: a second delivery by the type's id pointer, applied once.
        Assert.Equal(Str(events[0]!["changeRequestId"]), Str(events[5]!["changeRequestId"]));

        var data = await Inbound.ExpectAsync(admin.GetAsync($"/contexts/toyota/nmscs/{nmsc}/source-systems/forms/customers/d-2/subscription-data"), HttpStatusCode.OK);
        Assert.True(data["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "d-3"));
        Assert.Equal(2, (await LedgerAsync(app, nmsc, "inbound-event-received")).Count);
    }

    [ProviderTheory, Providers]
    public async Task The_same_event_delivered_concurrently_is_applied_once_and_every_answer_names_that_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("dl");
        var (admin, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();

        for (var round = 0; round < 3; round++)
        {
            var body = Form($"race-{round}");
            var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
            {
                using var response = await PostEventsAsync(anonymous, nmsc, "form-builder", token, body);
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {text}");
                return JsonNode.Parse(text)!["events"]![0]!;
            }));
            Assert.Single(answers, a => Str(a["status"]) == "accepted");
            Assert.Equal(5, answers.Count(a => Str(a["status"]) == "duplicate"));
            Assert.Single(answers.Select(a => Str(a["changeRequestId"])).Distinct());
            var history = await Inbound.ExpectAsync(admin.GetAsync($"/contexts/toyota/nmscs/{nmsc}/source-systems/forms/customers/race-{round}/subscription-data/history"),
                HttpStatusCode.OK);
            Assert.Equal(1, Int(history["count"]));
        }
        Assert.Equal(3, (await LedgerAsync(app, nmsc, "inbound-event-received")).Count);
    }

    [ProviderTheory, Providers]
    public async Task A_category_hidden_after_the_type_was_saved_rejects_each_event_naming_its_pointer(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("dl");
        var (admin, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();
        var hidden = await admin.PutAsync($"/admin/organisations/{nmsc}/categories", Inbound.Json("""{ "hidden": ["OFFERS"] }"""));
        Assert.True(hidden.StatusCode == HttpStatusCode.OK, await hidden.Content.ReadAsStringAsync());

        var answer = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "form-builder", token, Form("h-1")), HttpStatusCode.Accepted);
        var outcome = answer["events"]![0]!;
        Assert.Equal("rejected", Str(outcome["status"]));
        Assert.Contains(outcome["violations"]!.AsArray(), v => Str(v!["field"]) == "/newsletter" && Str(v["rule"]) == "hidden-category");
        var tried = await Inbound.ExpectAsync(admin.PostAsync(Inbound.TypePath(nmsc, "form-builder") + ":try", Inbound.Json(Form("h-1"))), HttpStatusCode.OK);
        Assert.False(tried["valid"]!.GetValue<bool>());
        Assert.Contains(tried["violations"]!.AsArray(), v => Str(v!["field"]) == "/newsletter" && Str(v["rule"]) == "hidden-category");
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "h-1"));
        // Saving the type again is refused now, naming the mapping's member.
        await InvalidAsync(admin.PutAsync(Inbound.TypePath(nmsc, "form-builder"), Inbound.Json(Inbound.FormBuilderSample)), "mapping.consents.OFFERS", "hidden-category");
    }

    [ProviderTheory, Providers]
    public async Task Refused_deliveries_are_problems_and_apply_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("dl");
        var (_, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();
        Task<HttpResponseMessage> Post(string body, string mediaType = "application/json") =>
            PostEventsAsync(anonymous, nmsc, "form-builder", token, body, mediaType: mediaType);

        await InvalidAsync(Post("[]"), "body", "required");
        await InvalidAsync(Post("[" + string.Join(",", Enumerable.Range(0, 1001).Select(i => "{}")) + "]"), "body", "max-events");
        await InvalidAsync(Post("42"), "body", "json");
        await InvalidAsync(Post("\"event\""), "body", "json");
        await ProblemAsync(Post("null"), HttpStatusCode.BadRequest, "null");
        await InvalidAsync(Post("not json"), "body", "json");
        await InvalidAsync(Post("{ \"id\": \"x\", "), "body", "json");
        await InvalidAsync(Post(""), "body", "required");
        await ProblemAsync(Post(Form("r-1"), "text/plain"), HttpStatusCode.UnsupportedMediaType);
        await ProblemAsync(Post(Form("r-1"), "application/x-www-form-urlencoded"), HttpStatusCode.UnsupportedMediaType);
        var huge = "[" + string.Join(",", Enumerable.Range(0, 900).Select(i => $$"""{ "id": "big-{{i}}", "pad": "{{new string('p', 10_000)}}" }""")) + "]";
        Assert.True(Encoding.UTF8.GetByteCount(huge) > 8 * 1024 * 1024);
        await ProblemAsync(Post(huge), HttpStatusCode.RequestEntityTooLarge);
        // The token is checked before the body: a wrong token with a broken body learns nothing of the body's faults.
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "form-builder", "chk_" + new string('q', 43), "not json"), "a wrong token and a broken body");
        // 1,000 events is the most, and is taken.
        var thousand = "[" + string.Join(",", Enumerable.Range(0, 1000).Select(i => """{ "newsletter": "yes" }""")) + "]";
        var taken = await Inbound.ExpectAsync(Post(thousand), HttpStatusCode.Accepted);
        Assert.Equal((1000, 1000), (Int(taken["received"]), Int(taken["rejected"])));
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "r-1"));
        Assert.Empty(await LedgerAsync(app, nmsc, "inbound-event-received"));
    }

    [ProviderTheory, Providers]
    public async Task Hostile_bodies_are_refused_or_rejected_never_a_500(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("dl");
        var (_, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();
        var bodies = new[]
        {
            new string('[', 5000) + new string(']', 5000),
            "{ \"id\": " + string.Concat(Enumerable.Repeat("{ \"a\": ", 200)) + "1" + new string('}', 200) + " }",
            """{ "id": "n-1", "mail": "a\u0000@example.org", "newsletter": "yes", "confirmed": true }""",
            """{ "id": "n-2\u0000", "newsletter": "yes", "confirmed": true }""",
            """{ "id": 1e400, "mail": "big@example.org", "newsletter": "yes", "confirmed": true }""",
            """{ "id": "n-3", "newsletter": 123456789012345678901234567890123456789012345678901234567890e999, "confirmed": true }""",
            """{ "id": "n-4", "mail": "s@example.org", "newsletter": "yes", "confirmed": 1e400 }""",
            """{ "id": "\ud800", "mail": "s@example.org", "newsletter": "yes", "confirmed": true }""",
            """{ "id": "n-5", "mail": "\udc00@example.org", "newsletter": "yes", "confirmed": true }""",
            """{ "id": "n-6", "mail": "s@example.org", "newsletter": "\ud800", "confirmed": true }""",
            """{ "\ud800": 1, "id": "n-7", "mail": "s@example.org", "newsletter": "yes", "confirmed": true }""",
            """{ "id": "n-8", "mail": "s@example.org", "newsletter": "yes", "lang": "\ud83d\ude00", "confirmed": true }""",
            "{ \"id\": \"n-9\", \"mail\": \"" + new string('m', 100_000) + "@example.org\", \"newsletter\": \"yes\", \"confirmed\": true }",
            "{ \"id\": \"" + new string('i', 10_000) + "\", \"newsletter\": \"yes\", \"confirmed\": true }",
            """{ "id": "n-10", "id": "n-11", "mail": "d@example.org", "newsletter": "yes", "confirmed": true }""",
            """[ null, [], [[[]]], true, "x", { "id": { "nested": "object" }, "newsletter": "yes" } ]""",
            """{ "id": "n-12", "mail": ["s@example.org"], "newsletter": { "yes": true }, "confirmed": "true" }""",
            "\uFEFF{ \"id\": \"n-13\", \"newsletter\": \"yes\", \"confirmed\": true }",
            "{ \"id\": \"n-14\", \"newsletter\": \"yes\", \"confirmed\": true } trailing",
        };
        foreach (var body in bodies)
        {
            using var response = await PostEventsAsync(anonymous, nmsc, "form-builder", token, body);
            var text = await response.Content.ReadAsStringAsync();
            var shown = body.Length > 120 ? body[..120] + "…" : body;
            Assert.True((int)response.StatusCode < 500, $"{shown}: {(int)response.StatusCode} {text}");
            Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.BadRequest, $"{shown}: {(int)response.StatusCode} {text}");
        }
        // Half a surrogate pair is named where it is, in the answer and by :try.
        var broken = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "form-builder", token,
            """[ { "id": "h-1", "mail": "s@example.org", "newsletter": "\ud800", "confirmed": true }, { "id": "h-2", "a/b": ["ok", "\udc00"], "newsletter": "yes" } ]"""),
            HttpStatusCode.Accepted);
        Assert.Equal(2, Int(broken["rejected"]));
        Assert.Equal(("/newsletter", "json"), (Str(broken["events"]![0]!["violations"]![0]!["field"]), Str(broken["events"]![0]!["violations"]![0]!["rule"])));
        Assert.Equal("/a~1b/1", Str(broken["events"]![1]!["violations"]![0]!["field"]));
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "h-1"));
        // The hub still answers the form builder.
        await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "form-builder", token, Form("after")), HttpStatusCode.Accepted);
    }

    [ProviderTheory, Providers]
    public async Task A_body_is_a_second_delivery_for_24_hours_without_an_id_pointer_and_an_id_for_ever(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers, s => s.AddSingleton<TimeProvider>(clock));
        var nmsc = HubApp.Unique("dl");
        var (admin, byId) = await Inbound.FormBuilderAsync(app, nmsc);
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "by-body"), Inbound.Json(TypeBody(
            """{ "sourceCustomerId": "/id", "email": "/mail", "validated": { "const": true }, "consents": { "OFFERS": { "pointer": "/newsletter", "values": { "yes": true, "no": false } } } }"""))),
            HttpStatusCode.Created);
        var byBody = await Inbound.IssueTokenAsync(admin, nmsc, "by-body");
        admin.Dispose();
        using var anonymous = app.CreateClient();
        async Task<JsonNode> Deliver(string type, string tokenOf, string body) =>
            (await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, type, tokenOf, body), HttpStatusCode.Accepted))["events"]![0]!;

        var body = Form("b-1");
        var firstByBody = await Deliver("by-body", byBody, body);
        var firstById = await Deliver("form-builder", byId, body);
        Assert.Equal("accepted", Str(firstByBody["status"]));
        Assert.Equal("accepted", Str(firstById["status"]));
        // The body differs by one space: another body, so applied; the id type sees the same id.
        Assert.Equal("accepted", Str((await Deliver("by-body", byBody, body.Replace("{ ", "{")))["status"]));
        Assert.Equal("duplicate", Str((await Deliver("form-builder", byId, Form("b-1", "no")))["status"]));

        clock.Advance(TimeSpan.FromHours(23.9));
        var again = await Deliver("by-body", byBody, body);
        Assert.Equal(("duplicate", Str(firstByBody["changeRequestId"])), (Str(again["status"]), Str(again["changeRequestId"])));

        clock.Advance(TimeSpan.FromHours(0.2));
        var later = await Deliver("by-body", byBody, body);
        Assert.Equal("accepted", Str(later["status"]));
        Assert.NotEqual(Str(firstByBody["changeRequestId"]), Str(later["changeRequestId"]));
        // ... and that delivery starts a new window.
        Assert.Equal(Str(later["changeRequestId"]), Str((await Deliver("by-body", byBody, body))["changeRequestId"]));

        clock.Advance(TimeSpan.FromDays(400));
        var forEver = await Deliver("form-builder", byId, body);
        Assert.Equal(("duplicate", Str(firstById["changeRequestId"])), (Str(forEver["status"]), Str(forEver["changeRequestId"])));
        using var scope = app.Scope();
        var rows = await app.Db(scope).InboundEvents.AsNoTracking().ToListAsync();
        Assert.Equal(3, rows.Count);
        Assert.Single(rows, r => r.ByEventId);
        Assert.All(rows, r => Assert.DoesNotContain("b-1", r.DedupKey));
    }

    [ProviderTheory, Providers]
    public async Task The_raw_body_is_sealed_under_the_records_key_committed_in_the_ledger_and_gone_after_erasure(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers);
        var nmsc = HubApp.Unique("dl");
        var (_, token) = await Inbound.FormBuilderAsync(app, nmsc);
        using var anonymous = app.CreateClient();
        const string email = "sealed.person@example.org";
        var body = Form("s-1", mail: email);

        var outcome = (await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "form-builder", token, body, "query"), HttpStatusCode.Accepted))["events"]![0]!;
        Assert.Equal("accepted", Str(outcome["status"]));
        var changeId = Guid.Parse(Str(outcome["changeRequestId"]));
        var customerId = (await CustomerIdAsync(app, nmsc, "forms", "s-1"))!.Value;

        var received = Assert.Single(await LedgerAsync(app, nmsc, "inbound-event-received"));
        Assert.Equal(changeId.ToString(), Str(received["changeRequestId"]));
        Assert.Equal(("form-builder", "toyota", "forms", "post"), (Str(received["eventType"]), Str(received["context"]), Str(received["sourceSystem"]), Str(received["via"])));
        var commitment = Str(received["bodyCommitment"]);
        Assert.Matches("^[0-9a-f]{64}$", commitment);
        Assert.NotEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(body))), commitment);
        Assert.DoesNotContain(email, received.ToJsonString());
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var row = await db.PersonalData.AsNoTracking().SingleAsync(p => p.Kind == PersonalDataKinds.InboundEvent && p.CustomerId == customerId);
            Assert.Equal(changeId.ToString("N"), row.Reference);
            Assert.Equal(-1, row.Sealed.AsSpan().IndexOf(Encoding.UTF8.GetBytes(email)));
            Assert.Equal(-1, row.Sealed.AsSpan().IndexOf(Encoding.UTF8.GetBytes("sealed.person")));
            // The commitment is the HMAC-SHA256 of the body as received, under the record's own key.
            var key = await scope.ServiceProvider.GetRequiredService<PersonKeys>().ForAsync(customerId, CancellationToken.None);
            Assert.Equal(PersonKeys.Commit(key, Encoding.UTF8.GetBytes(body)), commitment);
            var ledgerRows = await db.LedgerEntries.AsNoTracking().Select(e => e.Payload).ToListAsync();
            Assert.DoesNotContain(ledgerRows, p => p.Contains(email, StringComparison.OrdinalIgnoreCase));
        }

        using var dpo = await People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", "toyota", nmsc));
        var erased = await People.EraseAsync(dpo, nmsc, new { email });
        Assert.True(erased.StatusCode == HttpStatusCode.Created, await erased.Content.ReadAsStringAsync());
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            Assert.False(await db.PersonalData.AnyAsync(p => p.CustomerId == customerId));
            Assert.False(await db.PersonalData.AnyAsync(p => p.Kind == PersonalDataKinds.InboundEvent));
        }
        // The ledger's commitment stays; it no longer opens to anything.
        Assert.Equal(commitment, Str(Assert.Single(await LedgerAsync(app, nmsc, "inbound-event-received"))["bodyCommitment"]));
    }
}
