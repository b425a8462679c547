using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Bulk;

/// <summary>The bulk export file: its content in the seed's format, who may download which, and the ledger entry.</summary>
public sealed class ExportTests
{
    static async Task<JsonArray> ExportAsync(HttpClient session, string context, string nmsc)
    {
        var response = await session.GetAsync($"/exports/{context}/{nmsc}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Matches("^consenthub-export-.+\\.json$", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        return JsonNode.Parse(text)!.AsArray();
    }

    [ProviderTheory, Providers]
    public async Task A_record_sent_through_the_api_is_exported_in_the_seed_format(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "cust-123", Seed.Customer123)).StatusCode);
        using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc));

        var file = await ExportAsync(session, "toyota", crm.Nmsc);

        // Seed 004 §3.6.3's first record, member for member, as the hub holds it: instants in UTC, the origin filled in with
        // the sending system (the hub's rule for a blank origin), categories and channels in code order.
        var expected = new JsonObject
        {
            ["context"] = "toyota",
            ["nmsc"] = crm.Nmsc,
            ["sourceSystemName"] = "crm",
            ["sourceCustomerId"] = "cust-123",
            ["data"] = JsonNode.Parse(Seed.Customer123),
        };
        var data = expected["data"]!;
        data["commandTimestamp"] = "2018-04-23T14:10:44.000Z";
        data["consent"]!["nmsc"] = crm.Nmsc;
        data["channel"]!["nmsc"] = crm.Nmsc;
        var utc = new Dictionary<string, string>
        {
            ["2017-03-20T15:10:44.000+0100"] = "2017-03-20T14:10:44.000Z",
            ["2017-03-20T12:10:44.000+0100"] = "2017-03-20T11:10:44.000Z",
            ["2017-03-21T12:10:44.000+0100"] = "2017-03-21T11:10:44.000Z",
        };
        foreach (var attributes in new[] { data["consent"]!["consentAttributes"]!.AsArray(), data["channel"]!["channelAttributes"]!.AsArray() })
        {
            foreach (var attribute in attributes)
            {
                foreach (var member in new[] { "requestedTimestamp", "validatedTimestamp" })
                    if (attribute![member] is { } value) attribute[member] = utc[value.GetValue<string>()];
                attribute!["originSourceSystem"] = "crm";
            }
            var sorted = attributes.Select(a => a!.DeepClone()).OrderBy(a => (a["consentCode"] ?? a["channelCode"])!.GetValue<string>(), StringComparer.Ordinal).ToList();
            attributes.Clear();
            foreach (var a in sorted) attributes.Add(a);
        }
        var record = Assert.Single(file);
        Assert.Equal(expected.ToJsonString(), record!.ToJsonString());
    }

    [ProviderTheory, Providers]
    public async Task Only_applied_records_of_the_organisation_and_context_are_exported_each_with_its_own_current_state(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dealer = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer");
        var lexus = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        var elsewhere = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        async Task Submit(SourceSystemCredentials system, string customer, JsonObject body, HttpStatusCode status)
        {
            using var client = await app.AsAsync(system);
            Assert.Equal(status, (await HubApp.SubmitAsync(client, system, customer, body.ToJsonString())).StatusCode);
        }
        await Submit(crm, "c1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"), HttpStatusCode.Created);
        await Submit(crm, "c1", Seed.Consent("OFFERS", false, "2024-02-01T10:00:00Z"), HttpStatusCode.Created);
        await Submit(crm, "c1", Seed.Consent("SURVEYS", true, "2024-03-01T10:00:00Z", validated: false), HttpStatusCode.Accepted);
        await Submit(crm, "pending-only", Seed.Consent("OFFERS", true, validated: false), HttpStatusCode.Accepted);
        await Submit(dealer, "d1", Seed.Channel("SMS", true), HttpStatusCode.Created);
        await Submit(lexus, "x1", Seed.Consent("OFFERS", true), HttpStatusCode.Created);
        await Submit(elsewhere, "c1", Seed.Consent("OFFERS", true), HttpStatusCode.Created);
        using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", nmsc));

        var file = await ExportAsync(session, "toyota", nmsc);

        Assert.Equal(["crm/c1", "dealer/d1"], file.Select(r => $"{r!["sourceSystemName"]}/{r["sourceCustomerId"]}").ToArray());
        var c1 = file[0]!["data"]!;
        var offers = Assert.Single(c1["consent"]!["consentAttributes"]!.AsArray());
        Assert.Equal("OFFERS", offers!["consentCode"]!.GetValue<string>());
        Assert.False(offers["consentFlag"]!.GetValue<bool>());
        Assert.Equal("2024-02-01T10:00:00.000Z", c1["commandTimestamp"]!.GetValue<string>());
        Assert.Equal("person@example.com", c1["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.True(c1["consent"]!["validated"]!.GetValue<bool>());
        Assert.Empty(c1["channel"]!["channelAttributes"]!.AsArray());
        var d1 = file[1]!["data"]!;
        Assert.Empty(d1["consent"]!["consentAttributes"]!.AsArray());
        Assert.Equal("SMS", d1["channel"]!["channelAttributes"]![0]!["channelCode"]!.GetValue<string>());
        Assert.Null(d1["commandTimestamp"]);
    }

    [ProviderTheory, Providers]
    public async Task Each_role_downloads_exactly_the_exports_of_its_context_and_organisations_and_every_other_is_404(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        // Contexts of this test alone, so that the head-office DPOs' lists are known.
        var toyota = HubApp.Unique("toyota");
        var lexus = HubApp.Unique("lexus");
        var a = HubApp.Unique("tgb");
        var b = HubApp.Unique("tfr");
        var aToyota = await app.RegisterSourceSystemAsync(a, toyota, "crm");
        await app.RegisterSourceSystemAsync(b, toyota, "crm");
        await app.RegisterSourceSystemAsync(a, lexus, "crm");
        using (var client = await app.AsAsync(aToyota))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, aToyota, "c1", Seed.Consent("OFFERS", true))).StatusCode);

        var exports = new[] { (toyota, a), (toyota, b), (lexus, a), (lexus, b), (toyota, HubApp.Unique("none")) };
        var roles = new (string Who, DpoCredentials Dpo, (string, string)[] Allowed)[]
        {
            ("dpo of a in toyota", await Dpos.CreateAsync(app, "dpo", toyota, a), [(toyota, a)]),
            ("dpo of b in toyota", await Dpos.CreateAsync(app, "dpo", toyota, b), [(toyota, b)]),
            ("dpo of a in lexus", await Dpos.CreateAsync(app, "dpo", lexus, a), [(lexus, a)]),
            ("head office toyota", await Dpos.CreateAsync(app, "head-office-dpo", toyota, null), [(toyota, a), (toyota, b)]),
            // b has no source system in lexus: lexus is not one of its contexts.
            ("head office lexus", await Dpos.CreateAsync(app, "head-office-dpo", lexus, null), [(lexus, a)]),
        };
        string? refusal = null;
        foreach (var (who, dpo, allowed) in roles)
        {
            using var session = await Dpos.SignInAsync(app, dpo);
            var landing = WebUtility.HtmlDecode(await (await session.GetAsync("/dpo")).Content.ReadAsStringAsync());
            foreach (var (context, nmsc) in exports)
            {
                var response = await session.GetAsync($"/exports/{context}/{nmsc}");
                var text = await response.Content.ReadAsStringAsync();
                var link = $"href=\"/exports/{context}/{nmsc}\"";
                if (allowed.Contains((context, nmsc)))
                {
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{who} on {context}/{nmsc}: {(int)response.StatusCode} {text}");
                    Assert.Contains(link, landing);
                }
                else
                {
                    Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{who} on {context}/{nmsc}: {(int)response.StatusCode}");
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    Assert.DoesNotContain(link, landing);
                    // Another organisation's export reads like one that does not exist, but for the names in the route.
                    var shape = WithoutTraceIdAndDetail(text);
                    Assert.Equal(refusal ??= shape, shape);
                }
            }
            Assert.Equal(allowed.Length, landing.Split("href=\"/exports/").Length - 1);
        }

        // Tokens open no export, whoever holds them; neither does nobody.
        using var admin = await app.AdminAsync();
        using var system = await app.AsAsync(aToyota);
        using var anonymous = app.CreateClient();
        foreach (var client in new[] { admin, system, anonymous })
        {
            var response = await client.GetAsync($"/exports/{toyota}/{a}");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [ProviderTheory, Providers]
    public async Task Each_download_is_recorded_in_the_ledger_with_who_what_and_how_many(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using (var client = await app.AsAsync(crm))
        {
            foreach (var customer in new[] { "c1", "c2", "c3" })
                Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, customer, Seed.Consent("OFFERS", true))).StatusCode);
        }
        var dpo = await Dpos.CreateAsync(app, "head-office-dpo", "toyota", null);
        using var session = await Dpos.SignInAsync(app, dpo);

        Assert.Equal(3, (await ExportAsync(session, "toyota", crm.Nmsc)).Count);

        using var scope = app.Scope();
        var entry = await app.Db(scope).LedgerEntries.AsNoTracking()
            .Where(e => e.Type == "export-downloaded" && e.Payload.Contains(dpo.Username)).SingleAsync();
        var payload = JsonNode.Parse(entry.Payload)!;
        Assert.Equal(dpo.Username, payload["username"]!.GetValue<string>());
        Assert.Equal("head-office-dpo", payload["role"]!.GetValue<string>());
        Assert.Equal("toyota", payload["context"]!.GetValue<string>());
        Assert.Equal(crm.Nmsc, payload["nmsc"]!.GetValue<string>());
        Assert.Equal(3, payload["records"]!.GetValue<int>());
        Assert.True(payload["completed"]!.GetValue<bool>());
        Assert.InRange(entry.Timestamp, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        using var admin = await app.AdminAsync();
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task An_organisation_larger_than_one_batch_is_exported_whole_in_id_order(DatabaseProvider provider)
    {
        // Batches of 50 (ConsentHub:Export:BatchSize) instead of the default 1,000: the claim needs more than one batch,
        // not thousands of records. Two full batches and part of a third, on an app of its own for that setting.
        const int batchSize = 50;
        const int records = batchSize * 2 + 17;
        // The record with only a change waiting for validation is the last of the first batch: the next batch must still
        // start after it.
        const int pending = batchSize - 1;
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Export:BatchSize"] = batchSize.ToString() });
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await SeedAsync(app, crm, records, pending);
        using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc));

        var file = await ExportAsync(session, "toyota", crm.Nmsc);

        var ids = file.Select(r => r!["sourceCustomerId"]!.GetValue<string>()).ToList();
        Assert.Equal(records - 1, ids.Count);
        Assert.Equal(Enumerable.Range(0, records).Where(i => i != pending).Select(i => $"bulk-{i:D5}"), ids);
        Assert.All(file, r => Assert.Equal($"p{int.Parse(r!["sourceCustomerId"]!.GetValue<string>()["bulk-".Length..])}@example.com",
            r["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>()));
    }

    [ProviderTheory, Providers]
    public async Task A_download_cut_off_midway_ends_the_read_it_started_and_the_context_exports_again_whole(DatabaseProvider provider)
    {
        // The next batch is read while the last is written: when the write fails, that read must be over before the
        // writer returns, or the caller's next use of the context (recording the download) meets a second operation.
        const int batchSize = 20;
        const int records = batchSize * 5;
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Export:BatchSize"] = batchSize.ToString() });
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await SeedAsync(app, crm, records, pending: -1);
        using var scope = app.Scope();
        var writer = scope.ServiceProvider.GetRequiredService<ConsentHub.Bulk.ExportWriter>();
        var db = app.Db(scope);

        // The first flush, after the first batch, fails: the read of the second batch has just been started. A writer that
        // returned without waiting for it failed here (the snapshot ended under a running command) or hung, hence the bound.
        var progress = new ConsentHub.Bulk.ExportProgress();
        await using (var cutOff = new FailingStream(failAfterBytes: 1))
            await Assert.ThrowsAsync<IOException>(() => writer.WriteAsync(cutOff, "toyota", crm.Nmsc, progress, CancellationToken.None))
                .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(batchSize, progress.Records);
        // The same context (as ExportApi records the download on it): free, and outside the export's snapshot.
        Assert.Equal(records, await db.Customers.CountAsync(c => c.Nmsc == crm.Nmsc));
        var whole = new MemoryStream();
        var again = new ConsentHub.Bulk.ExportProgress();
        await writer.WriteAsync(whole, "toyota", crm.Nmsc, again, CancellationToken.None);
        Assert.Equal(records, again.Records);
        Assert.Equal(records, JsonNode.Parse(whole.ToArray())!.AsArray().Count);
    }

    /// <summary>A download that breaks off: it takes the first bytes, then every write fails as a reset connection does.</summary>
    sealed class FailingStream(int failAfterBytes) : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Length + buffer.Length > failAfterBytes) throw new IOException("The client went away.");
            base.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// <paramref name="records"/> records of <paramref name="crm"/> written straight to storage (a hundred API calls would
    /// test nothing more): each with its address sealed as the hub keeps it, one applied change and one consent, except
    /// the record at <paramref name="pending"/>, whose only change waits for validation.
    /// </summary>
    static async Task SeedAsync(HubApp app, SourceSystemCredentials crm, int records, int pending)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        var now = DateTime.UtcNow;
        var customers = Enumerable.Range(0, records).Select(i => new Customer
        {
            SourceSystemId = crm.Id, Nmsc = crm.Nmsc, Context = "toyota", SourceSystem = "crm", SourceCustomerId = $"bulk-{i:D5}",
            CreatedAt = now,
        }).ToList();
        db.Customers.AddRange(customers);
        await db.SaveChangesAsync();
        // Their addresses sealed as the hub keeps them, under a key per record.
        var vault = scope.ServiceProvider.GetRequiredService<PersonalDataVault>();
        foreach (var (customer, i) in customers.Select((c, i) => (c, i)))
            await vault.SetContactAsync(customer.Id, new Contact($"p{i}@example.com", null), CancellationToken.None);
        for (var i = 0; i < records; i++)
        {
            var change = new ChangeRequest
            {
                Id = Guid.NewGuid(), CustomerId = customers[i].Id, Status = i == pending ? ChangeStatus.PendingValidation : ChangeStatus.Applied,
                Validated = true, Data = "{}", SubmittedBy = "test", ReceivedAt = now, Sequence = i,
            };
            db.ChangeRequests.Add(change);
            if (i != pending)
                db.ConsentEntries.Add(new ConsentEntry
                {
                    CustomerId = customers[i].Id, Code = "OFFERS", Flag = i % 2 == 0, RequestedAt = now, ValidatedAt = now,
                    ChangeRequestId = change.Id, Sequence = i,
                });
        }
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task An_export_batch_size_out_of_range_stops_the_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            HubApp.StartAsync(DatabaseProvider.Sqlite, new() { ["ConsentHub:Export:BatchSize"] = "0" }));
        Assert.Contains("BatchSize", error.ToString(), StringComparison.Ordinal);
    }

    static string WithoutTraceIdAndDetail(string problem)
    {
        var node = JsonNode.Parse(problem)!.AsObject();
        node.Remove("traceId");
        node.Remove("detail");
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }
}
