using System.Net;
using System.Net.Http.Json;
using System.Text;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>
/// An event type's static tokens (seed 001 §2): shown once, stored as a SHA-256, several in force for a rotation, revoked
/// at once; accepted in the four places the seed allows, for their own event type only, and for nothing else.
/// </summary>
public sealed class EventTokenTests
{
    const string Event = """{ "id": "t-1", "newsletter": true, "ok": true }""";

    [ProviderTheory, Providers]
    public async Task A_token_is_shown_once_stored_as_its_sha256_rotated_with_a_second_and_refused_once_revoked(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tok");
        var (admin, _) = await TypeAsync(app, nmsc);
        using var anonymous = app.CreateClient();
        var tokens = Inbound.TypePath(nmsc, "signup") + "/tokens";

        using var issuedResponse = await admin.PostAsJsonAsync(tokens, new { label = "form builder 2026" });
        var issuedText = await issuedResponse.Content.ReadAsStringAsync();
        Assert.True(issuedResponse.StatusCode == HttpStatusCode.Created, issuedText);
        var issued = System.Text.Json.Nodes.JsonNode.Parse(issuedText)!;
        var first = Str(issued["token"]);
        var firstId = Str(issued["id"]);
        Assert.True(first.Length >= 32, first);
        Assert.Equal(tokens + "/" + firstId, issuedResponse.Headers.Location?.OriginalString);
        Assert.Equal("form builder 2026", Str(issued["label"]));

        var list = await Inbound.ExpectAsync(admin.GetAsync(tokens), HttpStatusCode.OK);
        Assert.Equal(1, Int(list["count"]));
        Assert.DoesNotContain(first, list.ToJsonString());
        Assert.Null(list["tokens"]![0]!["token"]);
        Assert.Null(list["tokens"]![0]!["lastUsedAt"]);
        using (var scope = app.Scope())
        {
            var row = await app.Db(scope).ApiKeys.AsNoTracking().SingleAsync(k => k.Id == Guid.Parse(firstId));
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(first))), row.KeyHash);
            Assert.NotNull(row.EventTypeId);
            Assert.Equal("forms", row.SourceSystem);
        }
        var ledgered = await LedgerAsync(app, nmsc, "api-key-issued");
        Assert.Equal("signup", Str(Assert.Single(ledgered)["eventType"]));
        Assert.DoesNotContain(first, ledgered[0].ToJsonString());

        // A second token for the rotation: both work.
        var second = await Inbound.IssueTokenAsync(admin, nmsc, "signup", "rotation");
        Assert.NotEqual(first, second);
        foreach (var token in new[] { first, second })
            Assert.Equal(1, Int((await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "signup", token, Event), HttpStatusCode.Accepted))["received"]));
        list = await Inbound.ExpectAsync(admin.GetAsync(tokens), HttpStatusCode.OK);
        Assert.Equal(2, Int(list["count"]));
        Assert.All(list["tokens"]!.AsArray(), t => Assert.NotNull(t!["lastUsedAt"]));

        // The first is revoked: refused from the next request on; the second goes on working. Revoking is idempotent.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(tokens + "/" + firstId)).StatusCode);
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", first, Event), "revoked");
        await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "signup", second, Event), HttpStatusCode.Accepted);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(tokens + "/" + firstId)).StatusCode);
        Assert.Single(await LedgerAsync(app, nmsc, "api-key-revoked"));
        await ProblemAsync(admin.DeleteAsync(tokens + "/" + Guid.NewGuid()), HttpStatusCode.NotFound);
        await ProblemAsync(admin.DeleteAsync(tokens + "/not-a-guid"), HttpStatusCode.NotFound);
        list = await Inbound.ExpectAsync(admin.GetAsync(tokens), HttpStatusCode.OK);
        Assert.NotNull(list["tokens"]!.AsArray().Single(t => Str(t!["id"]) == firstId)!["revokedAt"]);
        Assert.Null(list["tokens"]!.AsArray().Single(t => Str(t!["id"]) != firstId)!["revokedAt"]);
    }

    [ProviderTheory, Providers]
    public async Task At_most_twenty_tokens_are_in_force_labels_are_checked_and_an_unknown_type_is_404(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tok");
        var (admin, _) = await TypeAsync(app, nmsc);
        var tokens = Inbound.TypePath(nmsc, "signup") + "/tokens";

        await InvalidAsync(admin.PostAsJsonAsync(tokens, new { }), "label", "required");
        await InvalidAsync(admin.PostAsJsonAsync(tokens, new { label = "  " }), "label", "required");
        await InvalidAsync(admin.PostAsJsonAsync(tokens, new { label = new string('l', 1000) }), "label", "max-length");
        await InvalidAsync(admin.PostAsJsonAsync(tokens, new { label = "tab\there" }), "label", "control-characters");
        await ProblemAsync(admin.PostAsync(tokens, new StringContent("{\"label\":\"x\"}", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(0, Int((await Inbound.ExpectAsync(admin.GetAsync(tokens), HttpStatusCode.OK))["count"]));

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
            ids.Add(Str((await Inbound.ExpectAsync(admin.PostAsJsonAsync(tokens, new { label = $"t{i}" }), HttpStatusCode.Created))["id"]));
        var refused = await ProblemAsync(admin.PostAsJsonAsync(tokens, new { label = "21st" }), HttpStatusCode.Conflict);
        Assert.Contains("20", Str(refused["detail"]));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(tokens + "/" + ids[0])).StatusCode);
        await Inbound.ExpectAsync(admin.PostAsJsonAsync(tokens, new { label = "after a revocation" }), HttpStatusCode.Created);
        Assert.Equal(21, Int((await Inbound.ExpectAsync(admin.GetAsync(tokens), HttpStatusCode.OK))["count"]));
        // A source system's own API keys are counted apart: the type's tokens do not use them up.
        Assert.False(string.IsNullOrEmpty(await app.IssueApiKeyAsync("toyota", nmsc, "forms")));

        var missing = Inbound.TypePath(nmsc, "nosuch") + "/tokens";
        await ProblemAsync(admin.PostAsJsonAsync(missing, new { label = "x" }), HttpStatusCode.NotFound);
        await ProblemAsync(admin.GetAsync(missing), HttpStatusCode.NotFound);
        await ProblemAsync(admin.DeleteAsync(missing + "/" + ids[1]), HttpStatusCode.NotFound);
        // A token id of another type is not this type's.
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "other"), Inbound.Json(TypeBody())), HttpStatusCode.Created);
        await ProblemAsync(admin.DeleteAsync(Inbound.TypePath(nmsc, "other") + "/tokens/" + ids[1]), HttpStatusCode.NotFound);
    }

    [ProviderTheory, Providers]
    public async Task The_token_is_taken_as_bearer_x_api_key_api_key_or_query_for_its_own_type_only(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tok");
        var (admin, forms) = await TypeAsync(app, nmsc);
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "other"), Inbound.Json(TypeBody())), HttpStatusCode.Created);
        var token = await Inbound.IssueTokenAsync(admin, nmsc, "signup");
        var otherToken = await Inbound.IssueTokenAsync(admin, nmsc, "other");
        // The same type name in another organisation.
        var elsewhere = HubApp.Unique("tok");
        var (elsewhereAdmin, _) = await TypeAsync(app, elsewhere);
        var foreignToken = await Inbound.IssueTokenAsync(elsewhereAdmin, elsewhere, "signup");
        using var anonymous = app.CreateClient();

        var n = 0;
        foreach (var how in new[] { "bearer", "x-api-key", "api-key", "query" })
        {
            var id = $"w-{++n}";
            var answer = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "signup", token, $$"""{ "id": "{{id}}", "newsletter": true, "ok": true }""", how),
                HttpStatusCode.Accepted);
            Assert.Equal(1, Int(answer["accepted"]));
            Assert.NotNull(await CustomerIdAsync(app, nmsc, "forms", id));
        }
        // Refused: no token, an unknown one, one of another type, one of another organisation's type of the same name, a type that is not there.
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", null, Event), "no token");
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", "", Event, "query"), "an empty query token");
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", "chk_" + new string('z', 43), Event), "an unknown token");
        foreach (var how in new[] { "bearer", "x-api-key", "api-key", "query" })
        {
            await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", otherToken, Event, how), "another type's token, " + how);
            await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", foreignToken, Event, how), "another organisation's token, " + how);
        }
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "nosuch", token, Event), "an unknown type");
        await UnauthorisedAsync(PostEventsAsync(anonymous, elsewhere, "signup", token, Event), "the same type name elsewhere");
        // An admin's or source system's bearer token is not an event token.
        using var asForms = await app.AsAsync(forms);
        await UnauthorisedAsync(asForms.PostAsync(Inbound.EventsPath(nmsc, "signup"), Inbound.Json(Event)), "the source system's access token");
        await UnauthorisedAsync(admin.PostAsync(Inbound.EventsPath(nmsc, "signup"), Inbound.Json(Event)), "the admin's access token");
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "t-1"));
        Assert.Null(await CustomerIdAsync(app, elsewhere, "forms", "t-1"));

        // Behind a proxy that adds an Authorization header of its own, the token in the query still opens the type.
        using (var proxied = new HttpRequestMessage(HttpMethod.Post, Inbound.EventsPath(nmsc, "signup") + "?token=" + Uri.EscapeDataString(token))
               { Content = Inbound.Json("""{ "id": "w-proxy", "newsletter": true, "ok": true }""") })
        {
            proxied.Headers.Authorization = new("Bearer", "the-proxys-own-credential");
            var answer = await Inbound.ExpectAsync(anonymous.SendAsync(proxied), HttpStatusCode.Accepted);
            Assert.Equal(1, Int(answer["accepted"]));
        }
        Assert.NotNull(await CustomerIdAsync(app, nmsc, "forms", "w-proxy"));
    }

    [ProviderTheory, Providers]
    public async Task An_event_token_opens_no_api_key_route_and_an_api_key_opens_no_event_route_and_a_deactivated_system_is_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tok");
        var (admin, forms) = await TypeAsync(app, nmsc);
        var token = await Inbound.IssueTokenAsync(admin, nmsc, "signup");
        var apiKey = await app.IssueApiKeyAsync(forms);
        using var anonymous = app.CreateClient();

        // Seed 002's routes that take a source system's API key: the event token is not one.
        foreach (var key in new[] { token, apiKey })
        {
            using var upload = new HttpRequestMessage(HttpMethod.Post, "/RestServices/OptOut/Upload") { Content = Inbound.Json("{}") };
            upload.Headers.Add("api-key", key);
            using var uploaded = await anonymous.SendAsync(upload);
            using var check = new HttpRequestMessage(HttpMethod.Post, $"/nmscs/{nmsc}/suppression:check")
            {
                Content = Inbound.Json($$"""{ "identifiers": [ { "kind": "email", "sha256": "{{new string('a', 64)}}" } ] }"""),
            };
            check.Headers.Add("api-key", key);
            using var checkedResponse = await anonymous.SendAsync(check);
            if (key == token)
            {
                Assert.Equal(HttpStatusCode.Unauthorized, uploaded.StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, checkedResponse.StatusCode);
            }
            else
            {
                // The control: the system's own key is let in (whatever the empty upload then earns).
                Assert.True(uploaded.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)uploaded.StatusCode < 500,
                    $"the API key on the upload: {(int)uploaded.StatusCode}");
                Assert.Equal(HttpStatusCode.OK, checkedResponse.StatusCode);
            }
        }
        // The source system's API key does not open its event type, in any place.
        foreach (var how in new[] { "bearer", "x-api-key", "api-key", "query" })
            await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", apiKey, Event, how), "the source system's API key, " + how);
        // The event token is no bearer token of the hub's other routes.
        using var withToken = app.WithToken(token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withToken.GetAsync(HubApp.SubscriptionDataPath(forms, "t-1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withToken.GetAsync(Inbound.TypePath(nmsc, "signup"))).StatusCode);
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "t-1"));

        // A deactivated source system's tokens are refused; reactivated, they work again (they were not revoked).
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/source-systems/{forms.Id}")).StatusCode);
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", token, Event), "a deactivated system's token");
        await ProblemAsync(admin.PostAsJsonAsync(Inbound.TypePath(nmsc, "signup") + "/tokens", new { label = "x" }), HttpStatusCode.Conflict, "a token for a deactivated system");
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "t-1"));
        var reactivated = await admin.PostAsync($"/admin/source-systems/{forms.Id}/reactivate", null);
        Assert.True(reactivated.IsSuccessStatusCode, await reactivated.Content.ReadAsStringAsync());
        await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "signup", token, Event), HttpStatusCode.Accepted);
    }
}
