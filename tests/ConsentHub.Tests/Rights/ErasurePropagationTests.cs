using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Rights;

/// <summary>Every system of the erased person's cluster that has a destination is told, over real HTTP, to erase its record.</summary>
public sealed class ErasurePropagationTests
{
    [ProviderTheory, Providers]
    public async Task Every_system_of_the_cluster_with_a_destination_receives_a_signed_erasure_message_it_can_acknowledge(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        var web = await app.RegisterSourceSystemAsync("tgb", "toyota", "web");
        await using var crmHook = await WebhookReceiver.StartAsync();
        await using var dmsHook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, crmHook);
        var (_, dmsSecret) = await Propagations.RegisterAsync(app, dms, dmsHook);
        using var admin = await app.AdminAsync();
        // d-9 and w-3 are named by the Consumer Domain only; the hub has never seen a change of theirs. web has no destination: it is told through its pull feed.
        var cluster = await admin.PutAsJsonAsync("/nmscs/tgb/clusters/person-1", new
        {
            members = new[] { ("crm", "c-1"), ("dms", "d-9"), ("web", "w-3") }
                .Select(m => new { context = "toyota", sourceSystem = m.Item1, sourceCustomerId = m.Item2 }).ToArray(),
        });
        Assert.True(cluster.IsSuccessStatusCode, await cluster.Content.ReadAsStringAsync());
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Customer123)).StatusCode);
        Assert.Single(await crmHook.WaitForCountAsync(1));
        Assert.Single(await dmsHook.WaitForCountAsync(1));

        var erased = await People.EraseAsync(admin, "tgb", new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" });
        var erasure = await Json.ReadAsync(erased);
        Assert.True(erased.StatusCode == HttpStatusCode.Created, erasure.ToJsonString());
        var index = erasure["ledgerIndex"]!.GetValue<long>();
        var leafHash = (await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{index}")))["leafHash"]!.GetValue<string>();

        foreach (var (hook, customerId) in new[] { (crmHook, "c-1"), (dmsHook, "d-9") })
        {
            var call = (await hook.WaitForCountAsync(2))[1];
            var body = call.Json.AsObject();
            // The seed's PROPAGATED shape with nothing to apply, then the hub's members and "erased": a client that ignores
            // unknown members acknowledges it as an empty message.
            Assert.Equal(["commandType", "commandTimestamp", "sourceCustomerId", "consent", "channel", "propagationId", "ledgerIndex", "leafHash", "erased"],
                body.Select(p => p.Key));
            Assert.Equal("PROPAGATED", body["commandType"]!.GetValue<string>());
            Assert.True(body["erased"]!.GetValue<bool>());
            Assert.Null(body["consent"]);
            Assert.Null(body["channel"]);
            Assert.Equal(customerId, call.SourceCustomerId);
            Assert.Equal(index, call.LedgerIndex);
            Assert.Equal(leafHash, body["leafHash"]!.GetValue<string>());
            Assert.DoesNotContain("toyota.com", call.Body);
        }
        Assert.True(StandardWebhooks.Verify(dmsSecret, (await dmsHook.WaitForCountAsync(2))[1], tolerance: TimeSpan.FromMinutes(5)));
        using var asDms = await app.AsAsync(dms);
        var processed = await Propagations.AcknowledgeAsync(asDms, dms, (await dmsHook.WaitForCountAsync(2))[1]);
        Assert.True(processed.IsSuccessStatusCode, await processed.Content.ReadAsStringAsync());

        using var scope = app.Scope();
        var db = app.Db(scope);
        Assert.Equal(3, await db.Propagations.CountAsync(p => p.Cause == "erasure" && p.LedgerIndex == index));
        // web has no destination: its erasure message waits in its pull feed, never sent.
        var webErasure = await db.Propagations.SingleAsync(p => p.Cause == "erasure" && p.SourceSystemId == web.Id);
        Assert.Equal("FEED", webErasure.State);
        Assert.Equal("w-3", webErasure.SourceCustomerId);
        Assert.Equal("PROCESSED", (await db.Propagations.SingleAsync(p => p.Cause == "erasure" && p.SourceSystemId == dms.Id)).State);
    }
}
