using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Ledger;

/// <summary>The Merkle tree over the ledger, signed checkpoints, proofs over HTTP, and the offline verifier catching tampering.</summary>
public sealed class VerifiableLedgerTests
{
    static readonly Dictionary<string, string?> NoWorkers = new()
    {
        ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
    };

    /// <summary>A hub with some history and a signed checkpoint over it.</summary>
    static async Task<(HubApp App, string Key)> HistoryAsync(DatabaseProvider provider, int customers = 4)
    {
        var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm))
        {
            for (var i = 0; i < customers; i++)
                Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, $"c-{i}", Seed.Consent("OFFERS", i % 2 == 0))).StatusCode);
        }
        await IssueAsync(app);
        using var anonymous = app.CreateClient();
        var key = (await Json.ReadAsync(await anonymous.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        return (app, key);
    }

    static async Task<LedgerCheckpoint?> IssueAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(CancellationToken.None);
    }

    [PostgresOnly]
    public async Task Instances_signing_at_the_same_moment_make_one_checkpoint_per_size_and_agree_on_it()
    {
        await using var first = await HubApp.StartAsync(DatabaseProvider.Postgres, NoWorkers);
        await using var second = first.SecondInstance(NoWorkers);
        const int rounds = 8;
        for (var round = 0; round < rounds; round++)
        {
            // The ledger grows, then both instances sign at once, twice each.
            await first.RegisterSourceSystemAsync("tgb", "toyota", $"system-{round}");
            var issued = await Task.WhenAll(IssueAsync(first), IssueAsync(second), IssueAsync(first), IssueAsync(second));
            Assert.All(issued, c => Assert.NotNull(c));
            Assert.Single(issued.Select(c => (c!.Size, c.Note)).Distinct());
        }
        using var scope = first.Scope();
        var db = first.Db(scope);
        var sizes = await db.LedgerCheckpoints.Select(c => c.Size).OrderBy(s => s).ToListAsync();
        Assert.Equal(rounds, sizes.Count);
        Assert.Equal(sizes.Distinct(), sizes);
        Assert.Equal(await db.LedgerEntries.CountAsync(), sizes[^1]);
    }

    static async Task<LedgerCheckResult> CheckAsync(HubApp app, string key, string? since = null)
    {
        using var admin = await app.AdminAsync();
        using var source = LedgerSource.Remote(admin);
        return await LedgerCheck.RunAsync(source, key, since, null, CancellationToken.None);
    }

    static async Task ExecuteAsync(HubApp app, string sql)
    {
        using var scope = app.Scope();
        await app.Db(scope).Database.ExecuteSqlRawAsync(sql);
    }

    [ProviderTheory, Providers]
    public async Task An_intact_ledger_verifies_offline_with_the_auditors_key(DatabaseProvider provider)
    {
        var (app, key) = await HistoryAsync(provider);
        await using var owned = app;
        var result = await CheckAsync(app, key);
        Assert.Null(result.Fault);
        Assert.Contains(result.Checked, l => l.StartsWith("checkpoint  signature OK", StringComparison.Ordinal));
        Assert.Contains(result.Checked, l => l.StartsWith("tree", StringComparison.Ordinal));

        // Another key, even a well-formed one for the same name, is not this hub's.
        var (_, otherPublic) = SignedNote.NewKeyPair();
        var wrong = await CheckAsync(app, SignedNote.VerifierKey("consenthub.local/ledger", otherPublic));
        Assert.Equal(LedgerFaults.BadSignature, wrong.Fault!.Kind);
    }

    [ProviderTheory, Providers]
    public async Task Proofs_served_over_http_verify_against_the_signed_checkpoint(DatabaseProvider provider)
    {
        var (app, key) = await HistoryAsync(provider, customers: 6);
        await using var owned = app;
        using var admin = await app.AdminAsync();
        var checkpoint = await Json.ReadAsync(await admin.GetAsync("/ledger/checkpoint"));
        var size = checkpoint["size"]!.GetValue<long>();
        var body = CheckpointBody.Parse(SignedNote.Open(checkpoint["note"]!.GetValue<string>(), key, out _)!)!;
        Assert.Equal(size, body.Size);
        Assert.Equal(checkpoint["rootHash"]!.GetValue<string>(), Convert.ToBase64String(body.RootHash));

        for (long index = 0; index < size; index++)
        {
            var entry = await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{index}"));
            // The leaf hash is recomputed here from the canonical bytes, not taken on trust.
            var leaf = Merkle.LeafHash(Encoding.UTF8.GetBytes(entry["canonical"]!.GetValue<string>()));
            Assert.Equal(entry["leafHash"]!.GetValue<string>(), Convert.ToBase64String(leaf));
            var proof = await Json.ReadAsync(await admin.GetAsync($"/ledger/proofs/inclusion?index={index}&treeSize={size}"));
            var path = proof["auditPath"]!.AsArray().Select(p => Convert.FromBase64String(p!.GetValue<string>())).ToList();
            Assert.True(Merkle.VerifyInclusion(leaf, index, size, path, body.RootHash), $"inclusion of {index} in {size}");
            Assert.False(Merkle.VerifyInclusion(leaf, index, size, path, Merkle.EmptyRoot));
        }

        // More history, a second checkpoint, and a consistency proof between the two.
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await IssueAsync(app);
        var later = await Json.ReadAsync(await admin.GetAsync("/ledger/checkpoint"));
        var laterSize = later["size"]!.GetValue<long>();
        Assert.True(laterSize > size);
        var consistency = await Json.ReadAsync(await admin.GetAsync($"/ledger/proofs/consistency?from={size}&to={laterSize}"));
        var steps = consistency["proof"]!.AsArray().Select(p => Convert.FromBase64String(p!.GetValue<string>())).ToList();
        Assert.True(Merkle.VerifyConsistency(size, laterSize, body.RootHash, Convert.FromBase64String(later["rootHash"]!.GetValue<string>()), steps));
        var history = await Json.ReadAsync(await admin.GetAsync("/ledger/checkpoints"));
        Assert.Equal([size, laterSize], history["checkpoints"]!.AsArray().Select(c => c!["size"]!.GetValue<long>()));

        foreach (var bad in new[] { "/ledger/proofs/inclusion?index=x", $"/ledger/proofs/inclusion?index={laterSize + 5}",
                     "/ledger/proofs/inclusion?index=0&treeSize=0", "/ledger/proofs/consistency?from=0&to=1", $"/ledger/proofs/consistency?from=3&to={laterSize + 1}" })
        {
            var refused = await admin.GetAsync(bad);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{bad}: {(int)refused.StatusCode}");
            Assert.NotNull((await Json.ReadAsync(refused))["violations"]![0]!["rule"]);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/ledger/entries/{laterSize + 100}")).StatusCode);
    }

    public static TheoryData<DatabaseProvider, string> Tampering()
    {
        var data = new TheoryData<DatabaseProvider, string>();
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
            foreach (var kind in new[] { "alter", "delete", "insert", "swap", "signature", "rewrite" })
                data.Add(provider, kind);
        return data;
    }

    [ProviderTheory, MemberData(nameof(Tampering))]
    public async Task Tampering_through_the_database_is_caught_and_named(DatabaseProvider provider, string tampering)
    {
        var (app, key) = await HistoryAsync(provider, customers: 5);
        await using var owned = app;
        Assert.Null((await CheckAsync(app, key)).Fault);
        const int target = 6;
        var (kind, index) = tampering switch
        {
            "alter" => await AlterAsync(app, target),
            "delete" => await DeleteAsync(app, target),
            "insert" => await InsertAsync(app, target),
            "swap" => await SwapAsync(app, target, target + 3),
            "signature" => await ReplaceSignatureAsync(app),
            _ => await RewriteAsync(app, target),
        };

        var result = await CheckAsync(app, key);
        Assert.NotNull(result.Fault);
        Assert.Equal(kind, result.Fault!.Kind);
        Assert.Equal(index, result.Fault.Index);

        // The hub's own check agrees (a bad checkpoint signature is the auditor's to find: the hub re-reads its own rows).
        using var admin = await app.AdminAsync();
        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.False(verify["valid"]!.GetValue<bool>());
    }

    static async Task<(string, long)> AlterAsync(HubApp app, long index)
    {
        await ExecuteAsync(app, $"""UPDATE ledger_entries SET "Payload" = replace("Payload", '"', ' "') WHERE "Index" = {index}""");
        return (LedgerFaults.Altered, index);
    }

    static async Task<(string, long)> DeleteAsync(HubApp app, long index)
    {
        await ExecuteAsync(app, $"""DELETE FROM ledger_entries WHERE "Index" = {index}""");
        return (LedgerFaults.Missing, index);
    }

    /// <summary>A forged entry, correctly chained, slipped in at <paramref name="index"/>; the later ones renumbered.</summary>
    static async Task<(string, long)> InsertAsync(HubApp app, long index)
    {
        await ExecuteAsync(app, $"""UPDATE ledger_entries SET "Index" = "Index" + 1000000 WHERE "Index" >= {index}""");
        await ExecuteAsync(app, $"""UPDATE ledger_entries SET "Index" = "Index" - 999999 WHERE "Index" >= 1000000""");
        using var scope = app.Scope();
        var db = app.Db(scope);
        var before = await db.LedgerEntries.AsNoTracking().SingleAsync(e => e.Index == index - 1);
        var forged = new LedgerEntry
        {
            Index = index, Type = "change-applied", Timestamp = before.Timestamp, Payload = """{"forged":true}""", PrevHash = before.Hash, Hash = "",
        };
        forged.Hash = LedgerHash.Of(forged);
        db.LedgerEntries.Add(forged);
        await db.SaveChangesAsync();
        return (LedgerFaults.Inserted, index);
    }

    static async Task<(string, long)> SwapAsync(HubApp app, long a, long b)
    {
        await ExecuteAsync(app, $"""UPDATE ledger_entries SET "Index" = -1 WHERE "Index" = {a}""");
        await ExecuteAsync(app, $"""UPDATE ledger_entries SET "Index" = {a} WHERE "Index" = {b}""");
        await ExecuteAsync(app, $"""UPDATE ledger_entries SET "Index" = {b} WHERE "Index" = -1""");
        return (LedgerFaults.Reordered, a);
    }

    static async Task<(string, long)> ReplaceSignatureAsync(HubApp app)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        var checkpoint = await db.LedgerCheckpoints.OrderByDescending(c => c.Size).FirstAsync();
        // Re-signed with a key of the same name that is not the hub's.
        var (forger, _) = SignedNote.NewKeyPair();
        checkpoint.Note = SignedNote.Sign(new CheckpointBody("consenthub.local/ledger", checkpoint.Size, checkpoint.RootHash).Text, "consenthub.local/ledger", forger);
        await db.SaveChangesAsync();
        return (LedgerFaults.BadSignature, -1);
    }

    /// <summary>Every entry from <paramref name="index"/> on rewritten with a fresh, self-consistent chain: only the tree gives it away.</summary>
    static async Task<(string, long)> RewriteAsync(HubApp app, long index)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        var entries = await db.LedgerEntries.OrderBy(e => e.Index).ToListAsync();
        var previous = entries[(int)index - 1].Hash;
        foreach (var entry in entries.Skip((int)index))
        {
            if (entry.Index == index) entry.Payload = entry.Payload.Replace("true", "false");
            entry.PrevHash = previous;
            entry.Hash = LedgerHash.Of(entry);
            previous = entry.Hash;
        }
        var head = await db.LedgerHeads.SingleAsync();
        head.LastHash = previous;
        await db.SaveChangesAsync();
        var size = await db.LedgerCheckpoints.MaxAsync(c => c.Size);
        return (LedgerFaults.InconsistentCheckpoint, size - 1);
    }

    [ProviderTheory, Providers]
    public async Task An_auditor_with_a_saved_checkpoint_catches_rewritten_history_even_under_a_fresh_signature(DatabaseProvider provider)
    {
        var (app, key) = await HistoryAsync(provider);
        await using var owned = app;
        var saved = (await CheckAsync(app, key)).CheckpointNote;

        await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await IssueAsync(app);
        var later = await CheckAsync(app, key, saved);
        Assert.Null(later.Fault);
        Assert.Contains(later.Checked, l => l.StartsWith("since", StringComparison.Ordinal) && l.Contains("consistency proof verifies", StringComparison.Ordinal));

        // Someone with database access rewrites entry 1 onwards (chain, tree and head all made consistent), and the hub
        // then signs a checkpoint of the rewritten log. Only the auditor's saved checkpoint can tell.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var entries = await db.LedgerEntries.OrderBy(e => e.Index).ToListAsync();
            var previous = entries[0].Hash;
            var frontier = new List<byte[]>();
            db.LedgerTreeNodes.RemoveRange(await db.LedgerTreeNodes.ToListAsync());
            db.LedgerCheckpoints.RemoveRange(await db.LedgerCheckpoints.ToListAsync());
            await db.SaveChangesAsync();
            foreach (var entry in entries)
            {
                if (entry.Index >= 1)
                {
                    if (entry.Index == 1)
                    {
                        Assert.Contains("tgb", entry.Payload); // organisation-registered
                        entry.Payload = entry.Payload.Replace("tgb", "tgX");
                    }
                    entry.PrevHash = previous;
                    entry.Hash = LedgerHash.Of(entry);
                    previous = entry.Hash;
                }
                var grown = MerkleFrontier.Append(frontier, entry.Index, LedgerHash.LeafOf(entry));
                frontier = grown.Frontier;
                db.LedgerTreeNodes.AddRange(grown.Nodes.Select(n => new LedgerTreeNode { Level = n.Level, Index = n.Index, Hash = n.Hash }));
            }
            var head = await db.LedgerHeads.SingleAsync();
            head.LastHash = previous;
            head.Frontier = MerkleFrontier.Serialize(frontier);
            await db.SaveChangesAsync();
        }
        await IssueAsync(app);
        Assert.Null((await CheckAsync(app, key)).Fault);
        var caught = await CheckAsync(app, key, saved);
        Assert.Equal(LedgerFaults.InconsistentCheckpoint, caught.Fault!.Kind);
    }

    [ProviderTheory, Providers]
    public async Task The_command_line_verifies_a_running_hub_and_an_exported_directory(DatabaseProvider provider)
    {
        var port = HubApp.FreePort();
        await using var app = await HubApp.StartAsync(provider, NoWorkers, kestrelPort: port);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            await HubApp.AppliedAsync(client, crm, "cust-123", Seed.Customer123);
        await IssueAsync(app);
        using var admin = await app.AdminAsync();
        var token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        var key = (await Json.ReadAsync(await admin.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        var url = $"http://127.0.0.1:{port}";
        var directory = Directory.CreateTempSubdirectory("ledger-export-").FullName;
        var saved = Path.Combine(directory, "saved-checkpoint.txt");

        var remote = await LedgerCli.RunAsync(app, "ledger", "verify", "--url", url, "--token", token, "--public-key", key, "--save", saved);
        Assert.Equal(0, remote.Exit);
        Assert.EndsWith("ledger valid\n", remote.Output);
        Assert.StartsWith("consenthub.local/ledger\n", await File.ReadAllTextAsync(saved));
        var export = await LedgerCli.RunAsync(app, "ledger", "export", "--url", url, "--token", token, "--out", directory);
        Assert.Equal(0, export.Exit);
        var exported = File.ReadLines(Path.Combine(directory, "entries.txt")).Count();
        Assert.Equal($"exported {exported} entries and the latest checkpoint to {directory}\n", export.Output);
        var offline = await LedgerCli.RunAsync(app, "ledger", "verify", "--dir", directory, "--public-key", key, "--since", saved);
        Assert.Equal(0, offline.Exit);
        Assert.EndsWith("ledger valid\n", offline.Output);
        var misused = await LedgerCli.RunAsync(app, "ledger", "verify", "--url", url, "--public-key", "not-a-key");
        Assert.Equal(2, misused.Exit);
        Assert.Contains("--public-key", misused.Error);
        Assert.Equal("", misused.Output);

        await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await IssueAsync(app);
        Assert.Equal(0, (await LedgerCli.RunAsync(app, "ledger", "verify", "--url", url, "--token", token, "--public-key", key, "--since", saved)).Exit);
        using (var scope = app.Scope())
            await app.Db(scope).Database.ExecuteSqlRawAsync("""UPDATE ledger_entries SET "Payload" = replace("Payload", 'tgb', 'tgx') WHERE "Index" = 3""");
        var altered = await LedgerCli.RunAsync(app, "ledger", "verify", "--url", url, "--token", token, "--public-key", key, "--since", saved);
        Assert.Equal(1, altered.Exit);
        Assert.Contains("ledger INVALID at index 3: ", altered.Output);
    }

    [ProviderTheory, Providers]
    public async Task A_point_in_time_answer_comes_with_proofs_an_auditor_checks_without_trusting_the_server(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using (var admin = await app.AdminAsync())
            await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(admin, "/nmscs/tgb/clusters/p-1", new
            {
                members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-9" } },
            });
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        var first = await Json.ReadAsync(await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z")));
        var second = await Json.ReadAsync(await HubApp.SubmitAsync(asDms, dms, "d-9", Seed.Consent("SURVEYS", false, "2024-01-02T10:00:00Z")));
        await Task.Delay(20);
        var at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        await Task.Delay(20);
        // Applied after the instant asked about: neither in the answer nor among its proven entries.
        await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("EVENTS", true, "2024-01-03T10:00:00Z"));
        using var anonymous = app.CreateClient();
        var key = (await Json.ReadAsync(await anonymous.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();

        var answer = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + $"?at={at}&proof=true"));
        var proof = answer["proof"]!;
        var body = CheckpointBody.Parse(SignedNote.Open(proof["checkpoint"]!.GetValue<string>(), key, out var error) ?? throw new Xunit.Sdk.XunitException(error))!;
        Assert.Equal(body.Size, proof["treeSize"]!.GetValue<long>());
        var entries = proof["entries"]!.AsArray();
        Assert.Equal(2, entries.Count);
        var canonicals = new List<string>();
        foreach (var entry in entries)
        {
            var canonical = entry!["canonical"]!.GetValue<string>();
            var leaf = Merkle.LeafHash(Encoding.UTF8.GetBytes(canonical));
            var path = entry["auditPath"]!.AsArray().Select(p => Convert.FromBase64String(p!.GetValue<string>())).ToList();
            Assert.True(Merkle.VerifyInclusion(leaf, entry["ledgerIndex"]!.GetValue<long>(), body.Size, path, body.RootHash));
            Assert.Contains("\"type\":\"change-applied\"", canonical);
            canonicals.Add(canonical);
        }
        // The answer's consents come from exactly these proven entries, one per record of the cluster.
        Assert.Contains(canonicals, c => c.Contains(first["id"]!.GetValue<string>(), StringComparison.Ordinal) && c.Contains("\"OFFERS\"", StringComparison.Ordinal));
        Assert.Contains(canonicals, c => c.Contains(second["id"]!.GetValue<string>(), StringComparison.Ordinal) && c.Contains("\"SURVEYS\"", StringComparison.Ordinal));
        Assert.Equal(["OFFERS", "SURVEYS"], answer["consent"]!["consentAttributes"]!.AsArray().Select(c => c!["consentCode"]!.GetValue<string>()));

        Assert.Null((await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + $"?at={at}")))["proof"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + "?proof=true")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + $"?at={at}&proof=maybe")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Leaves_hold_keyed_commitments_to_personal_data_and_destroying_the_key_leaves_every_proof_valid(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using (var client = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "cust-123", Seed.Customer123)).StatusCode);
        await IssueAsync(app);
        using var admin = await app.AdminAsync();
        var ledgerText = await (await admin.GetAsync("/ledger/export")).Content.ReadAsStringAsync();
        // Neither the address nor a plain (guessable) hash of it is in the ledger.
        Assert.DoesNotContain("test@toyota.com", ledgerText);
        Assert.DoesNotContain(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("test@toyota.com"))), ledgerText);

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var customer = await db.Customers.SingleAsync(c => c.SourceCustomerId == "cust-123");
            var request = await db.ChangeRequests.SingleAsync(c => c.CustomerId == customer.Id);
            var key = await scope.ServiceProvider.GetRequiredService<PersonKeys>().ForAsync(customer.Id, CancellationToken.None);
            var entry = await db.LedgerEntries.SingleAsync(e => e.Index == request.Sequence);
            var commitment = JsonNode.Parse(entry.Payload)!["dataCommitment"]!.GetValue<string>();
            // Whoever holds the key can open the request as it was sent and show what was committed to; the
            // commitment is an HMAC under the person's key.
            var sent = await scope.ServiceProvider.GetRequiredService<PersonalDataVault>().RequestDataAsync(request, CancellationToken.None);
            Assert.Equal("test@toyota.com", sent.Consent!.CommunicationAttributes!.Email);
            var sentJson = System.Text.Json.JsonSerializer.Serialize(sent, SubscriptionChanges.StoredJson);
            Assert.Equal(PersonKeys.Commit(key, sentJson), commitment);
            Assert.NotEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(sentJson))), commitment);

            // Erasure by key destruction: the key is gone, the ledger and all its proofs stay valid.
            await db.PersonKeys.Where(k => k.CustomerId == customer.Id).ExecuteDeleteAsync();
        }
        var key2 = (await Json.ReadAsync(await admin.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        Assert.Null((await CheckAsync(app, key2)).Fault);
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [PostgresOnly]
    public async Task Eight_writers_append_four_thousand_entries_into_one_consistent_tree()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres, NoWorkers);
        // 4,000 entries keep many checkpoints landing between concurrent appends; 10,000 took 80 s of the suite.
        const int writers = 8, each = 500;
        var checkpointing = true;
        var signer = Task.Run(async () =>
        {
            while (Volatile.Read(ref checkpointing))
            {
                await IssueAsync(app);
                await Task.Delay(100);
            }
        });
        await Parallel.ForAsync(0, writers, async (w, ct) =>
        {
            for (var i = 0; i < each; i++)
            {
                using var scope = app.Scope();
                var ledger = scope.ServiceProvider.GetRequiredService<LedgerWriter>();
                await using var transaction = await ledger.BeginAsync(ct);
                ledger.Append("test-entry", new { writer = w, n = i });
                await app.Db(scope).SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
            }
        });
        Volatile.Write(ref checkpointing, false);
        await signer;
        await IssueAsync(app);

        using var admin = await app.AdminAsync();
        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.True(verify["valid"]!.GetValue<bool>(), verify.ToJsonString());
        Assert.True(verify["entries"]!.GetValue<long>() >= writers * each);
        var key = (await Json.ReadAsync(await admin.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        using var scope2 = app.Scope();
        var db = app.Db(scope2);
        var checkpoints = await db.LedgerCheckpoints.AsNoTracking().OrderBy(c => c.Size).ToListAsync();
        Assert.True(checkpoints.Count > 2);
        var nodes = new StoredMerkleNodes(db);
        for (var i = 1; i < checkpoints.Count; i++)
        {
            var (a, b) = (checkpoints[i - 1], checkpoints[i]);
            Assert.NotNull(SignedNote.Open(b.Note, key, out _));
            var proof = await Merkle.ConsistencyProofAsync(nodes, a.Size, b.Size, CancellationToken.None);
            Assert.True(Merkle.VerifyConsistency(a.Size, b.Size, a.RootHash, b.RootHash, proof), $"{a.Size} → {b.Size}");
        }
        Assert.Null((await CheckAsync(app, key)).Fault);
    }
}
