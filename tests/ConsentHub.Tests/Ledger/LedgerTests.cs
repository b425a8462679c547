using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Ledger;

public sealed class LedgerTests
{
    [ProviderTheory, Providers]
    public async Task Every_event_is_chained_and_the_chain_verifies(DatabaseProvider provider)
    {
        // No validation worker: its "validation-sent" entry would race the listing below.
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Validation:WorkerEnabled"] = "false" });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "cust-123", Seed.Customer123)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await HubApp.SubmitAsync(client, crm, "cust-9", Seed.Consent("OFFERS", true, validated: false))).StatusCode);
        using var admin = await app.AdminAsync();

        var page = await Json.ReadAsync(await admin.GetAsync("/ledger/entries?from=0&limit=1000"));
        var types = page["entries"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Equal(
            ["admin-bootstrapped", "organisation-registered", "context-registered", "source-system-registered",
             "change-requested", "change-applied", "change-requested"],
            types);
        var entries = page["entries"]!.AsArray();
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(i, entries[i]!["index"]!.GetValue<long>());
            if (i > 0) Assert.Equal(entries[i - 1]!["hash"]!.GetValue<string>(), entries[i]!["prevHash"]!.GetValue<string>());
        }
        // Personal data stays out of the ledger: it holds a hash of the request, not the email.
        Assert.DoesNotContain("test@toyota.com", page.ToJsonString());

        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.True(verify["valid"]!.GetValue<bool>());
        Assert.Equal(7, verify["entries"]!.GetValue<long>());
    }

    [ProviderTheory, Providers]
    public async Task Entries_are_paginated_in_index_order(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var admin = await app.AdminAsync();

        var first = await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=2"));
        Assert.Equal([0L, 1L], first["entries"]!.AsArray().Select(e => e!["index"]!.GetValue<long>()));
        var next = first["_links"]!["next"]!["href"]!.GetValue<string>();
        var second = await Json.ReadAsync(await admin.GetAsync(next));
        Assert.Equal([2L, 3L], second["entries"]!.AsArray().Select(e => e!["index"]!.GetValue<long>()));
        Assert.Null(second["_links"]!["next"]);

        var bad = await admin.GetAsync("/ledger/entries?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("limit", (await Json.ReadAsync(bad))["violations"]![0]!["field"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task A_row_altered_by_hand_is_named_by_its_index_over_http_and_on_the_command_line(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        await HubApp.AppliedAsync(client, crm, "cust-123", Seed.Customer123);
        await HubApp.AppliedAsync(client, crm, "cust-124", Seed.Consent("EVENTS", true));
        var valid = await LedgerCli.RunAsync(app, "ledger", "verify");
        Assert.Equal(0, valid.Exit);
        Assert.Matches(@"^ledger valid: \d+ entries verified\n$", valid.Output);

        // Turn the first applied change's flag around, as someone with database access might.
        await ExecuteAsync(app, """UPDATE ledger_entries SET "Payload" = replace("Payload", 'true', 'false') WHERE "Index" = 5""");

        using var admin = await app.AdminAsync();
        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.False(verify["valid"]!.GetValue<bool>());
        Assert.Equal(5, verify["firstBadIndex"]!.GetValue<long>());
        Assert.Contains("altered", verify["reason"]!.GetValue<string>());
        var invalid = await LedgerCli.RunAsync(app, "ledger", "verify");
        Assert.Equal(1, invalid.Exit);
        Assert.StartsWith("ledger INVALID at index 5: ", invalid.Output);
        Assert.Contains("altered", invalid.Output);
    }

    [ProviderTheory, Providers]
    public async Task A_deleted_entry_is_named(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");

        await ExecuteAsync(app, """DELETE FROM ledger_entries WHERE "Index" = 2""");

        using var admin = await app.AdminAsync();
        var verify = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.False(verify["valid"]!.GetValue<bool>());
        Assert.Equal(2, verify["firstBadIndex"]!.GetValue<long>());
        Assert.Contains("missing", verify["reason"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task Concurrent_writers_on_two_instances_get_gapless_strictly_ordered_entries(DatabaseProvider provider)
    {
        await using var first = await HubApp.StartAsync(provider);
        await using var second = first.SecondInstance();
        var systems = new List<SourceSystemCredentials>();
        for (var i = 0; i < 4; i++) systems.Add(await first.RegisterSourceSystemAsync("tgb", "toyota", $"system-{i}"));
        var clients = new List<(HttpClient Client, SourceSystemCredentials System)>();
        foreach (var (system, i) in systems.Select((s, i) => (s, i)))
            clients.Add((await (i % 2 == 0 ? first : second).AsAsync(system), system));

        const int perClient = 25;
        var responses = await Task.WhenAll(clients.SelectMany(c => Enumerable.Range(0, perClient).Select(n =>
            HubApp.SubmitAsync(c.Client, c.System, $"customer-{n % 5}", Seed.Consent("OFFERS", n % 2 == 0, $"2024-01-01T10:00:{n:00}Z")))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        // Each instance commits the changes that reach it together in groups (a hundred at once: some groups hold several).
        var committed = new[] { first, second }.Select(a => a.Services.GetRequiredService<GroupCommit>().Committed).ToList();
        Assert.Equal(2 * 2 * perClient, committed.Sum(c => c.Changes));
        Assert.True(committed.Sum(c => c.Groups) < committed.Sum(c => c.Changes), $"groups {string.Join(", ", committed)}");
        using var scope = first.Scope();
        var db = first.Db(scope);
        var indices = await db.LedgerEntries.OrderBy(e => e.Index).Select(e => e.Index).ToListAsync();
        Assert.Equal(Enumerable.Range(0, indices.Count).Select(i => (long)i), indices);
        Assert.Equal(1 + 2 + 4 + 2 * 4 * perClient, indices.Count);
        var verification = await LedgerVerifier.VerifyAsync(db, CancellationToken.None);
        Assert.True(verification.Valid, verification.Reason);
        foreach (var (client, _) in clients) client.Dispose();
    }

    static async Task ExecuteAsync(HubApp app, string sql)
    {
        using var scope = app.Scope();
        await app.Db(scope).Database.ExecuteSqlRawAsync(sql);
    }
}
