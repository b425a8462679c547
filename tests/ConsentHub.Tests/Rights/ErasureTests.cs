using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Consents;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Rights;

/// <summary>
/// Erasure destroys a person's keys and everything sealed under them, once, in one transaction with its ledger entry:
/// nothing of the address is left, every proof issued before still verifies, and the record can change again.
/// </summary>
public sealed class ErasureTests
{
    [ProviderTheory, Providers]
    public async Task Erasing_a_person_by_email_leaves_no_trace_of_the_address_or_phone_and_every_earlier_proof_still_verifies(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await People.EnableMatchingAsync(app, "tgb");
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email, People.Phone), "key-1")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-1", People.Change("SURVEYS", "jane.doe@example.COM"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-2", People.Change("OFFERS", "other@example.com"))).StatusCode);

        // What an auditor kept before the erasure: a signed checkpoint and the inclusion proof of c-1's applied change.
        using var admin = await app.AdminAsync();
        var history = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + "/history"));
        var applied = history["changes"]![0]!["timeline"]!.AsArray().Single(t => t!["event"]!.GetValue<string>() == "applied")!["ledgerIndex"]!.GetValue<long>();
        var saved = await People.IssueCheckpointAsync(app);
        var proof = await Json.ReadAsync(await admin.GetAsync($"/ledger/proofs/inclusion?index={applied}&treeSize={saved.Size}"));
        Assert.Equal(Convert.ToBase64String(saved.RootHash), proof["rootHash"]!.GetValue<string>());

        using var dpo = await People.AsDpoAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", "tgb"));
        var erased = await People.EraseAsync(dpo, "tgb", new { email = "JANE.DOE@example.com " });
        var erasure = await Json.ReadAsync(erased);
        Assert.True(erased.StatusCode == HttpStatusCode.Created, erasure.ToJsonString());
        var erasureId = erasure["id"]!.GetValue<string>();
        Assert.Equal($"/nmscs/tgb/erasures/{erasureId}", erased.Headers.Location?.OriginalString);
        Assert.Equal(["c-1", "d-1"], erasure["records"]!.AsArray().Select(r => r!["sourceCustomerId"]!.GetValue<string>()).Order());
        Assert.Equal("email", erasure["criterion"]!.GetValue<string>());

        // Reads keep the consents, without contact data; the other person is untouched.
        var current = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Null(current["consent"]!["communicationAttributes"]!["email"]);
        Assert.Null(current["consent"]!["communicationAttributes"]!["phone"]);
        Assert.Contains(current["consent"]!["consentAttributes"]!.AsArray(), c => c!["consentCode"]!.GetValue<string>() == "OFFERS");
        var afterHistory = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + "/history"));
        Assert.Null(afterHistory["changes"]![0]!["data"]!["consent"]!["communicationAttributes"]!["email"]);
        var replay = await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email, People.Phone), "key-1");
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.DoesNotContain("jane", await replay.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        var other = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-2")));
        Assert.Equal("other@example.com", other["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());

        // No column of any table holds the address or phone; nothing sealed and no key is left for the two records.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            Assert.Empty(await PersonalDataTests.CellsContainingAsync(db, People.Traces));
            var ids = await db.Customers.Where(c => c.SourceCustomerId == "c-1" || c.SourceCustomerId == "d-1").Select(c => c.Id).ToListAsync();
            Assert.Equal(2, ids.Count);
            Assert.False(await db.PersonalData.AnyAsync(p => ids.Contains(p.CustomerId)));
            Assert.False(await db.PersonKeys.AnyAsync(k => ids.Contains(k.CustomerId)));
            Assert.False(await db.Customers.AnyAsync(c => ids.Contains(c.Id) && (c.EmailKey != null || c.PhoneKey != null)));
            var entry = await db.LedgerEntries.SingleAsync(e => e.Type == "erasure");
            Assert.Equal(erasure["ledgerIndex"]!.GetValue<long>(), entry.Index);
            Assert.Contains(ids.Min().ToString(System.Globalization.CultureInfo.InvariantCulture), entry.Payload);
            Assert.DoesNotContain("@", entry.Payload);
            // Quoted: an id's hex digits (the erasure's own UUID) may spell c-1 by chance, a record id never stands alone there.
            Assert.DoesNotContain("\"c-1\"", entry.Payload);
        }

        // The ledger verifies, online and offline against the checkpoint kept before, and the old proof still holds.
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
        var leaf = Convert.FromBase64String(proof["leafHash"]!.GetValue<string>());
        Assert.Equal(proof["leafHash"]!.GetValue<string>(), (await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{applied}")))["leafHash"]!.GetValue<string>());
        Assert.True(Merkle.VerifyInclusion(leaf, applied, saved.Size,
            [.. proof["auditPath"]!.AsArray().Select(p => Convert.FromBase64String(p!.GetValue<string>()))], saved.RootHash));
        var latest = await People.IssueCheckpointAsync(app);
        var consistency = await Json.ReadAsync(await admin.GetAsync($"/ledger/proofs/consistency?from={saved.Size}&to={latest.Size}"));
        Assert.True(Merkle.VerifyConsistency(saved.Size, latest.Size, saved.RootHash, latest.RootHash,
            [.. consistency["proof"]!.AsArray().Select(p => Convert.FromBase64String(p!.GetValue<string>()))]));
        var key = (await Json.ReadAsync(await admin.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        var directory = Directory.CreateTempSubdirectory("erasure-ledger-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "entries.txt"), await (await admin.GetAsync("/ledger/export")).Content.ReadAsStringAsync());
        await File.WriteAllTextAsync(Path.Combine(directory, "checkpoint.txt"), latest.Note);
        await File.WriteAllTextAsync(Path.Combine(directory, "saved.txt"), saved.Note);
        var offline = await LedgerCli.RunAsync(app, "ledger", "verify", "--dir", directory, "--public-key", key, "--since", Path.Combine(directory, "saved.txt"));
        Assert.True(offline.Exit == 0, offline.Output + offline.Error);
        var local = await LedgerCli.RunAsync(app, "ledger", "verify");
        Assert.True(local.Exit == 0, local.Output + local.Error);

        // Asked again, by the address or by one of the records: the same erasure, nothing destroyed twice, no second entry.
        foreach (var again in new object[] { new { email = People.Email }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-1" } })
        {
            var repeated = await People.EraseAsync(dpo, "tgb", again);
            var body = await Json.ReadAsync(repeated);
            Assert.True(repeated.StatusCode == HttpStatusCode.OK, body.ToJsonString());
            Assert.Equal(erasure.ToJsonString(), body.ToJsonString());
        }
        var shown = await Json.ReadAsync(await admin.GetAsync($"/nmscs/tgb/erasures/{erasureId}"));
        Assert.Equal(erasure.ToJsonString(), shown.ToJsonString());
        using (var scope = app.Scope())
            Assert.Equal(1, await app.Db(scope).LedgerEntries.CountAsync(e => e.Type == "erasure"));

        // A new change of an erased record works: it gets a new key, and the new address reads back.
        var afresh = await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("EVENTS", "jane.new@example.org"));
        Assert.True(afresh.StatusCode == HttpStatusCode.Created, await afresh.Content.ReadAsStringAsync());
        var renewed = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal("jane.new@example.org", renewed["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var id = await db.Customers.Where(c => c.SourceCustomerId == "c-1").Select(c => c.Id).SingleAsync();
            Assert.Equal(1, await db.PersonKeys.CountAsync(k => k.CustomerId == id));
        }
    }

    [ProviderTheory, Providers]
    public async Task A_change_for_a_record_whose_key_was_destroyed_by_hand_gets_a_new_key_instead_of_a_500(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email, People.Phone))).StatusCode);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            Assert.Equal(1, await db.PersonKeys.ExecuteDeleteAsync());
            Assert.True(await db.PersonalData.AnyAsync());
        }

        var next = await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("SURVEYS", "new@example.org"));
        Assert.True(next.StatusCode == HttpStatusCode.Created, await next.Content.ReadAsStringAsync());
        var current = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal("new@example.org", current["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        // The phone went with the old key; the history's first request has lost its address.
        Assert.Null(current["consent"]!["communicationAttributes"]!["phone"]);
        var history = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + "/history"));
        Assert.Null(history["changes"]![0]!["data"]!["consent"]!["communicationAttributes"]!["email"]);
        Assert.Equal("new@example.org", history["changes"]![1]!["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task An_erasure_of_a_person_with_a_pending_validation_ends_it_and_says_so_in_its_ledger_entry(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email))).StatusCode);
        var pending = await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("SURVEYS", People.Email, validated: false));
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);

        using var admin = await app.AdminAsync();
        var erased = await People.EraseAsync(admin, "tgb", new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" });
        Assert.Equal(HttpStatusCode.Created, erased.StatusCode);
        var index = (await Json.ReadAsync(erased))["ledgerIndex"]!.GetValue<long>();

        var status = await Json.ReadAsync(await asCrm.GetAsync(pending.Headers.Location));
        Assert.Equal("VALIDATION_FAILED", status["status"]!.GetValue<string>());
        Assert.Equal(index, status["timeline"]!.AsArray()[^1]!["ledgerIndex"]!.GetValue<long>());
        using var scope = app.Scope();
        var db = app.Db(scope);
        Assert.Equal("FAILED", (await db.Validations.SingleAsync()).State);
        Assert.False(await db.ValidationTokens.AnyAsync());
        Assert.Contains((await db.Validations.SingleAsync()).Id.ToString(), (await db.LedgerEntries.SingleAsync(e => e.Index == index)).Payload);
    }

    [ProviderTheory, Providers]
    public async Task Bad_bodies_are_refused_with_problem_details_naming_the_field_and_nothing_is_erased(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using (var asCrm = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email))).StatusCode);
        using var admin = await app.AdminAsync();

        var cases = new (object Body, string Field, string Rule)[]
        {
            (new { }, "email", "one-criterion-required"),
            (new { email = People.Email, phone = People.Phone }, "body", "one-criterion-only"),
            (new { email = People.Email, sourceSystem = "crm" }, "body", "one-criterion-only"),
            (new { email = "not-an-address" }, "email", "email"),
            (new { phone = "12" }, "phone", "phone-number"),
            (new { phone = "07700 900123", country = "GBR" }, "country", "country-code"),
            (new { context = "toyota", sourceSystem = "crm" }, "sourceCustomerId", "required"),
            (new { context = "Not A Context!", sourceSystem = "crm", sourceCustomerId = "c-1" }, "context", "tenant-name"),
            (new { email = 42 }, "email", "json"),
        };
        foreach (var (body, field, rule) in cases)
        {
            var response = await People.EraseAsync(admin, nmsc, body);
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{System.Text.Json.JsonSerializer.Serialize(body)}: {problem}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(problem["violations"]!.AsArray(), v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        }
        var notJson = await admin.PostAsync($"/nmscs/{nmsc}/erasures", new StringContent("email=x", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        var broken = await admin.PostAsync($"/nmscs/{nmsc}/erasures", new StringContent("{\"email\":", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        var nobody = await People.EraseAsync(admin, nmsc, new { email = "nobody@example.com" });
        Assert.Equal(HttpStatusCode.NotFound, nobody.StatusCode);

        var current = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal(People.Email, current["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        using var scope = app.Scope();
        Assert.False(await app.Db(scope).Erasures.AnyAsync(e => e.Nmsc == nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_erases_only_in_the_organisations_of_their_role_and_their_token_opens_nothing_else(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (a, b) = (HubApp.Unique("tgb"), HubApp.Unique("tgb"));
        var crmA = await app.RegisterSourceSystemAsync(a, "toyota", "crm");
        var crmB = await app.RegisterSourceSystemAsync(b, "toyota", "crm");
        foreach (var system in new[] { crmA, crmB })
        {
            using var client = await app.AsAsync(system);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, system, "only-in-" + system.Nmsc, People.Change("OFFERS", People.Email))).StatusCode);
        }
        using var dpoA = await People.AsDpoAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", a));

        // Another organisation, by its route or by naming its record from this one: not found, and nothing erased.
        Assert.Equal(HttpStatusCode.NotFound, (await People.EraseAsync(dpoA, b, new { email = People.Email })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dpoA.GetAsync($"/nmscs/{b}/subject-access?email={Uri.EscapeDataString(People.Email)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound,
            (await People.EraseAsync(dpoA, a, new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "only-in-" + b })).StatusCode);
        using (var admin = await app.AdminAsync())
        {
            var untouched = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(crmB, "only-in-" + b)));
            Assert.Equal(People.Email, untouched["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
            var erasedA = await People.EraseAsync(admin, a, new { email = People.Email });
            Assert.Equal(HttpStatusCode.Created, erasedA.StatusCode);
            // An erasure of one organisation is not found under another's route.
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/nmscs/{b}/erasures/{(await Json.ReadAsync(erasedA))["id"]}")).StatusCode);
        }

        // The token is a DPO's: no admin, ledger or customer route opens with it.
        Assert.Equal(HttpStatusCode.Forbidden, (await dpoA.GetAsync("/admin/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await dpoA.GetAsync("/ledger/entries")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dpoA.GetAsync(HubApp.SubscriptionDataPath(crmA, "only-in-" + a))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await HubApp.SubmitAsync(dpoA, crmA, "x", People.Change("OFFERS", "x@example.com"))).StatusCode);

        // A head-office DPO acts for every organisation that has the context of their role; a source system for none.
        using var headOffice = await People.AsDpoAsync(app, await Dpos.CreateAsync(app, "head-office-dpo", "toyota", null));
        Assert.Equal(HttpStatusCode.Created, (await People.EraseAsync(headOffice, b, new { email = People.Email })).StatusCode);
        using (var admin = await app.AdminAsync())
            Assert.True((await admin.PutAsync("/admin/contexts/lexus", null)).IsSuccessStatusCode);
        using var lexusHeadOffice = await People.AsDpoAsync(app, await Dpos.CreateAsync(app, "head-office-dpo", "lexus", null));
        Assert.Equal(HttpStatusCode.NotFound, (await People.EraseAsync(lexusHeadOffice, b, new { email = People.Email })).StatusCode);
        using var asSystem = await app.AsAsync(crmA);
        Assert.Equal(HttpStatusCode.Forbidden, (await People.EraseAsync(asSystem, a, new { email = People.Email })).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_token_is_granted_only_without_a_client_and_the_login_pages_lock_out_holds_for_it(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", nmsc);

        var granted = await People.PostDpoTokenAsync(app, dpo.Username, dpo.Password);
        var token = await Json.ReadAsync(granted);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        Assert.Equal(nmsc, token["nmsc"]!.GetValue<string>());
        Assert.Null(token["source_system"]);
        // Neither the admin nor a source system may sign in without its client.
        var admin = await People.PostDpoTokenAsync(app, "admin", HubApp.AdminPassword);
        Assert.Equal(HttpStatusCode.BadRequest, admin.StatusCode);
        Assert.Equal("invalid_grant", (await Json.ReadAsync(admin))["error"]!.GetValue<string>());

        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.BadRequest, (await People.PostDpoTokenAsync(app, dpo.Username, "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await People.PostDpoTokenAsync(app, dpo.Username, dpo.Password)).StatusCode);
        using var adminClient = await app.AdminAsync();
        Assert.NotNull((await Json.ReadAsync(await adminClient.GetAsync($"/admin/users/{dpo.Username}")))["lockedUntil"]);
    }
}
