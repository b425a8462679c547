using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.OptOut;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Rights;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.OptOut;

/// <summary>
/// What an opt-out does to the organisation's records: validated withdrawals through the consent core, propagated,
/// idempotent, recovered when owed, superseded by a later validated opt-in, and forgotten (but honoured) on erasure.
/// The opt-out rows are arranged as the upload writes them (<see cref="ArrangeOptOutAsync"/>).
/// </summary>
public sealed class ApplicationTests
{
    const string Email = "Jane.Doe@Example.com";
    const string Phone = "+44 7700 900123";

    [ProviderTheory, Providers]
    public async Task An_opt_out_by_email_withdraws_both_records_of_a_cluster_and_both_systems_receive_the_withdrawal(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        var web = await app.RegisterSourceSystemAsync("tgb", "toyota", "unsubscribe-page");
        await using var crmHook = await WebhookReceiver.StartAsync();
        await using var dmsHook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, crmHook);
        await Propagations.RegisterAsync(app, dms, dmsHook);
        using var admin = await app.AdminAsync();
        var cluster = await admin.PutAsJsonAsync("/nmscs/tgb/clusters/person-1", new
        {
            members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-9" } },
        });
        Assert.Equal(HttpStatusCode.Created, cluster.StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Change(Email, null, [("OFFERS", true)], [("EMAIL", true)]))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-9", Change("jane.doe@example.com", null, [("SURVEYS", true)], []))).StatusCode);
        // Each system has heard of both changes before the opt-out arrives.
        var before = new Dictionary<WebhookReceiver, int>();
        foreach (var hook in new[] { crmHook, dmsHook })
            before[hook] = (await hook.WaitForAsync(calls => Flags(calls).Consents.GetValueOrDefault("SURVEYS") == true, what: "SURVEYS true")).Count;

        var receivedAt = new DateTime(2026, 3, 1, 9, 30, 0, DateTimeKind.Utc);
        var (optOutId, keyId) = await ArrangeOptOutAsync(app, "tgb", web.Id, receivedAt, SuppressionIdentifiers.Email("  JANE.DOE@example.com ")!);
        var outcome = await ApplyAsync(app, optOutId);

        Assert.Equal(new OptOutOutcome(2, 2), outcome);
        foreach (var (client, system, id) in new[] { (asCrm, crm, "c-1"), (asDms, dms, "d-9") })
        {
            var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(system, id)));
            var consents = data["consent"]!["consentAttributes"]!.AsArray();
            Assert.Equal(["OFFERS", "SURVEYS"], consents.Select(c => c!["consentCode"]!.GetValue<string>()).Order());
            Assert.All(consents, c =>
            {
                Assert.False(c!["consentFlag"]!.GetValue<bool>());
                Assert.Equal("unsubscribe-page", c["originSourceSystem"]!.GetValue<string>());
                Assert.Equal($"opt-out:{optOutId}", c["validationReference"]!.GetValue<string>());
                Assert.Equal("2026-03-01T09:30:00.000Z", c["requestedTimestamp"]!.GetValue<string>());
                Assert.Equal("2026-03-01T09:30:00.000Z", c["validatedTimestamp"]!.GetValue<string>());
            });
            var email = Assert.Single(data["channel"]!["channelAttributes"]!.AsArray());
            Assert.Equal("EMAIL", email!["channelCode"]!.GetValue<string>());
            Assert.False(email["channelFlag"]!.GetValue<bool>());
        }
        // Both systems are sent the withdrawals as PROPAGATED messages, with nothing left true.
        foreach (var hook in new[] { crmHook, dmsHook })
        {
            var calls = await hook.WaitForAsync(all =>
            {
                var flags = Flags(all.Skip(before[hook]));
                return flags.Consents.GetValueOrDefault("OFFERS") == false && flags.Consents.GetValueOrDefault("SURVEYS") == false
                    && flags.Channels.GetValueOrDefault("EMAIL") == false;
            }, what: "the withdrawals");
            Assert.All(calls.Skip(before[hook]), c => Assert.Equal("PROPAGATED", c.Json["commandType"]!.GetValue<string>()));
            var after = Flags(calls.Skip(before[hook]));
            Assert.DoesNotContain(true, after.Consents.Values.Concat(after.Channels.Values));
        }

        using var scope = app.Scope();
        var db = app.Db(scope);
        var record = await db.OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == optOutId);
        Assert.NotNull(record.AppliedAt);
        Assert.Equal((2, 2), (record.MatchedRecords, record.ChangesApplied));
        var withdrawals = await db.ChangeRequests.AsNoTracking().Where(r => r.SubmittedBy == $"api-key:{keyId}").ToListAsync();
        Assert.Equal(2, withdrawals.Count);
        Assert.All(withdrawals, w =>
        {
            Assert.True(w.Validated);
            Assert.Equal(ChangeStatus.Applied, w.Status);
            Assert.Equal(receivedAt, w.CommandTimestamp);
        });
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task Records_of_the_person_in_two_contexts_are_both_matched_and_withdrawn(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var toyota = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var lexus = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("other"), "toyota", "crm");
        foreach (var (system, id) in new[] { (toyota, "t-1"), (lexus, "l-1"), (other, "o-1") })
        {
            using var client = await app.AsAsync(system);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, system, id, Change(Email, null, [("OFFERS", true), ("EVENTS", true)], []))).StatusCode);
        }

        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, toyota.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Email(Email)!);

        Assert.Equal(new OptOutOutcome(2, 2), await ApplyAsync(app, optOutId));
        foreach (var (system, id) in new[] { (toyota, "t-1"), (lexus, "l-1") })
        {
            var flags = await ConsolidatedAsync(app, system, id);
            Assert.Equal(new Dictionary<string, bool> { ["EVENTS"] = false, ["OFFERS"] = false }, flags.Consents);
            Assert.False(flags.Channels["EMAIL"]);
        }
        // Another organisation's record of the same address is never touched.
        var untouched = await ConsolidatedAsync(app, other, "o-1");
        Assert.True(untouched.Consents["OFFERS"]);
        Assert.False(untouched.Channels.ContainsKey("EMAIL"));
    }

    [ProviderTheory, Providers]
    public async Task An_opt_out_by_phone_withdraws_the_consents_and_sms_and_phone_and_leaves_email(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
        {
            var sent = await HubApp.SubmitAsync(client, crm, "c-1",
                Change(Email, "07700 900123", [("OFFERS", true)], [("EMAIL", true), ("SMS", true), ("PHONE", true)]));
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }

        // Sent with a + the number is the same whatever the organisation's default country.
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Phone(Phone, "US")!);

        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));
        var flags = await ConsolidatedAsync(app, crm, "c-1");
        Assert.False(flags.Consents["OFFERS"]);
        Assert.False(flags.Channels["SMS"]);
        Assert.False(flags.Channels["PHONE"]);
        Assert.True(flags.Channels["EMAIL"]);
    }

    [ProviderTheory, Providers]
    public async Task A_record_with_nothing_true_left_is_matched_but_gets_no_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", false)], [("EMAIL", false)]))).StatusCode);
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Email(Email)!);

        Assert.Equal(new OptOutOutcome(1, 0), await ApplyAsync(app, optOutId));
        using var scope = app.Scope();
        var db = app.Db(scope);
        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.Nmsc == nmsc);
        Assert.Equal(1, await db.ChangeRequests.CountAsync(r => r.CustomerId == customer.Id));
        var record = await db.OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == optOutId);
        Assert.NotNull(record.AppliedAt);
        Assert.Equal((1, 0), (record.MatchedRecords, record.ChangesApplied));
    }

    [ProviderTheory, Providers]
    public async Task A_record_holding_overlapping_categories_is_withdrawn_in_as_many_changes_as_the_rules_need(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
        {
            var four = Change(Email, null, [("REMINDERS", true), ("OFFERS", true), ("SURVEYS", true), ("EVENTS", true)], []);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", four)).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS_EVENTS", true)], []))).StatusCode);
        }
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Email(Email)!);

        // Five true codes, two of them overlapping: one change may carry at most four, none overlapping.
        Assert.Equal(new OptOutOutcome(1, 2), await ApplyAsync(app, optOutId));
        var flags = await ConsolidatedAsync(app, crm, "c-1");
        Assert.Equal(["EVENTS", "OFFERS", "OFFERS_EVENTS", "REMINDERS", "SURVEYS"], flags.Consents.Keys.Order());
        Assert.DoesNotContain(true, flags.Consents.Values);
        Assert.False(flags.Channels["EMAIL"]);
        Assert.Equal(new OptOutOutcome(1, 2), await ApplyAsync(app, optOutId));
    }

    [ProviderTheory, Providers]
    public async Task A_postal_identity_matches_no_record_and_the_opt_out_is_still_marked_applied(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], []))).StatusCode);
        var postal = SuppressionIdentifiers.Postal("Jane", "Doe", "1 Main Street", "12345-6789")!;
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), postal);

        Assert.Equal(new OptOutOutcome(0, 0), await ApplyAsync(app, optOutId));
        Assert.NotNull(await AppliedAtAsync(app, optOutId));
        Assert.True((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);
        var entry = await EntryAsync(app, optOutId);
        Assert.Null(entry.BlindKey);
        Assert.Equal(postal.Sha256, entry.Sha256);
    }

    [ProviderTheory, Providers]
    public async Task Applying_an_opt_out_again_or_twice_at_once_records_one_change(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], []))).StatusCode);
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Email(Email)!);

        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));
        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));
        // As if the instance had stopped after the withdrawal committed and before the record was marked applied:
        // two instances then apply it at once, and each replays the recorded withdrawal.
        using (var scope = app.Scope())
            Assert.Equal(1, await app.Db(scope).OptOutRecords.Where(r => r.Id == optOutId).ExecuteUpdateAsync(s => s.SetProperty(r => r.AppliedAt, (DateTime?)null)));
        var both = await Task.WhenAll(ApplyAsync(app, optOutId), ApplyAsync(app, optOutId));
        Assert.All(both, o => Assert.Equal(new OptOutOutcome(1, 1), o));

        using var check = app.Scope();
        var db = app.Db(check);
        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.Nmsc == nmsc);
        Assert.Equal(2, await db.ChangeRequests.CountAsync(r => r.CustomerId == customer.Id));
        Assert.NotNull((await db.OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == optOutId)).AppliedAt);
    }

    [ProviderTheory, Providers]
    public async Task An_owed_opt_out_is_applied_by_the_recovery_sweep_once_its_grace_has_passed(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers, s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], []))).StatusCode);
        // Received now, and never applied: the instance that took it stopped first.
        var (optOutId, _) = await ArrangeOptOutAsync(app, "tgb", crm.Id, clock.GetUtcNow().UtcDateTime, SuppressionIdentifiers.Email(Email)!);
        var sweep = app.Services.GetServices<IHostedService>().OfType<OptOutRecovery>().Single();

        // Within the grace (the upload may still be applying it) the sweep leaves it.
        Assert.Equal(0, await sweep.RecoverAsync(CancellationToken.None));
        Assert.Null(await AppliedAtAsync(app, optOutId));
        Assert.True((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);

        clock.Advance(TimeSpan.FromSeconds(61));
        // The worker's own round may run beside this one: either way the record is applied once when it returns.
        await sweep.RecoverAsync(CancellationToken.None);
        Assert.NotNull(await AppliedAtAsync(app, optOutId));
        Assert.False((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);
        Assert.Equal(0, await sweep.RecoverAsync(CancellationToken.None));
        using var scope = app.Scope();
        var record = await app.Db(scope).OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == optOutId);
        Assert.Equal((1, 1), (record.MatchedRecords, record.ChangesApplied));
    }

    [ProviderTheory, Providers]
    public async Task A_validated_opt_in_after_the_opt_out_supersedes_its_entry_and_one_before_it_does_not(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], [], "2024-01-01T10:00:00Z"))).StatusCode);
        var receivedAt = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, receivedAt, SuppressionIdentifiers.Email(Email)!);
        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));

        // Chosen before the opt-out (sent late): the opt-out is newer and stays in force, and so does the withdrawal.
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], [], "2024-12-01T10:00:00Z"))).StatusCode);
        Assert.Null((await EntryAsync(app, optOutId)).SupersededAt);
        Assert.False((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);

        // Chosen after it: the newer choice wins, and the entry is kept, marked superseded.
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], [], "2025-02-01T10:00:00Z"))).StatusCode);
        var entry = await EntryAsync(app, optOutId);
        Assert.NotNull(entry.SupersededAt);
        Assert.Equal(receivedAt, entry.OptedOutAt);
        Assert.True((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);
    }

    [ProviderTheory, Providers]
    public async Task An_upload_that_bootstraps_records_supersedes_the_opt_outs_its_newer_choices_outdate(DatabaseProvider provider)
    {
        // An upload without propagation, for an organisation without built-in matching, applies its batch set by set
        // (BulkChanges): the same reactions run as for a single change, the opt-out's supersession among them.
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], [], "2024-01-01T10:00:00Z"))).StatusCode);
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), SuppressionIdentifiers.Email(Email)!);
        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));

        async Task UploadAsync(string at)
        {
            var file = Uploads.AsArray([Uploads.Envelope(crm, "c-1", Change(Email, null, [("OFFERS", true)], [], at))]);
            var (_, job) = await Uploads.PostAsync(client, crm, file);
            Assert.Equal(("COMPLETED", 1L), (job["status"]!.GetValue<string>(), Uploads.Count(job, "applied")));
        }

        // Chosen before the opt-out: the opt-out stays in force.
        await UploadAsync("2024-12-01T10:00:00Z");
        Assert.Null((await EntryAsync(app, optOutId)).SupersededAt);
        // Chosen after it: the entry is marked superseded, as a single change marks it.
        await UploadAsync("2025-02-01T10:00:00Z");
        Assert.NotNull((await EntryAsync(app, optOutId)).SupersededAt);
        Assert.True((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);
    }

    [ProviderTheory, Providers]
    public async Task An_opt_in_confirmed_by_the_person_after_the_opt_out_supersedes_its_entry_only_once_confirmed(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, new Dictionary<string, string?>
        {
            ["ConsentHub:Smtp:Host"] = "127.0.0.1",
            ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
            ["ConsentHub:Smtp:TlsMode"] = "None",
            ["ConsentHub:Validation:PublicBaseUrl"] = "http://localhost",
            ["ConsentHub:Validation:PollSeconds"] = "1",
        });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], []))).StatusCode);
        var (optOutId, _) = await ArrangeOptOutAsync(app, "tgb", crm.Id, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc), SuppressionIdentifiers.Email(Email)!);
        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));

        var posted = await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], [], "2025-02-01T10:00:00Z", validated: false));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var mail = await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20));
        Assert.Equal(["jane.doe@example.com"], mail.Recipients.Select(r => r.ToLowerInvariant()));
        // Asked but not yet confirmed: the opt-out stays in force.
        Assert.Null((await EntryAsync(app, optOutId)).SupersededAt);

        using var person = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true });
        var link = Validation.ValidationFlowTests.LinkPath(mail.Message);
        var page = await person.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var confirmed = await person.PostAsync(link, new FormUrlEncodedContent(Validation.ValidationFlowTests.Fields(await page.Content.ReadAsStringAsync())));
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);

        Assert.NotNull((await EntryAsync(app, optOutId)).SupersededAt);
        Assert.True((await ConsolidatedAsync(app, crm, "c-1")).Consents["OFFERS"]);
    }

    [ProviderTheory, Providers]
    public async Task Erasure_by_email_removes_the_opt_outs_sealed_values_and_keeps_its_hash(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c-1", Change(Email, null, [("OFFERS", true)], []))).StatusCode);
        var (optOutId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Email(Email)!);
        var (otherId, _) = await ArrangeOptOutAsync(app, nmsc, crm.Id, DateTime.UtcNow.AddSeconds(-1), SuppressionIdentifiers.Email("someone.else@example.com")!);
        Assert.Equal(new OptOutOutcome(1, 1), await ApplyAsync(app, optOutId));
        var before = await EntryAsync(app, optOutId);
        Assert.NotNull(before.SealedValue);

        using var admin = await app.AdminAsync();
        var erased = await People.EraseAsync(admin, nmsc, new { email = Email });
        Assert.True(erased.StatusCode == HttpStatusCode.Created, await erased.Content.ReadAsStringAsync());

        using var scope = app.Scope();
        var db = app.Db(scope);
        var record = await db.OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == optOutId);
        Assert.Null(record.Sealed);
        Assert.Null(record.ProtectedKey);
        var after = await EntryAsync(app, optOutId);
        Assert.Null(after.SealedValue);
        Assert.Equal((before.Kind, before.Sha256, before.BlindKey), (after.Kind, after.Sha256, after.BlindKey));
        Assert.Equal(SuppressionIdentifiers.Email(Email)!.Sha256, after.Sha256);
        // Someone else's opt-out keeps what it holds.
        var other = await db.OptOutRecords.AsNoTracking().SingleAsync(r => r.Id == otherId);
        Assert.NotNull(other.Sealed);
        Assert.NotNull((await EntryAsync(app, otherId)).SealedValue);
    }

    // ---- arrange steps ----------------------------------------------------------------------------

    /// <summary>
    /// Writes what the upload writes for one successful record: the transaction (with an API key of the system), the record
    /// with its fields sealed under its own wrapped key, and one suppression entry per identifier. Not applied yet.
    /// </summary>
    static async Task<(Guid OptOutId, Guid ApiKeyId)> ArrangeOptOutAsync(
        HubApp app, string nmsc, long keySystemId, DateTime receivedAt, params SuppressionIdentifier[] identifiers)
    {
        receivedAt = ConsentHub.Hosting.HubTime.Truncate(receivedAt);
        using var scope = app.Scope();
        var db = app.Db(scope);
        var vault = scope.ServiceProvider.GetRequiredService<OptOutVault>();
        var blindIndex = scope.ServiceProvider.GetRequiredService<BlindIndex>();
        var system = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == keySystemId);
        var (apiKey, _) = ApiKeys.Issue(db, system, "unsubscribe page", receivedAt);
        var transaction = new OptOutTransaction
        {
            Id = Guid.NewGuid(), Nmsc = nmsc, Context = system.Context, SourceSystem = system.Name, ApiKeyId = apiKey.Id,
            ReceivedAt = receivedAt, ClientIp = "203.0.113.7", Successful = 1,
        };
        var key = OptOutVault.NewKey();
        var recordId = Guid.NewGuid();
        var fields = new JsonObject { ["validation"] = "1" };
        foreach (var identifier in identifiers) fields[identifier.Kind == SuppressionKinds.Email ? "email1" : identifier.Kind == SuppressionKinds.Phone ? "phone1" : "postal"] = identifier.Normalised;
        db.OptOutTransactions.Add(transaction);
        db.OptOutRecords.Add(new OptOutRecord
        {
            Id = recordId, TransactionId = transaction.Id, Position = 0, Nmsc = nmsc, Successful = true, Validation = "1",
            Sealed = OptOutVault.SealText(key, recordId, OptOutVault.FieldsPurpose, fields.ToJsonString()),
            ProtectedKey = vault.Wrap(recordId, key), ReceivedAt = receivedAt,
        });
        foreach (var identifier in identifiers)
        {
            db.SuppressionEntries.Add(new SuppressionEntry
            {
                Nmsc = nmsc, OptOutId = recordId, Kind = identifier.Kind, Sha256 = identifier.Sha256,
                BlindKey = identifier.Kind switch
                {
                    SuppressionKinds.Email => blindIndex.Email(identifier.Normalised),
                    SuppressionKinds.Phone => blindIndex.Phone(identifier.Normalised, null),
                    _ => null,
                },
                SealedValue = OptOutVault.SealText(key, recordId, OptOutVault.EntryPurpose(identifier.Kind), identifier.Normalised),
                Source = $"{system.Context}/{system.Name}", OptedOutAt = receivedAt,
            });
        }
        Assert.Equal(3 + identifiers.Length, await db.SaveChangesAsync());
        return (recordId, apiKey.Id);
    }

    static async Task<OptOutOutcome> ApplyAsync(HubApp app, Guid optOutId)
    {
        using var scope = app.Scope();
        return await scope.ServiceProvider.GetRequiredService<OptOutApplication>().ApplyAsync(optOutId, CancellationToken.None);
    }

    static async Task<DateTime?> AppliedAtAsync(HubApp app, Guid optOutId)
    {
        using var scope = app.Scope();
        return await app.Db(scope).OptOutRecords.Where(r => r.Id == optOutId).Select(r => r.AppliedAt).SingleAsync();
    }

    static async Task<SuppressionEntry> EntryAsync(HubApp app, Guid optOutId)
    {
        using var scope = app.Scope();
        return await app.Db(scope).SuppressionEntries.AsNoTracking().SingleAsync(e => e.OptOutId == optOutId);
    }

    /// <summary>A validated change with the person's email (and phone), consents and channels, all requested at <paramref name="at"/>.</summary>
    static JsonObject Change(string email, string? phone, (string Code, bool Flag)[] consents, (string Code, bool Flag)[] channels,
        string at = "2024-01-01T10:00:00Z", bool validated = true)
    {
        var communication = new JsonObject { ["language"] = "en", ["country"] = "GB", ["email"] = email };
        if (phone is not null) communication["phone"] = phone;
        var body = new JsonObject
        {
            ["commandType"] = "REQUESTED",
            ["commandTimestamp"] = at,
            ["consent"] = new JsonObject
            {
                ["gdprCompliant"] = true, ["validated"] = validated, ["notify"] = false, ["communicationAttributes"] = communication,
                ["consentAttributes"] = new JsonArray([.. consents.Select(c => (JsonNode)Seed.Attribute(c.Code, c.Flag, at))]),
            },
        };
        if (channels.Length > 0)
        {
            body["channel"] = new JsonObject
            {
                ["channelAttributes"] = new JsonArray([.. channels.Select(c => (JsonNode)new JsonObject
                {
                    ["channelCode"] = c.Code, ["channelFlag"] = c.Flag, ["requestedTimestamp"] = at,
                })]),
            };
        }
        return body;
    }

    sealed record FlagSet(Dictionary<string, bool> Consents, Dictionary<string, bool> Channels);

    static async Task<FlagSet> ConsolidatedAsync(HubApp app, SourceSystemCredentials system, string customerId)
    {
        using var client = await app.AsAsync(system);
        var response = await client.GetAsync(HubApp.SubscriptionDataPath(system, customerId));
        var data = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, data.ToJsonString());
        return FlagsOf([data]);
    }

    /// <summary>The flags the PROPAGATED messages carried, later messages over earlier ones.</summary>
    static FlagSet Flags(IEnumerable<ReceivedCall> calls) => FlagsOf(calls.Select(c => c.Json));

    static FlagSet FlagsOf(IEnumerable<JsonNode> bodies)
    {
        var flags = new FlagSet([], []);
        foreach (var body in bodies)
        {
            foreach (var c in body["consent"]?["consentAttributes"]?.AsArray() ?? [])
                flags.Consents[c!["consentCode"]!.GetValue<string>()] = c["consentFlag"]!.GetValue<bool>();
            foreach (var c in body["channel"]?["channelAttributes"]?.AsArray() ?? [])
                flags.Channels[c!["channelCode"]!.GetValue<string>()] = c["channelFlag"]!.GetValue<bool>();
        }
        return flags;
    }
}
