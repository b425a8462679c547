using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Outbound;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Rights;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Outbound;

/// <summary>
/// The outbound change log that change data capture and replicas read: every door that changes a record writes one row
/// beside its ledger entry, with the record's image before and after, in ledger order.
/// </summary>
public sealed class ChangeLogTests
{
    static async Task<List<ChangeLogEntry>> RowsAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        return await app.Db(scope).ChangeLog.AsNoTracking().Where(e => e.Nmsc == nmsc)
            .OrderBy(e => e.LedgerIndex).ThenBy(e => e.Position).ToListAsync();
    }

    static JsonObject Image(string? json) => JsonNode.Parse(json ?? "null")!.AsObject();

    static string WithoutValidation(string? json)
    {
        var image = Image(json);
        foreach (var (_, value) in image) (value as JsonObject)?.Remove("validatedTimestamp");
        return image.ToJsonString();
    }

    [ProviderTheory, Providers]
    public async Task Each_applied_change_logs_the_records_image_before_and_after_at_its_change_applied_entry(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("cl");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);

        var first = Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z");
        first["channel"] = new JsonObject { ["channelAttributes"] = new JsonArray(new JsonObject { ["channelCode"] = "EMAIL", ["channelFlag"] = true, ["requestedTimestamp"] = "2024-01-01T10:00:00Z" }) };
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", first)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", false, "2024-02-01T10:00:00Z"))).StatusCode);
        // An older request loses to the current value: logged, with the same image before and after.
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2023-01-01T10:00:00Z"))).StatusCode);
        // Not validated: nothing is applied, nothing is logged until it is.
        Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("REMINDERS", true, validated: false))).StatusCode);

        var rows = await RowsAsync(app, nmsc);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(
            (ChangeKinds.ConsentChanged, "toyota", "crm", "c-1", 0), (r.Kind, r.Context, r.SourceSystem, r.SourceCustomerId, r.Position)));
        Assert.True(rows[0].LedgerIndex < rows[1].LedgerIndex && rows[1].LedgerIndex < rows[2].LedgerIndex);

        Assert.Empty(Image(rows[0].Before));
        var after = Image(rows[0].After);
        Assert.Equal(["channel.EMAIL", "communication.country", "communication.language", "consent.OFFERS"], after.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.True(RecordImage.Flag(after, "consent.OFFERS"));
        Assert.True(RecordImage.Flag(after, "channel.EMAIL"));
        Assert.Equal(("en", "GB"), (after["communication.language"]!.GetValue<string>(), after["communication.country"]!.GetValue<string>()));
        Assert.Equal("2024-01-01T10:00:00.000Z", after["consent.OFFERS"]!["requestedTimestamp"]!.GetValue<string>());

        Assert.True(JsonNode.DeepEquals(Image(rows[0].After), Image(rows[1].Before)));
        Assert.False(RecordImage.Flag(Image(rows[1].After), "consent.OFFERS"));
        Assert.True(RecordImage.Flag(Image(rows[1].After), "channel.EMAIL"));
        Assert.True(JsonNode.DeepEquals(Image(rows[2].Before), Image(rows[2].After)));

        // Each row is at its change's change-applied entry, with that entry's leaf hash.
        using var scope = app.Scope();
        var db = app.Db(scope);
        foreach (var row in rows)
        {
            var request = await db.ChangeRequests.AsNoTracking().SingleAsync(r => r.Id == row.ChangeRequestId);
            Assert.Equal(row.LedgerIndex, request.OutcomeLedgerIndex);
            var entry = await db.LedgerEntries.AsNoTracking().SingleAsync(e => e.Index == row.LedgerIndex);
            Assert.Equal("change-applied", entry.Type);
            Assert.Equal(request.CustomerId, row.CustomerId);
        }
        using var admin = await app.AdminAsync();
        foreach (var row in rows)
        {
            var proof = await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{row.LedgerIndex}"));
            Assert.Equal(row.LeafHash, proof["leafHash"]!.GetValue<string>());
        }
    }

    [ProviderTheory, Providers]
    public async Task A_confirmed_validation_an_upload_batch_a_cluster_and_an_erasure_each_log_their_rows(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers);
        var nmsc = HubApp.Unique("cl");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", "jane.doe@example.com"))).StatusCode);

        // The set-based path of uploads logs what the single path logs.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var system = await db.SourceSystems.SingleAsync(s => s.Id == dms.Id);
            var catalogue = await ConsentHub.Tenancy.CategoryCatalogue.ReadAsync(db, nmsc, CancellationToken.None);
            var data = JsonSerializer.Deserialize<SubscriptionData>(People.Change("OFFERS", "jane.doe@example.com").ToJsonString(), SubscriptionChanges.StoredJson)!;
            var applied = await scope.ServiceProvider.GetRequiredService<BulkChanges>().ApplyAsync(
                system, [new BulkChange("d-1", data, SubscriptionDataRules.Check(data, catalogue).Change!, "k-1")], "test", "upload:cl", propagate: false, CancellationToken.None);
            Assert.Equal([true], applied);
        }
        var rows = await RowsAsync(app, nmsc);
        Assert.Equal(2, rows.Count);
        Assert.Equal(("crm", "dms"), (rows[0].SourceSystem, rows[1].SourceSystem));
        // The same image, but for when each was validated (the instant each was applied).
        Assert.Equal(WithoutValidation(rows[0].After), WithoutValidation(rows[1].After));
        Assert.Empty(Image(rows[1].Before));

        using var admin = await app.AdminAsync();
        var cluster = await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/person-1", new
        {
            members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-1" } },
        });
        Assert.Equal(HttpStatusCode.Created, cluster.StatusCode);
        var clusterRow = Assert.Single((await RowsAsync(app, nmsc)).Skip(2));
        Assert.Equal((ChangeKinds.ClusterChanged, "toyota"), (clusterRow.Kind, clusterRow.Context));
        var members = Image(clusterRow.After);
        Assert.Equal("person-1", members["clusterId"]!.GetValue<string>());
        Assert.Equal(["c-1", "d-1"], members["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()));

        var erased = await People.EraseAsync(admin, nmsc, new { email = "jane.doe@example.com" });
        Assert.True(erased.IsSuccessStatusCode, await erased.Content.ReadAsStringAsync());
        var erasures = (await RowsAsync(app, nmsc)).Skip(3).ToList();
        Assert.Equal(2, erasures.Count);
        Assert.All(erasures, e => Assert.Equal(ChangeKinds.Erasure, e.Kind));
        Assert.Equal(["c-1", "d-1"], erasures.Select(e => e.SourceCustomerId).Order(StringComparer.Ordinal));
        Assert.Equal([0, 1], erasures.Select(e => e.Position));
        Assert.Single(erasures.Select(e => e.LedgerIndex).Distinct());

        // A change sent for validation is logged when the person confirms it, with the confirmation's timestamp.
        var pending = await HubApp.SubmitAsync(asCrm, crm, "c-2", People.Change("REMINDERS", "someone@example.com", validated: false));
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        Assert.DoesNotContain(await RowsAsync(app, nmsc), r => r.SourceCustomerId == "c-2");
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var validation = await db.Validations.SingleAsync(v => v.Nmsc == nmsc);
            var service = scope.ServiceProvider.GetRequiredService<ConsentHub.Validation.ValidationService>();
            var (outcome, _) = await service.ConfirmForPartnerAsync(validation.Id, null, null, CancellationToken.None);
            Assert.Equal(ConsentHub.Validation.ValidationService.ConfirmOutcome.Confirmed, outcome);
        }
        var confirmed = Assert.Single(await RowsAsync(app, nmsc), r => r.SourceCustomerId == "c-2");
        Assert.True(RecordImage.Flag(Image(confirmed.After), "consent.REMINDERS"));
        Assert.NotNull(Image(confirmed.After)["consent.REMINDERS"]!["validatedTimestamp"]);
    }
}
