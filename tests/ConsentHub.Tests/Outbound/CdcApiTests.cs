using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Outbound;

/// <summary>The subscription API: its rules, its answers without or with an unreachable broker, and the ledger entries it writes.</summary>
[Collection(BrokerCollection.Name)]
public sealed class CdcApiTests
{
    static string Problem(JsonObject problem) => problem.ToJsonString();

    static IEnumerable<string> Fields(JsonObject problem) => problem["violations"]!.AsArray().Select(v => v!["field"]!.GetValue<string>());

    [ProviderTheory, Providers]
    public async Task Every_cdc_route_answers_409_when_no_broker_is_configured(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var path = Cdc.Path(nmsc, "feed");
        var calls = new (string Method, string Url)[]
        {
            ("GET", $"/admin/organisations/{nmsc}/cdc"), ("PUT", path), ("GET", path), ("DELETE", path), ("GET", path + "/status"),
            ("POST", path + ":replay?fromLedgerIndex=1"),
        };
        foreach (var (method, url) in calls)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), url);
            if (method == "PUT") request.Content = JsonContent.Create(Cdc.Body("events", ["consent.OFFERS"]));
            var problem = await Inbound.Inbound.ExpectAsync(admin.SendAsync(request), HttpStatusCode.Conflict);
            Assert.Contains("no broker configured (ConsentHub:Broker:Uri)", problem["detail"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_broker_uri_that_is_not_amqp_stops_the_start_without_showing_its_password()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = await HubApp.StartAsync(DatabaseProvider.Sqlite, new() { ["ConsentHub:Broker:Uri"] = "http://hub:Pa55-secret@127.0.0.1:1/" });
            using var client = app.CreateClient();
        });
        Assert.Contains("ConsentHub:Broker:Uri must be an AMQP URI", failure.ToString());
        Assert.DoesNotContain("Pa55-secret", failure.ToString());
    }

    [BrokerTheory, Providers]
    public async Task Every_rule_of_a_subscription_is_checked_and_names_its_field_and_nothing_is_saved(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        async Task<JsonObject> Refused(string name, JsonObject body, HttpStatusCode status = HttpStatusCode.BadRequest) =>
            await Inbound.Inbound.ExpectAsync(admin.PutAsJsonAsync(Cdc.Path(nmsc, name), body), status);

        Assert.Equal(["name"], Fields(await Refused("-bad", Cdc.Body("x", ["consent.OFFERS"]))));
        Assert.Equal(["name"], Fields(await Refused(new string('n', 65), Cdc.Body("x", ["consent.OFFERS"]))));
        await Inbound.Inbound.ExpectAsync(admin.PutAsJsonAsync(Cdc.Path("no-such-org", "feed"), Cdc.Body("x", ["consent.OFFERS"])), HttpStatusCode.NotFound);

        var everything = await Refused("feed", new JsonObject
        {
            ["fields"] = new JsonArray("consent.offers", "channel.FAX", "communication.email", "consent.OFFERS", "consent.OFFERS", "email", "consent.A"),
            ["contexts"] = new JsonArray("lexus", "toyota", "TOYOTA"),
            ["exchange"] = "amq.topic",
        });
        Assert.Equal(["fields[0]", "fields[1]", "fields[2]", "fields[4]", "fields[5]", "fields[6]", "contexts[0]", "contexts[2]", "exchange"], Fields(everything));
        Assert.Equal(["category-code", "unknown-channel", "cdc-field", "duplicate-field", "cdc-field", "category-code", "unknown-context", "duplicate-context", "reserved-exchange"],
            everything["violations"]!.AsArray().Select(v => v!["rule"]!.GetValue<string>()));

        Assert.Equal(["fields"], Fields(await Refused("feed", Cdc.Body("x", []))));
        Assert.Equal(["fields"], Fields(await Refused("feed", new JsonObject { ["exchange"] = "x" })));
        Assert.Equal(["fields"], Fields(await Refused("feed", Cdc.Body("x", [.. Enumerable.Range(0, 201).Select(i => $"consent.C{i:000}")]))));
        Assert.Equal(["contexts"], Fields(await Refused("feed", Cdc.Body("x", ["consent.OFFERS"], contexts: []))));
        Assert.Equal(["exchange"], Fields(await Refused("feed", Cdc.Body("", ["consent.OFFERS"]))));
        Assert.Equal(["exchange"], Fields(await Refused("feed", new JsonObject { ["fields"] = new JsonArray("consent.OFFERS") })));
        Assert.Equal(["exchange"], Fields(await Refused("feed", Cdc.Body("has space", ["consent.OFFERS"]))));
        Assert.Equal(["exchange"], Fields(await Refused("feed", Cdc.Body(new string('e', 256), ["consent.OFFERS"]))));
        var wrongType = await Refused("feed", new JsonObject { ["fields"] = "consent.OFFERS", ["exchange"] = "x" });
        Assert.Contains("fields", Problem(wrongType));
        await Refused("feed", Cdc.Body("x", ["consent.OFFERS"], includePersonalData: false).Also(b => b["includePersonalData"] = "yes"));

        // The largest valid subscription is fine; then replay's index is checked.
        await Cdc.PutAsync(admin, nmsc, "feed", Cdc.Body(Cdc.Exchange(), [.. Enumerable.Range(0, 200).Select(i => $"consent.C{i:000}")], contexts: ["toyota"]));
        foreach (var from in new[] { "", "0", "-1", "x", "99999999", "1.5" })
        {
            var problem = await Inbound.Inbound.ExpectAsync(admin.PostAsync(Cdc.Path(nmsc, "feed") + ":replay?fromLedgerIndex=" + from, null), HttpStatusCode.BadRequest);
            Assert.Equal(["fromLedgerIndex"], Fields(problem));
        }
        await Inbound.Inbound.ExpectAsync(admin.PostAsync(Cdc.Path(nmsc, "feed") + ":replay", null), HttpStatusCode.BadRequest);
        await Inbound.Inbound.ExpectAsync(admin.PostAsync(Cdc.Path(nmsc, "nope") + ":replay?fromLedgerIndex=1", null), HttpStatusCode.NotFound);

        using var scope = app.Scope();
        Assert.Equal(["feed"], await app.Db(scope).CdcSubscriptions.Where(s => s.Nmsc == nmsc).Select(s => s.Name).ToListAsync());
    }

    [BrokerTheory, Providers]
    public async Task A_subscription_is_created_replaced_listed_read_and_deleted_with_ledger_entries(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var exchange = Cdc.Exchange();

        var created = await Cdc.PutAsync(admin, nmsc, "offers", Cdc.Body(exchange, ["consent.OFFERS", "channel.EMAIL", "communication.country"]));
        Assert.Equal(exchange, created["exchange"]!.GetValue<string>());
        Assert.Null(created["contexts"]);
        Assert.False(created["includePersonalData"]!.GetValue<bool>());
        var replaced = await Cdc.PutAsync(admin, nmsc, "offers", Cdc.Body(exchange, ["consent.OFFERS"], contexts: ["TOYOTA"], includePersonalData: true), HttpStatusCode.OK);
        Assert.Equal(["toyota"], replaced["contexts"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(["consent.OFFERS"], replaced["fields"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.True(replaced["includePersonalData"]!.GetValue<bool>());

        var list = await Inbound.Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/cdc"), HttpStatusCode.OK);
        Assert.Equal(1, list["count"]!.GetValue<int>());
        Assert.Equal(Problem(replaced), Problem((await Inbound.Inbound.ExpectAsync(admin.GetAsync(Cdc.Path(nmsc, "offers")), HttpStatusCode.OK))));

        // A new subscription starts at the end of the change log: nothing to publish, no lag.
        var status = await Cdc.StatusAsync(admin, nmsc, "offers");
        Assert.Equal(0, status["lag"]!["changes"]!.GetValue<long>());
        Assert.Equal(0, status["publishedCount"]!.GetValue<long>());
        Assert.Equal(-1, status["cursor"]!["position"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(Cdc.Path(nmsc, "offers"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(Cdc.Path(nmsc, "offers"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync(Cdc.Path(nmsc, "offers"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(Cdc.Path(nmsc, "offers") + "/status")).StatusCode);

        using var scope = app.Scope();
        var entries = await app.Db(scope).LedgerEntries.Where(e => e.Type.StartsWith("cdc-subscription")).OrderBy(e => e.Index).ToListAsync();
        Assert.Equal(["cdc-subscription-configured", "cdc-subscription-configured", "cdc-subscription-deleted"], entries.Select(e => e.Type));
        Assert.Contains("\"created\"", entries[0].Payload);
        Assert.Contains("\"replaced\"", entries[1].Payload);
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [BrokerTheory, Providers]
    public async Task An_exchange_of_another_type_is_refused_naming_the_exchange_and_nothing_is_saved(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var exchange = Cdc.Exchange();
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(CdcBroker.Required) };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
            await channel.ExchangeDeclareAsync(exchange, RabbitMQ.Client.ExchangeType.Fanout, durable: false, autoDelete: true);

        var problem = await Inbound.Inbound.ExpectAsync(admin.PutAsJsonAsync(Cdc.Path(nmsc, "offers"), Cdc.Body(exchange, ["consent.OFFERS"])),
            HttpStatusCode.BadRequest);
        Assert.Equal(["exchange"], Fields(problem));
        Assert.Contains("another type", problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(Cdc.Path(nmsc, "offers"))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task An_unreachable_broker_answers_503_saves_nothing_and_never_shows_the_password(DatabaseProvider provider)
    {
        var settings = CdcBroker.Settings($"amqp://hub:Pa55-secret-{Guid.NewGuid():N}@127.0.0.1:{HubApp.FreePort()}/");
        var password = settings["ConsentHub:Broker:Uri"]!.Split(':')[2].Split('@')[0];
        await using var app = await HubApp.StartAsync(provider, settings);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();

        var problem = await Inbound.Inbound.ExpectAsync(admin.PutAsJsonAsync(Cdc.Path(nmsc, "offers"), Cdc.Body("events", ["consent.OFFERS"])),
            HttpStatusCode.ServiceUnavailable);
        Assert.Contains("Nothing was saved", problem["detail"]!.GetValue<string>());
        Assert.DoesNotContain(password, Problem(problem));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(Cdc.Path(nmsc, "offers"))).StatusCode);
        using (var scope = app.Scope())
        {
            Assert.False(await app.Db(scope).CdcSubscriptions.AnyAsync(s => s.Nmsc == nmsc));
            Assert.False(await app.Db(scope).LedgerEntries.AnyAsync(e => e.Payload.Contains(password)));
        }
        Assert.Contains(app.Logs.Lines, l => l.Contains("The broker cannot be reached"));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(password));
    }
}

static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject body, Action<JsonObject> change)
    {
        change(body);
        return body;
    }
}
