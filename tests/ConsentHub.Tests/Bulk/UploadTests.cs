using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Bulk;

public sealed class UploadTests
{
    static async Task<JsonNode> ConsolidatedAsync(HttpClient client, SourceSystemCredentials s, string customerId)
    {
        var response = await client.GetAsync(HubApp.SubscriptionDataPath(s, customerId));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{customerId}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    static Dictionary<string, bool> Flags(JsonNode view, string part, string list, string code, string flag) =>
        view[part]![list]!.AsArray().ToDictionary(a => a![code]!.GetValue<string>(), a => a![flag]!.GetValue<bool>());

    [ProviderTheory, Providers]
    public async Task The_seeds_sample_file_applies_each_record_for_its_own_source_system_and_rejects_the_other(DatabaseProvider provider)
    {
        // The sample names tgb/toyota/crm and tmi/lexus/toshiko: an app of its own holds exactly those. Served by Kestrel,
        // so the body really arrives in pieces.
        await using var app = await HubApp.StartAsync(provider, kestrelPort: HubApp.FreePort());
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var toshiko = await app.RegisterSourceSystemAsync("tmi", "lexus", "toshiko");
        var sample = await File.ReadAllTextAsync(Uploads.SampleFile());

        using var asCrm = await Uploads.StreamingClientAsync(app, crm);
        // A few bytes at a time: every token of the file arrives split somewhere.
        var (response, job) = await Uploads.PostAsync(asCrm, crm, new Uploads.Trickle(sample, 7));
        Assert.Equal($"/uploads/{job["id"]}", response.Headers.Location?.OriginalString);
        Assert.Equal("COMPLETED", job["status"]!.GetValue<string>());
        Assert.Equal((2, 1, 1, 0), (Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected"), Uploads.Count(job, "skipped")));
        Assert.Equal(Encoding.UTF8.GetByteCount(sample), Uploads.Count(job, "bytes"));
        var errors = await Uploads.ErrorsAsync(asCrm, job);
        Assert.All(errors, e => Assert.Equal((2, "cust-456", "envelope-mismatch"),
            (e["position"]!.GetValue<long>(), e["sourceCustomerId"]!.GetValue<string>(), e["rule"]!.GetValue<string>())));
        Assert.Equal(["context", "nmsc", "sourceSystemName"], errors.Select(e => e["field"]!.GetValue<string>()).Order());

        var view = await ConsolidatedAsync(asCrm, crm, "cust-123");
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = true, ["REMINDERS"] = true },
            Flags(view, "consent", "consentAttributes", "consentCode", "consentFlag"));
        Assert.Equal(new Dictionary<string, bool> { ["EMAIL"] = true, ["SMS"] = true },
            Flags(view, "channel", "channelAttributes", "channelCode", "channelFlag"));
        Assert.Equal("test@toyota.com", view["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());

        using var asToshiko = await app.AsAsync(toshiko);
        (_, job) = await Uploads.PostAsync(asToshiko, toshiko, sample);
        Assert.Equal((2, 1, 1), (Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected")));
        Assert.All(await Uploads.ErrorsAsync(asToshiko, job), e => Assert.Equal(1, e["position"]!.GetValue<long>()));
        view = await ConsolidatedAsync(asToshiko, toshiko, "cust-456");
        Assert.Equal(new Dictionary<string, bool> { ["REMINDERS"] = true, ["SURVEYS"] = false },
            Flags(view, "consent", "consentAttributes", "consentCode", "consentFlag"));
        Assert.Equal(new Dictionary<string, bool> { ["MAIL"] = true, ["PHONE"] = true },
            Flags(view, "channel", "channelAttributes", "channelCode", "channelFlag"));
    }

    /// <summary>
    /// Records in a generated file; one in a hundred breaks a rule, each kind of bad record twice. Applied in batches of
    /// <see cref="GeneratedBatchSize"/> (ConsentHub:Upload:BatchSize), so the file spans eight batches as 10,000 records did
    /// at the default 1,000: every batch boundary, the progress saved after each, without the volume.
    /// </summary>
    const int GeneratedRecords = 2_000;
    const int GeneratedBatchSize = 250;

    /// <summary>The kinds of bad record in the generated file: how it is spoiled, and the field and rule reported.</summary>
    static readonly (Action<JsonObject> Spoil, string Field, string Rule)[] BadKinds =
    [
        (r => r["data"]!["consent"]!["validated"] = false, "data.consent.validated", "must-be-true"),
        (r => r["data"]!["consent"]!["gdprCompliant"] = false, "data.consent.gdprCompliant", "must-be-true"),
        (r => r["data"]!["commandType"] = "PROPAGATED", "data.commandType", "not-accepted"),
        (r => r["data"]!["consent"]!["consentAttributes"]![0]!["consentCode"] = "HOLIDAYS", "data.consent.consentAttributes[0].consentCode", "unknown-category"),
        (r => r["nmsc"] = "elsewhere", "nmsc", "envelope-mismatch"),
        (r => r["data"]!["consent"]!["consentAttributes"]![0]!["requestedTimestamp"] = "yesterday", "data.consent.consentAttributes[0].requestedTimestamp", "timestamp-format"),
        (r => r["data"]!["consent"]!["consentAttributes"]![0]!["consentFlag"] = "yes", "data.consent.consentAttributes[0].consentFlag", "json"),
        (r => r.Remove("sourceCustomerId"), "sourceCustomerId", "required"),
    ];

    static bool IsBad(int position) => position % 100 == 38;

    static (int Kind, string Field, string Rule) BadKindAt(int position)
    {
        var kind = position / 100 % BadKinds.Length;
        return (kind, BadKinds[kind].Field, BadKinds[kind].Rule);
    }

    static string GeneratedFile(SourceSystemCredentials s)
    {
        var file = new StringBuilder("[\n");
        for (var position = 1; position <= GeneratedRecords; position++)
        {
            var data = position % 2 == 0 ? Seed.Consent("OFFERS", position % 3 == 0) : Seed.Channel("SMS", position % 5 != 0);
            var record = Uploads.Envelope(s, $"gen-{position}", data);
            if (IsBad(position)) BadKinds[BadKindAt(position).Kind].Spoil(record);
            file.Append(record.ToJsonString()).Append(position < GeneratedRecords ? ",\n" : "\n");
        }
        return file.Append("]\n").ToString();
    }

    [ProviderTheory, Providers]
    public async Task A_generated_file_applies_every_valid_record_reports_every_bad_one_and_a_second_upload_skips_them_all(DatabaseProvider provider)
    {
        // An app of its own: the test counts change requests and ledger entries globally.
        await using var app = await HubApp.StartAsync(provider,
            new(Propagations.Settings) { ["ConsentHub:Upload:BatchSize"] = GeneratedBatchSize.ToString() });
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(system);
        // Applied one record per transaction for now: on a busy machine the file may take longer than HttpClient's default 100 s.
        client.Timeout = TimeSpan.FromMinutes(10);
        var file = GeneratedFile(system);
        var bad = Enumerable.Range(1, GeneratedRecords).Where(IsBad).ToList();
        Assert.True(bad.Select(p => BadKindAt(p).Kind).Distinct().Count() == BadKinds.Length, "every kind of bad record occurs");
        Assert.True(GeneratedRecords > 2 * GeneratedBatchSize, "the file spans several batches");

        var uploadId = Guid.CreateVersion7();
        var (_, job) = await Uploads.PostAsync(client, system, new StringContent(file, Encoding.UTF8, "application/json"), uploadId: uploadId);
        Assert.Equal(uploadId.ToString(), job["id"]!.GetValue<string>());
        Assert.Equal("COMPLETED", job["status"]!.GetValue<string>());
        Assert.Equal((GeneratedRecords, GeneratedRecords - bad.Count, bad.Count, 0),
            (Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected"), Uploads.Count(job, "skipped")));
        Assert.Equal(Encoding.UTF8.GetByteCount(file), Uploads.Count(job, "bytes"));
        Assert.NotNull(job["finishedAt"]!.GetValue<string>());

        var errors = await Uploads.ErrorsAsync(client, job);
        Assert.Equal(bad, errors.Select(e => (int)e["position"]!.GetValue<long>()));
        foreach (var error in errors)
        {
            var position = (int)error["position"]!.GetValue<long>();
            var (_, field, rule) = BadKindAt(position);
            Assert.Equal((field, rule), (error["field"]!.GetValue<string>(), error["rule"]!.GetValue<string>()));
            Assert.Equal(field == "sourceCustomerId" ? null : $"gen-{position}", error["sourceCustomerId"]?.GetValue<string>());
            Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        }

        // Read back: the job as stored, and a sample of what was applied.
        var stored = await Json.ReadAsync(await client.GetAsync($"/uploads/{uploadId}"));
        Assert.Equal(job.ToJsonString(), stored.ToJsonString());
        Assert.Equal(new Dictionary<string, bool> { ["OFFERS"] = false },
            Flags(await ConsolidatedAsync(client, system, "gen-1004"), "consent", "consentAttributes", "consentCode", "consentFlag"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(HubApp.SubscriptionDataPath(system, $"gen-{bad[0]}"))).StatusCode);

        var (changes, ledger) = await CountsAsync(app);
        (_, job) = await Uploads.PostAsync(client, system, file);
        Assert.Equal((GeneratedRecords, 0, bad.Count, GeneratedRecords - bad.Count),
            (Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected"), Uploads.Count(job, "skipped")));
        Assert.Equal((changes, ledger), await CountsAsync(app));
    }

    static async Task<(int Changes, long Ledger)> CountsAsync(HubApp app)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        return (await db.ChangeRequests.CountAsync(), await db.LedgerEntries.LongCountAsync());
    }

    [ProviderTheory, Providers]
    public async Task Malformed_json_mid_file_fails_the_upload_at_its_position_and_the_records_before_stay_applied(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var system = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(system);
        var good = Enumerable.Range(1, 3).Select(i => Uploads.Envelope(system, $"c{i}", Seed.Consent("OFFERS", true)).ToJsonString());
        // Line 5 lacks the colon after "context".
        var file = "[\n" + string.Join(",\n", good) + ",\n{\"context\" \"toyota\"},\n" + Uploads.Envelope(system, "c4", Seed.Consent("OFFERS", true)).ToJsonString() + "\n]";

        var (_, job) = await Uploads.PostAsync(client, system, file);
        Assert.Equal("FAILED", job["status"]!.GetValue<string>());
        Assert.Equal((3, 3, 0), (Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected")));
        Assert.Contains("line 5", job["failureReason"]!.GetValue<string>(), StringComparison.Ordinal);
        foreach (var id in new[] { "c1", "c2", "c3" }) await ConsolidatedAsync(client, system, id);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(HubApp.SubscriptionDataPath(system, "c4"))).StatusCode);

        // A file that ends inside its array fails too, after the records it held.
        (_, job) = await Uploads.PostAsync(client, system, "[\n" + Uploads.Envelope(system, "c5", Seed.Consent("EVENTS", true)).ToJsonString() + ",\n");
        Assert.Equal(("FAILED", 1), (job["status"]!.GetValue<string>(), Uploads.Count(job, "applied")));
        Assert.Contains("line 3", job["failureReason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [ProviderTheory, Providers]
    public async Task Ndjson_files_are_read_by_content_type_or_by_their_first_byte_and_errors_come_as_csv_on_request(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var system = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await Uploads.StreamingClientAsync(app, system);
        var records = new List<JsonNode>
        {
            Uploads.Envelope(system, "n1", Seed.Consent("OFFERS", true)),
            Uploads.Envelope(system, "n2", Seed.Consent("OFFERS", true, validated: false)),
            Uploads.Envelope(system, "=n3", Seed.Channel("EMAIL", false)),
        };
        var lines = Uploads.AsLines(records);

        var (_, job) = await Uploads.PostAsync(client, system, new Uploads.Trickle(lines, 5, "application/x-ndjson"));
        Assert.Equal(("COMPLETED", 3, 2, 1), (job["status"]!.GetValue<string>(), Uploads.Count(job, "read"), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected")));
        (_, job) = await Uploads.PostAsync(client, system, lines.Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.Equal(("COMPLETED", 3, 2, 1), (job["status"]!.GetValue<string>(), Uploads.Count(job, "read"), Uploads.Count(job, "skipped"), Uploads.Count(job, "rejected")));

        var errors = job["_links"]!["errors"]!["href"]!.GetValue<string>();
        var byQuery = await client.GetAsync(errors + "?format=csv");
        using var request = new HttpRequestMessage(HttpMethod.Get, errors);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var byAccept = await client.SendAsync(request);
        foreach (var response in new[] { byQuery, byAccept })
        {
            Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
            var csv = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("position,sourceCustomerId,field,rule,message\r\n2,n2,data.consent.validated,must-be-true,", csv, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync(errors + "?format=xml")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(HubApp.SubscriptionDataPath(system, "=n3"))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task An_upload_propagates_nothing_by_default_and_propagates_with_propagate_true(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, system, receiver);
        using var client = await app.AsAsync(system);

        var (_, job) = await Uploads.PostAsync(client, system, Uploads.AsArray([Uploads.Envelope(system, "quiet", Seed.Consent("OFFERS", true))]));
        Assert.Equal((1, false), (Uploads.Count(job, "applied"), job["propagate"]!.GetValue<bool>()));
        using (var scope = app.Scope())
            Assert.Equal(0, await app.Db(scope).Propagations.CountAsync(p => p.SourceSystemId == system.Id));

        (_, job) = await Uploads.PostAsync(client, system, Uploads.AsArray([Uploads.Envelope(system, "loud", Seed.Consent("OFFERS", true))]), query: "?propagate=true");
        Assert.Equal((1, true), (Uploads.Count(job, "applied"), job["propagate"]!.GetValue<bool>()));
        var calls = await receiver.WaitForCountAsync(1);
        Assert.Equal("loud", calls[0].SourceCustomerId);
        using (var scope = app.Scope())
            Assert.Equal(["loud"], await app.Db(scope).Propagations.Where(p => p.SourceSystemId == system.Id).Select(p => p.SourceCustomerId).ToListAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync(Uploads.PathOf(system, "?propagate=yes"),
            new StringContent("[]", Encoding.UTF8, "application/json"))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task An_upload_with_propagate_true_commits_its_records_many_to_a_transaction_in_order_and_tells_every_cluster(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new(Propagations.Settings) { ["ConsentHub:Upload:BatchSize"] = "100" });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/organisations/tgb", new { builtInMatching = true })).StatusCode);
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, dms, receiver);
        using var asDms = await app.AsAsync(dms);
        for (var i = 1; i <= 3; i++) await HubApp.AppliedAsync(asDms, dms, $"d-{i}", WithEmail(Seed.Consent("SURVEYS", true), $"known{i}@example.com"));
        // Each dms record was sent its own change, as every registered system of a cluster is.
        await Propagations.AllDeliveredAsync(app, dms, 3);
        var groups = app.Services.GetRequiredService<ConsentHub.Consents.GroupCommit>();
        var before = groups.Committed;

        // Forty records of people of their own, with three that match a dms record and two that match each other
        // among them, and one record changed twice (given, then withdrawn).
        var records = new List<JsonNode>();
        for (var i = 1; i <= 40; i++)
        {
            records.Add(Uploads.Envelope(crm, $"c-{i}", WithEmail(Seed.Consent("OFFERS", true), $"own{i}@example.com")));
            if (i % 10 == 0 && i <= 30) records.Add(Uploads.Envelope(crm, $"c-known{i / 10}", WithEmail(Seed.Consent("OFFERS", true), $"known{i / 10}@example.com")));
        }
        records.Insert(5, Uploads.Envelope(crm, "c-same", WithEmail(Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"), "same@example.com")));
        records.Insert(6, Uploads.Envelope(crm, "c-pair-a", WithEmail(Seed.Consent("EVENTS", true), "pair@example.com")));
        records.Insert(20, Uploads.Envelope(crm, "c-pair-b", WithEmail(Seed.Consent("EVENTS", true), "pair@example.com")));
        records.Insert(30, Uploads.Envelope(crm, "c-same", WithEmail(Seed.Consent("OFFERS", false, "2024-01-01T11:00:00Z"), "same@example.com")));
        Assert.Equal(47, records.Count);
        using var asCrm = await app.AsAsync(crm);
        var (_, job) = await Uploads.PostAsync(asCrm, crm, Uploads.AsArray(records), query: "?propagate=true");
        Assert.Equal(("COMPLETED", 47, 0, 0), (job["status"]!.GetValue<string>(), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected"), Uploads.Count(job, "skipped")));

        // Every record went through the group committers, and their transactions held several records each.
        var after = groups.Committed;
        Assert.Equal(47L, after.Changes - before.Changes);
        Assert.True(after.Groups - before.Groups < 47, $"{after.Groups - before.Groups} commits for 47 records");
        // Each dms record whose person the upload matched was sent its consolidated data once, and nothing else was.
        await Propagations.AllDeliveredAsync(app, dms, 6);
        var sent = receiver.Calls.Skip(3).ToList();
        Assert.Equal(["d-1", "d-2", "d-3"], sent.Select(c => c.SourceCustomerId).Order());
        Assert.All(sent, c => Assert.Contains("OFFERS", c.Body, StringComparison.Ordinal));
        // The record sent twice holds its later change; the two records of one address are one cluster.
        var same = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-same")));
        Assert.False(same["consent"]!["consentAttributes"]!.AsArray().Single(c => c!["consentCode"]!.GetValue<string>() == "OFFERS")!["consentFlag"]!.GetValue<bool>());
        var pair = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-pair-b").Replace("/subscription-data", "/cluster")));
        Assert.Equal(["c-pair-a", "c-pair-b"], pair["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
        using var scope = app.Scope();
        var verification = await ConsentHub.Ledger.LedgerVerifier.VerifyAsync(app.Db(scope), CancellationToken.None);
        Assert.True(verification.Valid, verification.Reason);
    }

    [ProviderTheory, Providers]
    public async Task A_propagated_batch_of_records_alone_applies_set_by_set_and_one_with_a_cluster_or_a_record_twice_goes_change_by_change(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new(Propagations.Settings) { ["ConsentHub:Upload:BatchSize"] = "10" });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var receiver = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, receiver);
        using var asCrm = await app.AsAsync(crm);
        await HubApp.AppliedAsync(asCrm, crm, "c-x", WithEmail(Seed.Consent("EVENTS", true), "x@example.com"));
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync("/nmscs/tgb/clusters/fed-1", new
            {
                members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-5" }, new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-x" } },
            })).StatusCode);
        // c-x was sent its change, and c-5 (no record yet) the cluster's consolidated data when the cluster was fed.
        await Propagations.AllDeliveredAsync(app, crm, 2);
        var groups = app.Services.GetRequiredService<ConsentHub.Consents.GroupCommit>();
        var before = groups.Committed;

        // Batches of ten: the first holds c-5 (in a cluster), the third c-25 twice (given, then withdrawn); the second
        // and the fourth (c-30 alone) hold records alone in their clusters, each once.
        var records = Enumerable.Range(1, 30)
            .Select(i => Uploads.Envelope(crm, $"c-{i}", WithEmail(Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"), $"p{i}@example.com")))
            .ToList();
        records.Insert(25, Uploads.Envelope(crm, "c-25", WithEmail(Seed.Consent("OFFERS", false, "2024-01-01T11:00:00Z"), "p25@example.com")));
        var (_, job) = await Uploads.PostAsync(asCrm, crm, Uploads.AsArray(records), query: "?propagate=true");
        Assert.Equal(("COMPLETED", 31, 0), (job["status"]!.GetValue<string>(), Uploads.Count(job, "applied"), Uploads.Count(job, "rejected")));

        // The first and third batches went change by change through the group committers; the others did not.
        Assert.Equal(20L, groups.Committed.Changes - before.Changes);
        // Every record was sent its change (c-25 both, in order), and c-x the consolidated data c-5 brought its cluster.
        await Propagations.AllDeliveredAsync(app, crm, 2 + 28 + 2 + 2);
        var sent = receiver.Calls.Skip(2).ToList();
        Assert.Equal(Enumerable.Range(1, 30).Select(i => $"c-{i}").Append("c-25").Append("c-x").Order(), sent.Select(c => c.SourceCustomerId).Order());
        bool Offers(ReceivedCall call) => call.Json["consent"]!["consentAttributes"]!.AsArray()
            .Single(a => a!["consentCode"]!.GetValue<string>() == "OFFERS")!["consentFlag"]!.GetValue<bool>();
        Assert.Equal([true, false], sent.Where(c => c.SourceCustomerId == "c-25").OrderBy(c => c.LedgerIndex).Select(Offers));
        Assert.True(Offers(sent.Single(c => c.SourceCustomerId == "c-x")));
        Assert.All(sent.Where(c => c.SourceCustomerId is not ("c-25" or "c-x")), c => Assert.True(Offers(c)));
        // Each message names the "change-applied" entry of its change, which names it in turn.
        using var scope = app.Scope();
        var verification = await ConsentHub.Ledger.LedgerVerifier.VerifyAsync(app.Db(scope), CancellationToken.None);
        Assert.True(verification.Valid, verification.Reason);
        var c12 = sent.Single(c => c.SourceCustomerId == "c-12");
        var entry = await app.Db(scope).LedgerEntries.SingleAsync(e => e.Index == c12.LedgerIndex);
        Assert.Contains(c12.PropagationId, entry.Payload, StringComparison.Ordinal);

        // Ten of them again, set by set, each giving EVENTS beside the same OFFERS: each is sent only what changed.
        var again = Enumerable.Range(11, 10).Select(i =>
        {
            var data = WithEmail(Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"), $"p{i}@example.com");
            data["consent"]!["consentAttributes"]!.AsArray().Add(Seed.Attribute("EVENTS", true, "2024-01-02T10:00:00Z"));
            return Uploads.Envelope(crm, $"c-{i}", data);
        });
        (_, job) = await Uploads.PostAsync(asCrm, crm, Uploads.AsArray(again), query: "?propagate=true");
        Assert.Equal(("COMPLETED", 10), (job["status"]!.GetValue<string>(), Uploads.Count(job, "applied")));
        Assert.Equal(20L, groups.Committed.Changes - before.Changes);
        await Propagations.AllDeliveredAsync(app, crm, 2 + 32 + 10);
        var second = receiver.Calls.Skip(2 + 32).ToList();
        Assert.Equal(Enumerable.Range(11, 10).Select(i => $"c-{i}").Order(), second.Select(c => c.SourceCustomerId).Order());
        Assert.All(second, c => Assert.Equal(["EVENTS"],
            c.Json["consent"]!["consentAttributes"]!.AsArray().Select(a => a!["consentCode"]!.GetValue<string>())));
    }

    static JsonObject WithEmail(JsonObject body, string email)
    {
        body["consent"]!["communicationAttributes"]!["email"] = email;
        return body;
    }

    [ProviderTheory, Providers]
    public async Task Progress_is_visible_with_the_chosen_upload_id_while_the_body_still_arrives(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Upload:BatchSize"] = "10" });
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await Uploads.StreamingClientAsync(app, system);
        var first = Uploads.AsLines(Enumerable.Range(1, 25).Select(i => Uploads.Envelope(system, $"p{i}", Seed.Consent("OFFERS", true))));
        var rest = Uploads.AsLines(Enumerable.Range(26, 5).Select(i => Uploads.Envelope(system, $"p{i}", Seed.Consent("OFFERS", true))));
        var seen = new TaskCompletionSource();
        var id = Guid.CreateVersion7();
        var upload = Uploads.PostAsync(client, system, new Paused(first, rest, seen.Task), uploadId: id);

        JsonNode progress;
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.GetAsync($"/uploads/{id}");
            progress = response.StatusCode == HttpStatusCode.OK ? await Json.ReadAsync(response) : new JsonObject { ["read"] = 0L };
            if (Uploads.Count(progress, "read") >= 20 || DateTime.UtcNow > until) break;
            await Task.Delay(20);
        }
        Assert.Equal("RUNNING", progress["status"]!.GetValue<string>());
        Assert.Equal((20, 20), (Uploads.Count(progress, "read"), Uploads.Count(progress, "applied")));
        Assert.Null(progress["finishedAt"]?.GetValue<string>());
        seen.SetResult();

        var (_, job) = await upload;
        Assert.Equal(("COMPLETED", 30), (job["status"]!.GetValue<string>(), Uploads.Count(job, "applied")));
        var again = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Uploads.PathOf(system))
        {
            Content = new StringContent("[]", Encoding.UTF8, "application/json"), Headers = { { "Upload-Id", id.ToString() } },
        });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var malformed = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Uploads.PathOf(system))
        {
            Content = new StringContent("[]", Encoding.UTF8, "application/json"), Headers = { { "Upload-Id", "upload-1" } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    /// <summary>Sends the first part, then waits for the test before sending the rest.</summary>
    sealed class Paused(string first, string rest, Task resume) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(first));
            await stream.FlushAsync();
            await resume;
            await stream.WriteAsync(Encoding.UTF8.GetBytes(rest));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [ProviderTheory, Providers]
    public async Task Bodies_and_records_beyond_their_limits_are_refused(DatabaseProvider provider)
    {
        // Served by Kestrel, whose own request size limit the route lifts; the body is sent chunked, without a length.
        await using var app = await HubApp.StartAsync(provider, new()
        {
            ["ConsentHub:Upload:MaxBytes"] = "6000",
            ["ConsentHub:Upload:MaxRecordBytes"] = "2048",
        }, kestrelPort: HubApp.FreePort());
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await Uploads.StreamingClientAsync(app, system);
        var record = Uploads.Envelope(system, "x", Seed.Consent("OFFERS", true));

        var declared = await client.PostAsync(Uploads.PathOf(system), new StringContent(new string(' ', 6001), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);

        var many = Uploads.AsLines(Enumerable.Range(1, 30).Select(i => Uploads.Envelope(system, $"m{i}", Seed.Consent("OFFERS", true))));
        var (_, job) = await Uploads.PostAsync(client, system, new Uploads.Trickle(many, 1000, "application/x-ndjson"));
        Assert.Equal("FAILED", job["status"]!.GetValue<string>());
        Assert.Contains("MaxBytes", job["failureReason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(Uploads.Count(job, "applied") > 0 && Uploads.Count(job, "bytes") <= 6000);

        record["padding"] = new string('p', 3000);
        (_, job) = await Uploads.PostAsync(client, system, Uploads.AsArray([record]));
        Assert.Equal("FAILED", job["status"]!.GetValue<string>());
        Assert.Contains("MaxRecordBytes", job["failureReason"]!.GetValue<string>(), StringComparison.Ordinal);

        var wrongType = await client.PostAsync(Uploads.PathOf(system), new StringContent("[]", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task On_start_an_upload_left_running_by_a_crash_is_marked_failed_and_a_live_one_is_left_alone(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        Upload Running(DateTime updated) => new()
        {
            Id = Guid.CreateVersion7(), SourceSystemId = system.Id, Nmsc = system.Nmsc, Context = system.Context, SourceSystem = system.Name,
            SubmittedBy = system.ClientId, Status = UploadStatuses.Running, StartedAt = updated, UpdatedAt = updated, HeartbeatAt = updated,
        };
        var crashed = Running(DateTime.UtcNow.AddHours(-1));
        var live = Running(DateTime.UtcNow);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.Uploads.AddRange(crashed, live);
            await db.SaveChangesAsync();
        }

        await using var restarted = app.SecondInstance();
        using var client = await restarted.AsAsync(system);
        // The watchdog's first sweep runs as the instance starts, beside its first requests.
        var job = await Poll.UntilAsync(async () => await Json.ReadAsync(await client.GetAsync($"/uploads/{crashed.Id}")),
            j => j["status"]!.GetValue<string>() != "RUNNING", TimeSpan.FromSeconds(10));
        Assert.Equal("FAILED", job["status"]!.GetValue<string>());
        Assert.StartsWith("interrupted", job["failureReason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("RUNNING", (await Json.ReadAsync(await client.GetAsync($"/uploads/{live.Id}")))["status"]!.GetValue<string>());
    }
}
