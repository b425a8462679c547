using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>The admin's event types (seed 001 §1): define, replace, read, list, delete, and what each refuses.</summary>
public sealed class EventTypeTests
{
    [ProviderTheory, Providers]
    public async Task Put_creates_then_replaces_get_and_list_show_it_and_delete_revokes_its_tokens(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("et");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "forms");
        using var admin = await app.AdminAsync();
        using var anonymous = app.CreateClient();

        using (var created = await admin.PutAsync(Inbound.TypePath(nmsc, "signup"), Inbound.Json(TypeBody())))
        {
            var text = await created.Content.ReadAsStringAsync();
            Assert.True(created.StatusCode == HttpStatusCode.Created, text);
            Assert.Equal(Inbound.TypePath(nmsc, "signup"), created.Headers.Location?.OriginalString);
            var view = System.Text.Json.Nodes.JsonNode.Parse(text)!;
            Assert.Equal("signup", Str(view["eventTypeId"]));
            Assert.Equal("toyota", Str(view["context"]));
            Assert.Equal("forms", Str(view["sourceSystem"]));
            Assert.Equal("/newsletter", Str(view["mapping"]!["consents"]!["OFFERS"]));
            Assert.Null(view["idPointer"]);
            Assert.Equal(Inbound.EventsPath(nmsc, "signup"), Str(view["_links"]!["events"]!["href"]));
        }
        var replaced = await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "signup"), Inbound.Json(TypeBody(idPointer: "/id"))), HttpStatusCode.OK);
        Assert.Equal("/id", Str(replaced["idPointer"]));
        var read = await Inbound.ExpectAsync(admin.GetAsync(Inbound.TypePath(nmsc, "signup")), HttpStatusCode.OK);
        Assert.Equal("/id", Str(read["idPointer"]));
        Assert.Equal(Str(replaced["createdAt"]), Str(read["createdAt"]));
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "other"), Inbound.Json(TypeBody())), HttpStatusCode.Created);
        var list = await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/event-types"), HttpStatusCode.OK);
        Assert.Equal(2, Int(list["count"]));
        Assert.Equal(["other", "signup"], list["eventTypes"]!.AsArray().Select(t => Str(t!["eventTypeId"])));

        // Two tokens work until the type is deleted; then both are revoked and refused.
        var first = await Inbound.IssueTokenAsync(admin, nmsc, "signup", "one");
        var second = await Inbound.IssueTokenAsync(admin, nmsc, "signup", "two");
        var accepted = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "signup", first, """{ "id": "r-1", "newsletter": true, "ok": true }"""), HttpStatusCode.Accepted);
        Assert.Equal(1, Int(accepted["accepted"]));

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(Inbound.TypePath(nmsc, "signup"))).StatusCode);
        await ProblemAsync(admin.GetAsync(Inbound.TypePath(nmsc, "signup")), HttpStatusCode.NotFound, "GET after delete");
        await ProblemAsync(admin.DeleteAsync(Inbound.TypePath(nmsc, "signup")), HttpStatusCode.NotFound, "DELETE twice");
        foreach (var token in new[] { first, second })
            await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", token, """{ "id": "r-2", "newsletter": true, "ok": true }"""), "a deleted type's token");
        // Defining the type again does not bring its old tokens back.
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "signup"), Inbound.Json(TypeBody())), HttpStatusCode.Created);
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", first, """{ "id": "r-2", "newsletter": true, "ok": true }"""), "a token of the deleted type, after a new type of that name");
        using (var scope = app.Scope())
        {
            var keys = await app.Db(scope).ApiKeys.AsNoTracking().Where(k => k.Nmsc == nmsc && k.EventTypeId != null).ToListAsync();
            Assert.Equal(2, keys.Count);
            Assert.All(keys, k => Assert.NotNull(k.RevokedAt));
        }
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "r-2"));

        var configured = await LedgerAsync(app, nmsc, "event-type-configured");
        Assert.Equal(["signup", "signup", "other", "signup"], configured.Select(p => Str(p["eventType"])));
        Assert.Equal("/id", Str(configured[1]["idPointer"]));
        Assert.Equal("/newsletter", Str(configured[0]["mapping"]!["consents"]!["OFFERS"]));
        var deleted = Assert.Single(await LedgerAsync(app, nmsc, "event-type-deleted"));
        Assert.Equal("signup", Str(deleted["eventType"]));
        Assert.Equal("forms", Str(deleted["sourceSystem"]));
        Assert.Equal("toyota", Str(deleted["context"]));
    }

    [ProviderTheory, Providers]
    public async Task An_unknown_organisation_is_404_and_an_invalid_event_type_id_is_400(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();
        var nobody = HubApp.Unique("et");
        await ProblemAsync(admin.PutAsync(Inbound.TypePath(nobody, "signup"), Inbound.Json(TypeBody())), HttpStatusCode.NotFound, "PUT");
        await ProblemAsync(admin.GetAsync($"/admin/organisations/{nobody}/event-types"), HttpStatusCode.NotFound, "list");
        await ProblemAsync(admin.GetAsync(Inbound.TypePath(nobody, "signup")), HttpStatusCode.NotFound, "GET");
        await ProblemAsync(admin.DeleteAsync(Inbound.TypePath(nobody, "signup")), HttpStatusCode.NotFound, "DELETE");

        var nmsc = HubApp.Unique("et");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "forms");
        foreach (var bad in new[] { "-signup", ".signup", "sign%20up", "sign~up", "sign%2Bup", new string('a', 65) })
        {
            await InvalidAsync(admin.PutAsync(Inbound.TypePath(nmsc, bad), Inbound.Json(TypeBody())), "eventTypeId", "event-type-id", bad);
        }
        foreach (var good in new[] { "a", "Form_Builder.v2-1", new string('b', 64) })
            await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, good), Inbound.Json(TypeBody())), HttpStatusCode.Created);
        var list = await Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/event-types"), HttpStatusCode.OK);
        Assert.Equal(3, Int(list["count"]));
    }

    [ProviderTheory, Providers]
    public async Task Context_and_source_system_must_name_an_active_source_system_of_the_organisation(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("et");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "forms");
        var old = await app.RegisterSourceSystemAsync(nmsc, "toyota", "old");
        var elsewhere = HubApp.Unique("et");
        await app.RegisterSourceSystemAsync(elsewhere, "lexus", "shop");
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/source-systems/{old.Id}")).StatusCode);
        var path = Inbound.TypePath(nmsc, "signup");

        await InvalidAsync(admin.PutAsync(path, Inbound.Json("""{ "sourceSystem": "forms", "mapping": { "sourceCustomerId": "/id", "consents": { "OFFERS": "/n" } } }""")),
            "context", "required");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json("""{ "context": "toyota", "mapping": { "sourceCustomerId": "/id", "consents": { "OFFERS": "/n" } } }""")),
            "sourceSystem", "required");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json("""{ "context": "toyota", "sourceSystem": "forms" }""")), "mapping", "required");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json("""{ "context": "toyota", "sourceSystem": "forms", "mapping": null }""")), "mapping", "required");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json(TypeBody(sourceSystem: "nosuch"))), "sourceSystem", "unknown-source-system");
        // A context the organisation has no such system in, and another organisation's system.
        await InvalidAsync(admin.PutAsync(path, Inbound.Json(TypeBody(context: "lexus"))), "sourceSystem", "unknown-source-system");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json(TypeBody(context: "lexus", sourceSystem: "shop"))), "sourceSystem", "unknown-source-system");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json(TypeBody(sourceSystem: "old"))), "sourceSystem", "deactivated");
        await ProblemAsync(admin.GetAsync(path), HttpStatusCode.NotFound, "nothing saved");
        Assert.Empty(await LedgerAsync(app, nmsc, "event-type-configured"));

        // The body's own shape: not JSON, not an object member of the right type, the wrong media type.
        await InvalidAsync(admin.PutAsync(path, Inbound.Json("""{ "context": "toyota", """)), "body", "json");
        await InvalidAsync(admin.PutAsync(path, Inbound.Json("""{ "context": 7, "sourceSystem": "forms", "mapping": {} }""")), "context", "json");
        await ProblemAsync(admin.PutAsync(path, new StringContent(TypeBody(), System.Text.Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
        await ProblemAsync(admin.PutAsync(path, Inbound.Json(TypeBody().Insert(1, $"\"pad\": \"{new string('p', 70_000)}\", "))), HttpStatusCode.RequestEntityTooLarge);
        await ProblemAsync(admin.GetAsync(path), HttpStatusCode.NotFound, "nothing saved");
    }

    [ProviderTheory, Providers]
    public async Task A_type_with_unrevoked_tokens_is_not_moved_to_another_source_system_until_they_are_revoked(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("et");
        var (admin, _) = await TypeAsync(app, nmsc);
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "shop");
        using var anonymous = app.CreateClient();
        var path = Inbound.TypePath(nmsc, "signup");
        var issued = await Inbound.ExpectAsync(admin.PostAsJsonAsync(path + "/tokens", new { label = "forms" }), HttpStatusCode.Created);

        var conflict = await ProblemAsync(admin.PutAsync(path, Inbound.Json(TypeBody(sourceSystem: "shop"))), HttpStatusCode.Conflict);
        Assert.Contains("revoke", Str(conflict["detail"]));
        Assert.Equal("forms", Str((await Inbound.ExpectAsync(admin.GetAsync(path), HttpStatusCode.OK))["sourceSystem"]));
        // Replacing the mapping on the same source system is fine while tokens are in force.
        await Inbound.ExpectAsync(admin.PutAsync(path, Inbound.Json(TypeBody(idPointer: "/id"))), HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(path + "/tokens/" + Str(issued["id"]))).StatusCode);
        var moved = await Inbound.ExpectAsync(admin.PutAsync(path, Inbound.Json(TypeBody(sourceSystem: "shop"))), HttpStatusCode.OK);
        Assert.Equal("shop", Str(moved["sourceSystem"]));
        await UnauthorisedAsync(PostEventsAsync(anonymous, nmsc, "signup", Str(issued["token"]), """{ "id": "m-1", "newsletter": true, "ok": true }"""), "revoked");

        // A new token attributes the type's events to the new system.
        var token = await Inbound.IssueTokenAsync(admin, nmsc, "signup");
        var answer = await Inbound.ExpectAsync(PostEventsAsync(anonymous, nmsc, "signup", token, """{ "id": "m-1", "newsletter": true, "ok": true }"""), HttpStatusCode.Accepted);
        Assert.Equal(1, Int(answer["accepted"]));
        Assert.NotNull(await CustomerIdAsync(app, nmsc, "shop", "m-1"));
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "m-1"));
        Assert.Equal(["forms", "forms", "shop"], (await LedgerAsync(app, nmsc, "event-type-configured")).Select(p => Str(p["sourceSystem"])));
    }
}
