using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Rights;

/// <summary>Access and portability: one person's data as one document, and a ZIP that proves it without trusting the hub.</summary>
public sealed class SubjectAccessTests
{
    static readonly Dictionary<string, string?> Settings = new(People.NoWorkers) { ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true" };

    static async Task<(HubApp App, SourceSystemCredentials Crm, SourceSystemCredentials Dms, DpoCredentials Dpo)> PersonAsync(DatabaseProvider provider)
    {
        var app = await HubApp.StartAsync(provider, Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await People.EnableMatchingAsync(app, "tgb");
        await using var receiver = await WebhookReceiver.StartAsync(start: false);
        await Propagations.RegisterAsync(app, dms, receiver);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email, People.Phone))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("SURVEYS", People.Email, validated: false))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-1", People.Change("EVENTS", "jane.doe@example.com"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-2", People.Change("OFFERS", "other@example.com"))).StatusCode);
        return (app, crm, dms, await Dpos.CreateAsync(app, "dpo", "toyota", "tgb"));
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_gets_every_record_of_the_person_with_history_validations_propagations_and_the_ledger_entries_that_prove_them(DatabaseProvider provider)
    {
        var (app, _, _, dpoUser) = await PersonAsync(provider);
        await using var _app = app;
        using var dpo = await People.AsDpoAsync(app, dpoUser);
        using var admin = await app.AdminAsync();

        var response = await dpo.GetAsync($"/nmscs/tgb/subject-access?email={Uri.EscapeDataString("JANE.DOE@example.com")}");
        var document = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, document.ToJsonString());
        var records = document["records"]!.AsArray();
        Assert.Equal(["c-1", "d-1"], records.Select(r => r!["sourceCustomerId"]!.GetValue<string>()));
        var c1 = records[0]!;
        Assert.Equal(People.Email, c1["subscriptionData"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal(People.Phone, c1["subscriptionData"]!["consent"]!["communicationAttributes"]!["phone"]!.GetValue<string>());
        Assert.Equal(["APPLIED", "PENDING_VALIDATION"], c1["history"]!.AsArray().Select(h => h!["status"]!.GetValue<string>()));
        Assert.Equal(People.Email, c1["history"]![1]!["data"]!["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal("QUEUED", Assert.Single(c1["validations"]!.AsArray())!["state"]!.GetValue<string>());
        var d1 = records[1]!;
        Assert.NotNull(d1["clusterId"]);
        Assert.Equal(c1["clusterId"]!.GetValue<string>(), d1["clusterId"]!.GetValue<string>());
        Assert.NotEmpty(d1["propagations"]!.AsArray());
        Assert.Equal("PENDING", d1["propagations"]![0]!["status"]!.GetValue<string>());

        // Each cited index is listed with the leaf hash the ledger has for it, the request's own entry included.
        var cited = document["ledger"]!.AsArray().ToDictionary(l => l!["index"]!.GetValue<long>(), l => l!["leafHash"]!.GetValue<string>());
        foreach (var index in records.SelectMany(r => r!["history"]!.AsArray()).SelectMany(h => h!["timeline"]!.AsArray()).Select(t => t!["ledgerIndex"]!.GetValue<long>())
                     .Concat(d1["propagations"]!.AsArray().Select(p => p!["ledgerIndex"]!.GetValue<long>())))
        {
            Assert.True(cited.ContainsKey(index), $"ledger index {index} is not listed");
            Assert.Equal((await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{index}")))["leafHash"]!.GetValue<string>(), cited[index]);
        }
        var requestIndex = document["requestLedgerIndex"]!.GetValue<long>();
        Assert.True(cited.ContainsKey(requestIndex));
        var request = await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{requestIndex}"));
        var canonical = request["canonical"]!.GetValue<string>();
        Assert.Contains("\"type\":\"subject-access\"", canonical);
        Assert.Contains($"\"requestedBy\":\"{dpoUser.Username}\"", canonical);
        Assert.DoesNotContain("@", canonical);
        // Quoted: ids' hex digits may spell c-1 by chance; the record's own id never stands alone there.
        Assert.DoesNotContain("\"c-1\"", canonical);
    }

    [ProviderTheory, Providers]
    public async Task The_zip_holds_the_document_and_proofs_that_verify_offline_against_the_signed_checkpoint(DatabaseProvider provider)
    {
        var (app, _, _, dpoUser) = await PersonAsync(provider);
        await using var _app = app;
        using var dpo = await People.AsDpoAsync(app, dpoUser);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nmscs/tgb/subject-access?context=toyota&sourceSystem=crm&sourceCustomerId=c-1");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/zip"));
        var response = await dpo.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("application/zip", (await dpo.GetAsync("/nmscs/tgb/subject-access?phone=%2B447700900123&format=zip")).Content.Headers.ContentType?.MediaType);

        using var zip = new ZipArchive(await response.Content.ReadAsStreamAsync(), ZipArchiveMode.Read);
        string Read(string name)
        {
            using var reader = new StreamReader(zip.GetEntry(name)!.Open());
            return reader.ReadToEnd();
        }
        var document = JsonNode.Parse(Read("subject-access.json"))!;
        var proofs = JsonNode.Parse(Read("ledger-proofs.json"))!;
        var note = Read("checkpoint.txt");
        var verifierKey = Read("public-key.txt").Trim();
        Assert.Contains("README.txt", zip.Entries.Select(e => e.FullName));
        Assert.Equal(["c-1", "d-1"], document["records"]!.AsArray().Select(r => r!["sourceCustomerId"]!.GetValue<string>()));

        // The key is the one the hub publishes; the note is signed by it and names the tree the proofs are for.
        using var anonymous = app.CreateClient();
        Assert.Equal((await Json.ReadAsync(await anonymous.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>(), verifierKey);
        var body = SignedNote.Open(note, verifierKey, out var error);
        Assert.True(body is not null, error);
        var lines = body!.Split('\n');
        var size = long.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture);
        var root = Convert.FromBase64String(lines[2]);
        Assert.Equal(size, proofs["treeSize"]!.GetValue<long>());

        // Every cited entry is proven: its leaf hash recomputed here from its bytes, its audit path folded to the signed root.
        var cited = document["ledger"]!.AsArray().ToDictionary(l => l!["index"]!.GetValue<long>(), l => l!["leafHash"]!.GetValue<string>());
        var proven = proofs["entries"]!.AsArray();
        Assert.Equal(cited.Keys.Order(), proven.Select(p => p!["ledgerIndex"]!.GetValue<long>()));
        foreach (var entry in proven)
        {
            var index = entry!["ledgerIndex"]!.GetValue<long>();
            var canonical = entry["canonical"]!.GetValue<string>();
            Assert.StartsWith($"{{\"index\":{index},", canonical);
            var leaf = SHA256.HashData([0x00, .. Encoding.UTF8.GetBytes(canonical)]);
            Assert.Equal(cited[index], Convert.ToBase64String(leaf));
            Assert.True(Merkle.VerifyInclusion(leaf, index, size, [.. entry["auditPath"]!.AsArray().Select(p => Convert.FromBase64String(p!.GetValue<string>()))], root),
                $"entry {index} does not verify against the checkpoint");
        }
    }

    [ProviderTheory, Providers]
    public async Task Unknown_people_are_not_found_bad_queries_are_refused_and_other_organisations_stay_hidden(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (a, b) = (HubApp.Unique("tgb"), HubApp.Unique("tgb"));
        var crm = await app.RegisterSourceSystemAsync(a, "toyota", "crm");
        await app.RegisterSourceSystemAsync(b, "toyota", "crm");
        using (var asCrm = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", People.Email))).StatusCode);
        using var dpo = await People.AsDpoAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", a));

        Assert.Equal(HttpStatusCode.NotFound, (await dpo.GetAsync($"/nmscs/{a}/subject-access?email=nobody%40example.com")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dpo.GetAsync($"/nmscs/{b}/subject-access?email=jane.doe%40example.com")).StatusCode);
        foreach (var (query, field, rule) in new[]
                 {
                     ("", "email", "one-criterion-required"),
                     ("?email=jane.doe%40example.com&phone=%2B447700900123", "body", "one-criterion-only"),
                     ("?email=jane.doe%40example.com&format=xml", "format", "format"),
                     ("?context=toyota&sourceSystem=crm", "sourceCustomerId", "required"),
                 })
        {
            var response = await dpo.GetAsync($"/nmscs/{a}/subject-access{query}");
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query}: {problem}");
            Assert.Contains(problem["violations"]!.AsArray(), v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        }
        using var scope = app.Scope();
        Assert.False(await app.Db(scope).LedgerEntries.AnyAsync(e => e.Type == "subject-access" && e.Payload.Contains(b)));
    }
}
