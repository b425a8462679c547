using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Consents;

/// <summary>The set-by-set path of the initial upload writes what the single-record POST writes, and applies each key once.</summary>
public sealed class BulkChangesTests
{
    static JsonObject Change(string code, bool flag, string requested, string email, string? phone = null)
    {
        var body = Seed.Consent(code, flag, requested);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        if (phone is not null) body["consent"]!["communicationAttributes"]!["phone"] = phone;
        return body;
    }

    [ProviderTheory, Providers]
    public async Task A_batch_reads_back_as_the_same_changes_posted_one_by_one(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var bulk = await app.RegisterSourceSystemAsync("tgb", "toyota", "bulk");
        var single = await app.RegisterSourceSystemAsync("tgb", "toyota", "single");
        (string Customer, JsonObject Body)[] changes =
        [
            ("c-1", Change("OFFERS", true, "2024-01-01T10:00:00Z", "one@example.com", "+44 7700 900001")),
            ("c-2", Change("OFFERS", false, "2024-01-01T10:00:00Z", "two@example.com")),
            // The same record twice in one batch: the later request wins for OFFERS, the earlier value of REMINDERS stays.
            ("c-1", Change("REMINDERS", true, "2024-01-02T10:00:00Z", "one.new@example.com")),
            ("c-1", Change("OFFERS", false, "2024-01-03T10:00:00Z", "one.new@example.com")),
        ];

        using var asSingle = await app.AsAsync(single);
        foreach (var (customer, body) in changes)
        {
            var response = await HubApp.SubmitAsync(asSingle, single, customer, body);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var system = await db.SourceSystems.SingleAsync(s => s.Id == bulk.Id);
            var catalogue = await ConsentHub.Tenancy.CategoryCatalogue.ReadAsync(db, "tgb", CancellationToken.None);
            var batch = changes.Select((c, i) =>
            {
                var data = JsonSerializer.Deserialize<SubscriptionData>(c.Body.ToJsonString(), SubscriptionChanges.StoredJson)!;
                return new BulkChange(c.Customer, data, SubscriptionDataRules.Check(data, catalogue).Change!, $"key-{i}");
            }).ToList();
            var bulkChanges = scope.ServiceProvider.GetRequiredService<BulkChanges>();
            var first = await bulkChanges.ApplyAsync(system, batch, "bulk-test", "upload:test", propagate: false, CancellationToken.None);
            Assert.Equal(new[] { true, true, true, true }, first);
            // Again, and with a key repeated inside the batch: nothing applies twice.
            db.ChangeTracker.Clear();
            var again = await bulkChanges.ApplyAsync(system, [.. batch, batch[0]], "bulk-test", "upload:test", propagate: false, CancellationToken.None);
            Assert.Equal(new[] { false, false, false, false, false }, again);
            var ids = await db.Customers.Where(c => c.SourceSystemId == system.Id).Select(c => c.Id).ToListAsync();
            Assert.Equal(4, await db.ChangeRequests.CountAsync(c => ids.Contains(c.CustomerId)));
        }

        using var asBulk = await app.AsAsync(bulk);
        foreach (var customer in new[] { "c-1", "c-2" })
        {
            var viaSingle = await Json.ReadAsync(await asSingle.GetAsync(HubApp.SubscriptionDataPath(single, customer)));
            var viaBulk = await Json.ReadAsync(await asBulk.GetAsync(HubApp.SubscriptionDataPath(bulk, customer)));
            Assert.Equal(Comparable(viaSingle), Comparable(viaBulk));
            var history = await Json.ReadAsync(await asBulk.GetAsync(HubApp.SubscriptionDataPath(bulk, customer) + "/history"));
            Assert.All(history["changes"]!.AsArray(), c => Assert.Equal("APPLIED", c!["status"]!.GetValue<string>()));
        }
        var c1 = await Json.ReadAsync(await asBulk.GetAsync(HubApp.SubscriptionDataPath(bulk, "c-1")));
        Assert.Equal("one.new@example.com", c1["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal("+44 7700 900001", c1["consent"]!["communicationAttributes"]!["phone"]!.GetValue<string>());

        using var admin = await app.AdminAsync();
        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.True(verify["valid"]!.GetValue<bool>());
    }

    /// <summary>The answer without what names the record's own system and the hub-assigned references.</summary>
    static string Comparable(JsonNode node)
    {
        var copy = node.DeepClone().AsObject();
        copy.Remove("_links");
        copy.Remove("sourceSystem");
        var text = copy.ToJsonString();
        return System.Text.RegularExpressions.Regex.Replace(text, "\"(originSourceSystem|validationReference|validatedTimestamp)\":\"[^\"]*\"", "\"$1\":\"\"");
    }
}
