using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Consents;

/// <summary>
/// Changes that arrive at one instance at the same moment are committed together (<see cref="GroupCommit"/>): one
/// transaction and one update of the ledger head for the group, in arrival order, and a change that fails fails alone.
/// Each test holds the ledger lock itself while changes queue, so the groups it asserts are certain, not likely; those
/// that count groups run one committer, so that every change queues behind the one waiting for the lock.
/// </summary>
public sealed class GroupCommitTests
{
    static readonly Dictionary<string, string?> OneCommitter = new() { ["ConsentHub:Ledger:GroupCommitters"] = "1" };

    [ProviderTheory, Providers]
    public async Task Changes_that_arrive_together_commit_in_groups_with_one_head_update_each_in_arrival_order(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, OneCommitter);
        var (system, client, groups) = await ArrangeAsync(app);
        using var _ = client;
        var before = groups.Committed;

        // Eleven changes queue behind a first one that waits for the ledger lock: five of one customer, six of others.
        var sent = new List<(string Customer, bool Flag)> { ("first", true) };
        for (var i = 1; i <= 11; i++) sent.Add((i % 2 == 0 ? "same" : $"other-{i}", i % 4 != 0));
        var answers = await QueueBehindTheLedgerLockAsync(app, groups, sent.Select((s, i) => (Func<Task<HttpResponseMessage>>)(() =>
            HubApp.SubmitAsync(client, system, s.Customer, Seed.Consent("OFFERS", s.Flag, $"2024-01-01T10:00:{i:00}Z")))).ToList());

        var indexes = new List<long>();
        foreach (var ((customer, _), answer) in sent.Zip(answers))
        {
            var response = await answer;
            var body = await Json.ReadAsync(response);
            Assert.True(HttpStatusCode.Created == response.StatusCode, $"{customer}: {(int)response.StatusCode} {body}");
            indexes.Add(body["ledgerIndex"]!.GetValue<long>());
        }
        // The first alone, then the eleven in groups, each ending before a second change of "same" (a group reads each
        // record once): [other-1, same, other-3], [same, other-5], [same, other-7], [same, other-9], [same, other-11].
        // Six commits, six updates of the head.
        var after = groups.Committed;
        Assert.Equal((6L, 12L), (after.Groups - before.Groups, after.Changes - before.Changes));
        Assert.Equal(6, await HeadUpdatesAsync(app));
        // In arrival order: each change's "change-requested" entry comes after the one sent before it.
        Assert.Equal(indexes.Order().ToList(), indexes);
        // The customer's state is its last change sent (the last of "same" gave, the one before it withdrew).
        var same = await client.GetAsync(HubApp.SubscriptionDataPath(system, "same"));
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        var offers = (await Json.ReadAsync(same))["consent"]!["consentAttributes"]!.AsArray().Single(c => c!["consentCode"]!.GetValue<string>() == "OFFERS")!;
        Assert.Equal(sent.Last(s => s.Customer == "same").Flag, offers["consentFlag"]!.GetValue<bool>());

        await LedgerVerifiesAsync(app);
    }

    /// <summary>
    /// A group's round trips do not grow with its size: its records are locked and read in one batch, and each reaction
    /// (the cluster a record is in, what was last sent to it) reads once for the whole group, where every change read
    /// its own record, cluster and values before.
    /// </summary>
    [PostgresOnly]
    public async Task A_group_locks_and_reads_its_records_in_one_round_trip_and_its_reactions_read_once_for_all_of_them()
    {
        // The workers that poll the database are off, so that what is traced is the changes' own work.
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres, new(OneCommitter)
        {
            ["ConsentHub:Validation:WorkerEnabled"] = "false",
            ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
            ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
            ["ConsentHub:Replicas:Enabled"] = "false",
        });
        var (system, client, groups) = await ArrangeAsync(app);
        using var _ = client;
        var known = Enumerable.Range(1, 8).Select(i => $"known-{i}").ToList();
        foreach (var customer in known.Prepend("first"))
        {
            var created = await HubApp.SubmitAsync(client, system, customer, Seed.Consent("OFFERS", false));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        await app.NoticesHeardAsync();
        var before = groups.Committed;

        using var commands = NpgsqlCommands.Trace(app);
        // The first change waits for the ledger lock alone; the eight queue behind it and commit as one group.
        var answers = await QueueBehindTheLedgerLockAsync(app, groups, [.. known.Prepend("first").Select(customer => (Func<Task<HttpResponseMessage>>)(() =>
            HubApp.SubmitAsync(client, system, customer, Seed.Consent("OFFERS", true, "2024-01-02T10:00:00Z"))))]);
        foreach (var answer in answers) Assert.Equal(HttpStatusCode.Created, (await answer).StatusCode);
        var after = groups.Committed;
        Assert.Equal((2L, 9L), (after.Groups - before.Groups, after.Changes - before.Changes));

        var sent = commands.Sent;
        var listed = string.Join("\n", commands.FirstLines);
        var recordBatches = sent.Where(sql => sql.Contains("FOR UPDATE", StringComparison.Ordinal) && sql.Contains("FROM customers c", StringComparison.Ordinal)).ToList();
        // The first change's record in a batch of its own, the group's eight in one: two, where there were nine.
        Assert.True(recordBatches.Count == 2, $"{recordBatches.Count} record batches:\n{listed}");
        Assert.Equal([1, 8], recordBatches.Select(sql => Occurrences(sql, "FROM customers c")).Order());
        // The cluster each record is in: once for the lone change, once for the group (nine before).
        var clusterReads = sent.Count(sql => sql.Contains("cluster_members", StringComparison.Ordinal));
        Assert.True(clusterReads == 2, $"{clusterReads} reads of cluster_members:\n{listed}");

        await LedgerVerifiesAsync(app);
    }

    static int Occurrences(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    [ProviderTheory, Providers]
    public async Task A_change_that_fails_in_a_group_fails_alone_and_the_others_of_its_group_commit(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, OneCommitter);
        var (system, client, groups) = await ArrangeAsync(app);
        using var _ = client;
        // The database refuses one record (as a full disk or a broken constraint would): a failure no retry mends.
        await ExecuteAsync(app, provider == DatabaseProvider.Postgres
            ? """
              CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poisoned record'; END $$;
              CREATE TRIGGER test_poison BEFORE INSERT ON customers FOR EACH ROW WHEN (NEW."SourceCustomerId" = 'poison') EXECUTE FUNCTION test_poison();
              """
            : """CREATE TRIGGER test_poison BEFORE INSERT ON customers WHEN NEW.SourceCustomerId = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned record'); END;""");
        var before = groups.Committed;

        string[] customers = ["first", "good-1", "poison", "good-2", "good-3"];
        var answers = await QueueBehindTheLedgerLockAsync(app, groups, customers.Select(c => (Func<Task<HttpResponseMessage>>)(() =>
            HubApp.SubmitAsync(client, system, c, Seed.Consent("OFFERS", true)))).ToList());

        foreach (var (customer, answer) in customers.Zip(answers))
        {
            var response = await answer;
            var text = await response.Content.ReadAsStringAsync();
            if (customer == "poison")
            {
                // Its own error, as problem details, and nothing of it stored.
                Assert.True(HttpStatusCode.InternalServerError == response.StatusCode, $"{(int)response.StatusCode} {text}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(HubApp.SubscriptionDataPath(system, customer))).StatusCode);
            }
            else
            {
                Assert.True(HttpStatusCode.Created == response.StatusCode, $"{customer}: {(int)response.StatusCode} {text}");
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(HubApp.SubscriptionDataPath(system, customer))).StatusCode);
            }
        }
        // The group was rolled back whole and its changes committed one by one: four commits for the four good changes.
        var after = groups.Committed;
        Assert.Equal((4L, 4L), (after.Groups - before.Groups, after.Changes - before.Changes));
        Assert.Equal(4, await HeadUpdatesAsync(app));
        Assert.Contains(app.Logs.Lines, l => l.Contains("A group of 4 changes could not be committed; each is committed on its own", StringComparison.Ordinal));

        await LedgerVerifiesAsync(app);
    }

    [PostgresOnly]
    public async Task A_group_that_meets_a_row_lock_held_elsewhere_gives_way_and_its_changes_commit_alone()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres, OneCommitter);
        var (system, client, groups) = await ArrangeAsync(app);
        using var _ = client;
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, system, "held", Seed.Consent("OFFERS", true))).StatusCode);
        var before = groups.Committed;

        // A writer holds the record's row until the end: the group waits for it no longer than its lock timeout, so the
        // other changes of the group are not held up with it.
        using var rowScope = app.Scope();
        var rowDb = app.Db(rowScope);
        await using var row = await rowDb.Database.BeginTransactionAsync();
        Assert.Equal(1, await rowDb.Database.SqlQueryRaw<int>(
            "SELECT 1 AS \"Value\" FROM customers WHERE \"SourceCustomerId\" = 'held' FOR UPDATE").CountAsync());
        string[] customers = ["first", "a", "held", "b"];
        var answers = await QueueBehindTheLedgerLockAsync(app, groups, customers.Select((c, i) => (Func<Task<HttpResponseMessage>>)(() =>
            HubApp.SubmitAsync(client, system, c, Seed.Consent("OFFERS", false, $"2024-02-01T10:00:{i:00}Z")))).ToList());

        // The group gave way at once; the changes then commit alone, the held record's once its row is free.
        var gaveWay = await Poll.UntilAsync(() => Task.FromResult(app.Logs.Lines.Any(l => l.Contains("A group of 3 changes met a row lock held elsewhere", StringComparison.Ordinal))),
            seen => seen, TimeSpan.FromSeconds(10));
        Assert.True(gaveWay, "the group did not give way");
        Assert.Equal(HttpStatusCode.Created, (await answers[1]).StatusCode);
        Assert.False(answers[2].IsCompleted, "the held record's change committed while its row was locked");
        await row.RollbackAsync();
        foreach (var (customer, answer) in customers.Zip(answers))
        {
            var response = await answer;
            Assert.True(HttpStatusCode.Created == response.StatusCode, $"{customer}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        var after = groups.Committed;
        Assert.Equal((4L, 4L), (after.Groups - before.Groups, after.Changes - before.Changes));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("could not be committed", StringComparison.Ordinal));
        await LedgerVerifiesAsync(app);
    }

    [ProviderTheory, Providers]
    public async Task A_change_whose_record_is_in_a_cluster_starts_a_group_of_its_own_and_propagates_what_the_one_before_left(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, OneCommitter);
        var (crm, client, groups) = await ArrangeAsync(app);
        using var _ = client;
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using var asDms = await app.AsAsync(dms);
        using (var admin = await app.AdminAsync())
        {
            var cluster = await admin.PutAsJsonAsync("/nmscs/tgb/clusters/person-1", new
            {
                members = new[]
                {
                    new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" },
                    new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-9" },
                },
            });
            Assert.Equal(HttpStatusCode.Created, cluster.StatusCode);
        }
        var before = groups.Committed;

        // Behind the first: a record alone, then both records of the cluster. Each clustered change reads the other
        // record's state, so each starts a group of its own and sees what the one before it committed.
        var answers = await QueueBehindTheLedgerLockAsync(app, groups,
        [
            () => HubApp.SubmitAsync(client, crm, "first", Seed.Consent("OFFERS", true)),
            () => HubApp.SubmitAsync(client, crm, "alone", Seed.Consent("OFFERS", true)),
            () => HubApp.SubmitAsync(client, crm, "c-1", Seed.Consent("OFFERS", false, "2024-03-01T10:00:00Z")),
            () => HubApp.SubmitAsync(asDms, dms, "d-9", Seed.Consent("SURVEYS", true, "2024-03-02T10:00:00Z")),
        ]);
        var ids = new List<Guid>();
        foreach (var answer in answers)
        {
            var response = await answer;
            var body = await Json.ReadAsync(response);
            Assert.True(HttpStatusCode.Created == response.StatusCode, $"{(int)response.StatusCode} {body}");
            ids.Add(Guid.Parse(body["id"]!.GetValue<string>()));
        }
        // Four commits: the group [alone, c-1, d-9] split before c-1 and again before d-9.
        var after = groups.Committed;
        Assert.Equal((4L, 4L), (after.Groups - before.Groups, after.Changes - before.Changes));

        // d-9's change told both records of the cluster only what changed: SURVEYS. OFFERS was sent by c-1's change, which
        // it saw; consolidated, both records now read OFFERS withdrawn and SURVEYS given.
        using var scope = app.Scope();
        var messages = await app.Db(scope).Propagations.Where(p => p.ChangeRequestId == ids[3]).OrderBy(p => p.Position).ToListAsync();
        Assert.Equal(["c-1", "d-9"], messages.Select(m => m.SourceCustomerId).Order().ToList());
        foreach (var message in messages)
        {
            var codes = JsonNode.Parse(message.Payload)!["consent"]!["consentAttributes"]!.AsArray().Select(c => c!["consentCode"]!.GetValue<string>()).ToList();
            Assert.Equal(["SURVEYS"], codes);
        }
        var offersMessages = await app.Db(scope).Propagations.Where(p => p.ChangeRequestId == ids[2]).CountAsync();
        Assert.Equal(2, offersMessages);
        var data = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-9")));
        var flags = data["consent"]!["consentAttributes"]!.AsArray().ToDictionary(c => c!["consentCode"]!.GetValue<string>(), c => c!["consentFlag"]!.GetValue<bool>());
        Assert.False(flags["OFFERS"]);
        Assert.True(flags["SURVEYS"]);
        await LedgerVerifiesAsync(app);
    }

    [PostgresOnly]
    public async Task Two_committers_commit_concurrent_writers_changes_in_each_writers_order_and_the_ledger_verifies()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres, new() { ["ConsentHub:Ledger:GroupCommitters"] = "2" });
        var (system, client, groups) = await ArrangeAsync(app);
        using var _ = client;
        var before = groups.Committed;

        // Eight writers, each sending ten changes of its own record one after another, alternating the flag.
        var writers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async w =>
        {
            var indexes = new List<long>();
            for (var i = 0; i < 10; i++)
            {
                var response = await HubApp.SubmitAsync(client, system, $"w-{w}", Seed.Consent("OFFERS", i % 2 == 0, $"2024-04-01T10:00:{i:00}Z"));
                var body = await Json.ReadAsync(response);
                Assert.True(HttpStatusCode.Created == response.StatusCode, $"{(int)response.StatusCode} {body}");
                indexes.Add(body["ledgerIndex"]!.GetValue<long>());
            }
            return indexes;
        }));

        Assert.All(writers, indexes => Assert.Equal(indexes.Order().ToList(), indexes));
        var after = groups.Committed;
        Assert.Equal(80L, after.Changes - before.Changes);
        // Each record's last change (the tenth, a withdrawal) is its state.
        for (var w = 0; w < 8; w++)
        {
            var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(system, $"w-{w}")));
            Assert.False(data["consent"]!["consentAttributes"]!.AsArray().Single()!["consentFlag"]!.GetValue<bool>());
        }
        await LedgerVerifiesAsync(app);
    }

    [ProviderTheory, Providers]
    public async Task With_group_commit_off_each_change_commits_alone(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Ledger:GroupCommit"] = "false" });
        var (system, client, groups) = await ArrangeAsync(app);
        using var _ = client;

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            HubApp.SubmitAsync(client, system, $"c-{i}", Seed.Consent("OFFERS", true))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal((0L, 0L), groups.Committed);
        Assert.Equal(8, await HeadUpdatesAsync(app));
    }

    static async Task<(SourceSystemCredentials System, HttpClient Client, GroupCommit Groups)> ArrangeAsync(HubApp app)
    {
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var client = await app.AsAsync(system);
        await CountHeadUpdatesAsync(app);
        return (system, client, app.Services.GetRequiredService<GroupCommit>());
    }

    /// <summary>
    /// Sends the first request while the test holds the ledger lock and waits until it is being committed (waiting for
    /// the lock) with nothing queued; then sends the others one at a time, each once the one before is queued, so their
    /// arrival order is the order given; then lets the lock go. Returns the answers to come, in that order.
    /// </summary>
    static async Task<List<Task<HttpResponseMessage>>> QueueBehindTheLedgerLockAsync(HubApp app, GroupCommit groups, List<Func<Task<HttpResponseMessage>>> sends)
    {
        var answers = new List<Task<HttpResponseMessage>>();
        await using (await HoldLedgerAsync(app))
        {
            answers.Add(sends[0]());
            var state = await Poll.UntilAsync(() => Task.FromResult((groups.Committing, groups.Queued)), s => s == (1, 0), TimeSpan.FromSeconds(10));
            Assert.Equal((1, 0), state);
            for (var i = 1; i < sends.Count; i++)
            {
                answers.Add(sends[i]());
                var queued = i;
                Assert.Equal(queued, await Poll.UntilAsync(() => Task.FromResult(groups.Queued), q => q == queued, TimeSpan.FromSeconds(10)));
            }
        }
        return answers;
    }

    static async Task LedgerVerifiesAsync(HubApp app)
    {
        using var scope = app.Scope();
        var verification = await LedgerVerifier.VerifyAsync(app.Db(scope), CancellationToken.None);
        Assert.True(verification.Valid, verification.Reason);
    }

    /// <summary>Takes the ledger lock as every writer does (a row lock on PostgreSQL, the write lock on SQLite) until disposed.</summary>
    static async Task<IAsyncDisposable> HoldLedgerAsync(HubApp app)
    {
        var scope = app.Scope();
        var transaction = await scope.ServiceProvider.GetRequiredService<LedgerWriter>().BeginAsync(CancellationToken.None);
        return new Held(scope, transaction);
    }

    sealed class Held(IServiceScope scope, IDbContextTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            scope.Dispose();
        }
    }

    /// <summary>Counts every update of the ledger head from now on, whoever makes it.</summary>
    static Task CountHeadUpdatesAsync(HubApp app) => ExecuteAsync(app, app.Provider == DatabaseProvider.Postgres
        ? """
          CREATE TABLE test_head_updates (n integer);
          CREATE FUNCTION test_count_head() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO test_head_updates VALUES (1); RETURN NEW; END $$;
          CREATE TRIGGER test_count_head AFTER UPDATE ON ledger_head FOR EACH ROW EXECUTE FUNCTION test_count_head();
          """
        : """
          CREATE TABLE test_head_updates (n integer);
          CREATE TRIGGER test_count_head AFTER UPDATE ON ledger_head BEGIN INSERT INTO test_head_updates VALUES (1); END;
          """);

    static async Task<int> HeadUpdatesAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await app.Db(scope).Database.SqlQueryRaw<int>("SELECT COUNT(*) AS \"Value\" FROM test_head_updates").SingleAsync();
    }

    static async Task ExecuteAsync(HubApp app, string sql)
    {
        using var scope = app.Scope();
        await app.Db(scope).Database.ExecuteSqlRawAsync(sql);
    }
}
