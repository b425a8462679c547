using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Clusters;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Rights;
using ConsentHub.Tests.Validation;
using RabbitMQ.Client;

namespace ConsentHub.Tests.Outbound;

/// <summary>What a data team's queue receives: events for exactly the listed fields and contexts, in order, as CloudEvents.</summary>
[Collection(BrokerCollection.Name)]
public sealed class CdcPublishingTests
{
    [BrokerTheory, Providers]
    public async Task Events_carry_only_the_listed_fields_and_contexts_in_order_with_before_and_after(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dealer = await app.RegisterSourceSystemAsync(nmsc, "lexus", "dealer");
        using var admin = await app.AdminAsync();
        var (consents, languages) = (Cdc.Exchange(), Cdc.Exchange());
        await using var consentQueue = await CdcConsumer.StartAsync(consents);
        await using var languageQueue = await CdcConsumer.StartAsync(languages);
        await Cdc.PutAsync(admin, nmsc, "consents", Cdc.Body(consents, ["consent.OFFERS", "channel.EMAIL"]));
        await Cdc.PutAsync(admin, nmsc, "languages", Cdc.Body(languages, ["communication.language"], contexts: ["toyota"], includePersonalData: true));
        using var crmClient = await app.AsAsync(crm);
        using var dealerClient = await app.AsAsync(dealer);

        await Cdc.SubmitAsync(crmClient, crm, "c1", Seed.Consent("OFFERS", true, Cdc.At(1)));       // consents + languages (en)
        await Cdc.SubmitAsync(crmClient, crm, "c1", Seed.Consent("REMINDERS", true, Cdc.At(2)));    // neither: no listed field changed
        var french = Seed.Consent("REMINDERS", false, Cdc.At(3));
        french["consent"]!["communicationAttributes"]!["language"] = "fr";
        await Cdc.SubmitAsync(crmClient, crm, "c1", french);                                        // languages only
        var withdrawn = Seed.Consent("OFFERS", false, Cdc.At(4));
        withdrawn["consent"]!["communicationAttributes"]!["language"] = "fr";
        await Cdc.SubmitAsync(crmClient, crm, "c1", withdrawn);                                     // consents
        await Cdc.SubmitAsync(crmClient, crm, "c1", Seed.Channel("EMAIL", true, Cdc.At(5)));        // consents
        await Cdc.SubmitAsync(dealerClient, dealer, "d1", Seed.Consent("OFFERS", true, Cdc.At(6))); // consents only: lexus is not a languages context
        // The last change of each queue: queues keep order, so once it is in, everything before it is too.
        var last = Seed.Consent("OFFERS", true, Cdc.At(7));
        last["consent"]!["communicationAttributes"]!["language"] = "de";
        await Cdc.SubmitAsync(crmClient, crm, "c9", last);

        var events = await consentQueue.WaitForAsync(5);
        var languageEvents = await languageQueue.WaitForAsync(3);
        Assert.Equal(["toyota/crm/c1", "toyota/crm/c1", "toyota/crm/c1", "lexus/dealer/d1", "toyota/crm/c9"], events.Select(e => e["subject"]!.GetValue<string>()));
        Assert.Equal(["toyota/crm/c1", "toyota/crm/c1", "toyota/crm/c9"], languageEvents.Select(e => e["subject"]!.GetValue<string>()));
        Assert.Equal(5, consentQueue.Deliveries.Count);
        Assert.Equal(3, languageQueue.Deliveries.Count);
        var indexes = events.Select(e => e["data"]!["ledgerIndex"]!.GetValue<long>()).ToList();
        Assert.Equal(indexes.Order(), indexes);

        // The first: the record had nothing before; only the listed fields it holds are shown.
        var first = events[0];
        Assert.Equal("1.0", first["specversion"]!.GetValue<string>());
        Assert.Equal("consent.changed", first["type"]!.GetValue<string>());
        Assert.Equal($"https://hub.example.com/organisations/{nmsc}", first["source"]!.GetValue<string>());
        Assert.Equal($"{indexes[0]}.0", first["id"]!.GetValue<string>());
        Assert.Equal("application/json", first["datacontenttype"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(first["time"]!.GetValue<string>(), out _));
        var data = first["data"]!.AsObject();
        Assert.Equal("{}", data["before"]!.ToJsonString());
        Assert.Equal(["consent.OFFERS"], data["after"]!.AsObject().Select(p => p.Key));
        Assert.True(data["after"]!["consent.OFFERS"]!["flag"]!.GetValue<bool>());
        Assert.Equal(Cdc.At(1).Replace("Z", ".000Z"), data["after"]!["consent.OFFERS"]!["requestedTimestamp"]!.GetValue<string>());
        Assert.Equal(new JsonObject { ["nmsc"] = nmsc, ["context"] = "toyota", ["sourceSystem"] = "crm", ["sourceCustomerId"] = "c1" }.ToJsonString(),
            data["record"]!.ToJsonString());
        Assert.True(Guid.TryParse(data["changeRequestId"]!.GetValue<string>(), out _));
        Assert.Equal(44, data["leafHash"]!.GetValue<string>().Length);
        Assert.Null(data["personalData"]);
        var (_, properties, routingKey) = consentQueue.Deliveries[0];
        Assert.Equal($"consent.changed.{nmsc}.toyota", routingKey);
        Assert.Equal("application/cloudevents+json", properties.ContentType);
        Assert.Equal(DeliveryModes.Persistent, properties.DeliveryMode);
        Assert.Equal(first["id"]!.GetValue<string>(), properties.MessageId);

        // Then OFFERS withdrawn (before true, after false), EMAIL given (absent before), and the other context's record.
        Assert.True(events[1]["data"]!["before"]!["consent.OFFERS"]!["flag"]!.GetValue<bool>());
        Assert.False(events[1]["data"]!["after"]!["consent.OFFERS"]!["flag"]!.GetValue<bool>());
        Assert.Null(events[2]["data"]!["before"]!["channel.EMAIL"]);
        Assert.True(events[2]["data"]!["after"]!["channel.EMAIL"]!["flag"]!.GetValue<bool>());
        Assert.Equal("lexus", events[3]["data"]!["record"]!["context"]!.GetValue<string>());
        Assert.Equal($"consent.changed.{nmsc}.lexus", consentQueue.Deliveries[3].RoutingKey);

        // The languages subscription: only the language, with the record's contact opened from the vault.
        Assert.Equal("{}", languageEvents[0]["data"]!["before"]!.ToJsonString());
        Assert.Equal("""{"communication.language":"en"}""", languageEvents[0]["data"]!["after"]!.ToJsonString());
        Assert.Equal("""{"communication.language":"en"}""", languageEvents[1]["data"]!["before"]!.ToJsonString());
        Assert.Equal("""{"communication.language":"fr"}""", languageEvents[1]["data"]!["after"]!.ToJsonString());
        Assert.Equal("person@example.com", languageEvents[1]["data"]!["personalData"]!["email"]!.GetValue<string>());

        var status = await Cdc.CaughtUpStatusAsync(admin, nmsc, "consents", 5);
        Assert.Equal(5, status["publishedCount"]!.GetValue<long>());
        Assert.Equal(0, status["lag"]!["changes"]!.GetValue<long>());
        Assert.Null(status["lastError"]);
        Assert.NotNull(status["lastPublishedAt"]);
    }

    [BrokerTheory, Providers]
    public async Task A_change_validated_by_email_is_published_when_the_person_confirms_it(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        var settings = CdcBroker.Settings();
        settings["ConsentHub:Smtp:Host"] = "127.0.0.1";
        settings["ConsentHub:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["ConsentHub:Smtp:TlsMode"] = "None";
        settings["ConsentHub:Validation:WorkerEnabled"] = "true";
        settings["ConsentHub:Validation:PollSeconds"] = "1";
        await using var app = await HubApp.StartAsync(provider, settings);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var exchange = Cdc.Exchange();
        await using var queue = await CdcConsumer.StartAsync(exchange);
        await Cdc.PutAsync(admin, nmsc, "offers", Cdc.Body(exchange, ["consent.OFFERS"]));
        using var client = await app.AsAsync(crm);

        using var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, Cdc.At(1), validated: false));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        // Another record's change, published after the unconfirmed one was requested: nothing of c1 came before it.
        await Cdc.SubmitAsync(client, crm, "c2", Seed.Consent("OFFERS", true, Cdc.At(2)));
        Assert.Equal(["toyota/crm/c2"], (await queue.WaitForAsync(1)).Select(e => e["subject"]!.GetValue<string>()));

        using var person = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true });
        var link = ValidationFlowTests.LinkPath(mail.Message);
        var page = await person.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var confirmed = await person.PostAsync(link, new FormUrlEncodedContent(ValidationFlowTests.Fields(await page.Content.ReadAsStringAsync())));
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);

        var events = await queue.WaitForAsync(2);
        Assert.Equal("toyota/crm/c1", events[1]["subject"]!.GetValue<string>());
        var after = events[1]["data"]!["after"]!["consent.OFFERS"]!;
        Assert.True(after["flag"]!.GetValue<bool>());
        Assert.NotNull(after["validatedTimestamp"]);
        Assert.Equal("{}", events[1]["data"]!["before"]!.ToJsonString());
        Assert.Equal((await Json.ReadAsync(posted))["id"]!.GetValue<string>(), events[1]["data"]!["changeRequestId"]!.GetValue<string>());
    }

    [BrokerTheory, Providers]
    public async Task Cluster_changes_and_erasures_reach_the_subscriptions_of_their_context_and_erased_personal_data_is_never_published(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dealer = await app.RegisterSourceSystemAsync(nmsc, "lexus", "dealer");
        using var admin = await app.AdminAsync();
        var exchange = Cdc.Exchange();
        await using var queue = await CdcConsumer.StartAsync(exchange);
        await Cdc.PutAsync(admin, nmsc, "toyota", Cdc.Body(exchange, ["consent.OFFERS"], contexts: ["toyota"], includePersonalData: true));
        using var crmClient = await app.AsAsync(crm);
        using var dealerClient = await app.AsAsync(dealer);
        await Cdc.SubmitAsync(crmClient, crm, "c1", People.Change("OFFERS", People.Email, People.Phone));
        await Cdc.SubmitAsync(dealerClient, dealer, "d1", People.Change("OFFERS", People.Email));
        // Published before the erasure: personal data is read when an event is published, so a publisher that reached
        // c1's change only after the erasure would rightly find nothing to include.
        Assert.Single(await queue.WaitForAsync(1));
        var feed = await ClusterFeeds.RegisterAsync(app, nmsc);
        using var feedClient = await ClusterFeeds.AsAsync(app, feed);
        using (var put = await ClusterFeeds.PutAsync(feedClient, nmsc, "k1", ClusterFeeds.Member("toyota", "crm", "c1"), ClusterFeeds.Member("lexus", "dealer", "d1")))
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        using (var erased = await People.EraseAsync(admin, nmsc, new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c1" }))
            Assert.Equal(HttpStatusCode.Created, erased.StatusCode);

        // Only toyota's: c1's change, the cluster's toyota members, c1's erasure (d1, erased with its cluster, is lexus).
        var events = await queue.WaitForAsync(3);
        Assert.Equal(["consent.changed", "cluster.changed", "erasure"], events.Select(e => e["type"]!.GetValue<string>()));
        Assert.Equal(["toyota/crm/c1", "toyota/clusters/k1", "toyota/crm/c1"], events.Select(e => e["subject"]!.GetValue<string>()));
        Assert.Equal([$"consent.changed.{nmsc}.toyota", $"cluster.changed.{nmsc}.toyota", $"erasure.{nmsc}.toyota"], queue.Deliveries.Select(d => d.RoutingKey));
        Assert.Equal("jane.doe@example.com", events[0]["data"]!["personalData"]!["email"]!.GetValue<string>().ToLowerInvariant());
        var cluster = events[1]["data"]!;
        Assert.Equal("k1", cluster["clusterId"]!.GetValue<string>());
        Assert.Equal("""[{"sourceSystem":"crm","sourceCustomerId":"c1"}]""", cluster["members"]!.ToJsonString());
        Assert.Null(cluster["before"]);
        var erasure = events[2]["data"]!;
        Assert.True(Guid.TryParse(erasure["erasureId"]!.GetValue<string>(), out _));
        Assert.Equal("c1", erasure["record"]!["sourceCustomerId"]!.GetValue<string>());
        Assert.Null(erasure["personalData"]);

        // History replayed after the erasure: the same ids, and the person's contact is gone from it.
        await Inbound.Inbound.ExpectAsync(admin.PostAsync(Cdc.Path(nmsc, "toyota") + $":replay?fromLedgerIndex={events[0]["data"]!["ledgerIndex"]}", null),
            HttpStatusCode.Accepted);
        var replayed = (await queue.WaitForAsync(6)).Skip(3).ToList();
        Assert.Equal(events.Select(e => e["id"]!.GetValue<string>()), replayed.Select(e => e["id"]!.GetValue<string>()));
        Assert.Null(replayed[0]["data"]!["personalData"]);
        Assert.DoesNotContain(queue.Deliveries.Skip(3), d => d.Event.ToJsonString().Contains("jane", StringComparison.OrdinalIgnoreCase));
    }
}
