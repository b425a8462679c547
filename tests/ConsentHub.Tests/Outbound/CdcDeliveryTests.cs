using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Outbound;

/// <summary>At-least-once delivery in order: through a broker outage, with two instances, and when history is replayed.</summary>
[Collection(BrokerCollection.Name)]
public sealed class CdcDeliveryTests
{
    static string Id(JsonObject e) => e["id"]!.GetValue<string>();

    static long Index(JsonObject e) => e["data"]!["ledgerIndex"]!.GetValue<long>();

    /// <summary>Every record's events, first arrivals only, are in ledger order; duplicates are byte-for-byte the first.</summary>
    static void AssertOrderedPerRecord(IReadOnlyList<JsonObject> events)
    {
        var first = new Dictionary<string, JsonObject>();
        foreach (var e in events)
        {
            if (first.TryGetValue(Id(e), out var earlier)) Assert.Equal(earlier.ToJsonString(), e.ToJsonString());
            else first[Id(e)] = e;
        }
        foreach (var record in first.Values.GroupBy(e => e["subject"]!.GetValue<string>()))
        {
            var indexes = record.Select(Index).ToList();
            Assert.True(indexes.SequenceEqual(indexes.Order()), $"{record.Key}: events out of order: {string.Join(",", indexes)}");
        }
    }

    /// <summary>Waits until <paramref name="consumer"/> has <paramref name="count"/> distinct ids.</summary>
    static async Task<IReadOnlyList<JsonObject>> WaitForDistinctAsync(CdcConsumer consumer, int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (consumer.Events.Select(Id).Distinct().Count() < count)
        {
            if (DateTime.UtcNow > until)
                throw new Xunit.Sdk.XunitException($"{consumer.Events.Select(Id).Distinct().Count()} distinct events arrived, {count} expected");
            await Task.Delay(50);
        }
        return consumer.Events;
    }

    [BrokerTheory, Providers]
    public async Task A_broker_outage_during_a_stream_of_changes_loses_no_event_and_the_status_shows_it(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var exchange = Cdc.Exchange();
        await using var queue = await CdcConsumer.StartAsync(exchange);
        await Cdc.PutAsync(admin, nmsc, "offers", Cdc.Body(exchange, ["consent.OFFERS"]));
        using var client = await app.AsAsync(crm);
        const int records = 5, changesPerRecord = 12;
        var expected = new List<(string Customer, bool Flag)>();
        async Task ChangesAsync(int from, int to)
        {
            for (var round = from; round < to; round++)
            for (var r = 0; r < records; r++)
            {
                await Cdc.SubmitAsync(client, crm, $"c{r}", Seed.Consent("OFFERS", round % 2 == 0, Cdc.At(round)));
                expected.Add(($"c{r}", round % 2 == 0));
            }
        }

        await ChangesAsync(0, 3);
        await queue.WaitForAsync(3 * records);
        await CdcBroker.ControlAsync("stop_app");
        try
        {
            await ChangesAsync(3, 9);
            // The publisher found the broker gone: the status says so, and the changes wait behind the cursor.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            JsonObject status;
            while ((status = await Cdc.StatusAsync(admin, nmsc, "offers"))["lastError"] is null || status["lag"]!["changes"]!.GetValue<long>() == 0)
            {
                Assert.True(DateTime.UtcNow < until, $"no error in the status during the outage: {status.ToJsonString()}");
                await Task.Delay(100);
            }
            Assert.DoesNotContain("guest:guest", status.ToJsonString());
        }
        finally
        {
            await CdcBroker.ControlAsync("start_app");
        }
        await ChangesAsync(9, changesPerRecord);

        var events = await WaitForDistinctAsync(queue, records * changesPerRecord, TimeSpan.FromSeconds(40));
        AssertOrderedPerRecord(events);
        var firsts = events.DistinctBy(Id).ToList();
        foreach (var r in Enumerable.Range(0, records))
        {
            Assert.Equal(expected.Where(e => e.Customer == $"c{r}").Select(e => e.Flag),
                firsts.Where(e => e["subject"]!.GetValue<string>() == $"toyota/crm/c{r}").Select(e => e["data"]!["after"]!["consent.OFFERS"]!["flag"]!.GetValue<bool>()));
        }
        var drained = await Cdc.CaughtUpStatusAsync(admin, nmsc, "offers", records * changesPerRecord);
        Assert.Equal(0, drained["lag"]!["changes"]!.GetValue<long>());
        Assert.NotNull(drained["lastErrorAt"]);
        Assert.True(drained["publishedCount"]!.GetValue<long>() >= records * changesPerRecord);
        Assert.Single(app.Logs.Lines, l => l.Contains("The broker connection was lost") || l.Contains("The broker cannot be reached"));
        Assert.Single(app.Logs.Lines, l => l.Contains("The broker is reachable again"));
    }

    [BrokerTheory, Providers]
    public async Task A_replay_republishes_history_from_a_ledger_index_with_the_same_ids(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var exchange = Cdc.Exchange();
        await using var queue = await CdcConsumer.StartAsync(exchange);
        await Cdc.PutAsync(admin, nmsc, "offers", Cdc.Body(exchange, ["consent.OFFERS"]));
        using var client = await app.AsAsync(crm);
        for (var i = 0; i < 4; i++) await Cdc.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", i % 2 == 0, Cdc.At(i)));
        var original = await queue.WaitForAsync(4);

        // A new consumer's history: from the second event on, the same ids and bodies again, then what comes next.
        var replayed = await Inbound.Inbound.ExpectAsync(admin.PostAsync(Cdc.Path(nmsc, "offers") + $":replay?fromLedgerIndex={Index(original[1])}", null),
            HttpStatusCode.Accepted);
        Assert.Equal(3, replayed["lag"]!["changes"]!.GetValue<long>());
        var events = await queue.WaitForAsync(7);
        Assert.Equal(original.Skip(1).Select(e => e.ToJsonString()), events.Skip(4).Select(e => e.ToJsonString()));
        await Cdc.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, Cdc.At(10)));
        events = await queue.WaitForAsync(8);
        Assert.Equal(8, events.Count);
        Assert.True(Index(events[7]) > Index(events[3]));
        Assert.Equal(8, (await Cdc.CaughtUpStatusAsync(admin, nmsc, "offers", 8))["publishedCount"]!.GetValue<long>());
    }

    [BrokerPostgresFact]
    public async Task Two_instances_publish_a_thousand_changes_once_per_subscription_in_order_per_record()
    {
        await using var first = await HubApp.StartAsync(DatabaseProvider.Postgres, CdcBroker.Settings());
        await using var second = first.SecondInstance(CdcBroker.Settings());
        var nmsc = HubApp.Unique("tgb");
        var crm = await first.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await first.AdminAsync();
        var (offers, everything) = (Cdc.Exchange(), Cdc.Exchange());
        await using var offersQueue = await CdcConsumer.StartAsync(offers);
        await using var everythingQueue = await CdcConsumer.StartAsync(everything);
        await Cdc.PutAsync(admin, nmsc, "offers", Cdc.Body(offers, ["consent.OFFERS"]));
        await Cdc.PutAsync(admin, nmsc, "everything", Cdc.Body(everything, ["consent.OFFERS", "communication.language"], contexts: ["toyota"]));
        using var one = await first.AsAsync(crm);
        using var two = await second.AsAsync(crm);

        const int records = 50, changesPerRecord = 20;
        // Two streams side by side, one through each instance, each a record group's changes as uploads of one change
        // per record (a round after the other, so each record's changes are in sequence).
        await Task.WhenAll(new[] { (Client: one, From: 0), (Client: two, From: records / 2) }.Select(async stream =>
        {
            for (var round = 0; round < changesPerRecord; round++)
            {
                var lines = new System.Text.StringBuilder();
                for (var r = stream.From; r < stream.From + records / 2; r++)
                {
                    lines.Append(new JsonObject
                    {
                        ["context"] = "toyota", ["nmsc"] = nmsc, ["sourceSystemName"] = "crm", ["sourceCustomerId"] = $"c{r}",
                        ["data"] = Seed.Consent("OFFERS", round % 2 == 0, Cdc.At(round)),
                    }.ToJsonString()).Append('\n');
                }
                using var upload = await stream.Client.PostAsync($"/contexts/toyota/nmscs/{nmsc}/source-systems/crm/uploads",
                    new StringContent(lines.ToString(), System.Text.Encoding.UTF8, "application/x-ndjson"));
                var job = await Json.ReadAsync(upload);
                Assert.True(upload.StatusCode == HttpStatusCode.Accepted && job["applied"]!.GetValue<long>() == records / 2, job.ToJsonString());
            }
        }));

        foreach (var queue in new[] { offersQueue, everythingQueue })
        {
            // The first change of a record also sets its language: one event each way.
            var events = await queue.WaitForAsync(records * changesPerRecord, TimeSpan.FromSeconds(60));
            Assert.Equal(records * changesPerRecord, events.Select(Id).Distinct().Count());
            AssertOrderedPerRecord(events);
            foreach (var record in events.GroupBy(e => e["subject"]!.GetValue<string>()))
                Assert.Equal(Enumerable.Range(0, changesPerRecord).Select(i => i % 2 == 0),
                    record.Select(e => e["data"]!["after"]!["consent.OFFERS"]!["flag"]!.GetValue<bool>()));
        }
        // Caught up on both: nothing more is owed, so no event can still be on its way; each arrived once.
        foreach (var name in new[] { "offers", "everything" })
        {
            var status = await Cdc.CaughtUpStatusAsync(admin, nmsc, name, records * changesPerRecord);
            Assert.Equal(0, status["lag"]!["changes"]!.GetValue<long>());
            Assert.Equal(records * changesPerRecord, status["publishedCount"]!.GetValue<long>());
        }
        Assert.Equal(records * changesPerRecord, offersQueue.Deliveries.Count);
        Assert.Equal(records * changesPerRecord, everythingQueue.Deliveries.Count);
    }
}
