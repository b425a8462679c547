using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ConsentHub.Tests.Outbound;

/// <summary>
/// Replication into a third party's PostgreSQL database (seed 000): the target table is a second database on the test
/// server; it is compared row by row with the hub's current consents and channels, read by a query of the test's own.
/// </summary>
public sealed class ReplicaTests
{
    static readonly Dictionary<string, string?> Settings = new()
    {
        ["ConsentHub:Propagation:AllowInsecureLoopback"] = "true",
        ["ConsentHub:Replicas:SweepSeconds"] = "1",
        ["ConsentHub:Replicas:RetrySeconds"] = "1",
        ["ConsentHub:Replicas:LeaseSeconds"] = "10",
        ["ConsentHub:Replicas:BatchSize"] = "7",
    };

    static Dictionary<string, string?> With(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>(Settings);
        foreach (var (key, value) in more) settings[key] = value;
        return settings;
    }

    /// <summary>A database of its own on the test server, dropped when disposed.</summary>
    sealed class TargetDatabase : IAsyncDisposable
    {
        public string Name { get; } = "replica_" + Guid.NewGuid().ToString("N")[..12];
        public string ConnectionString => new NpgsqlConnectionStringBuilder(ProvidersAttribute.PostgresAdminConnection) { Database = Name, Pooling = false }.ConnectionString;

        public static async Task<TargetDatabase> CreateAsync()
        {
            var target = new TargetDatabase();
            await target.AdminAsync($"CREATE DATABASE {target.Name}");
            return target;
        }

        public async Task AdminAsync(string sql)
        {
            await using var admin = new NpgsqlConnection(ProvidersAttribute.PostgresAdminConnection);
            await admin.OpenAsync();
            await using var command = new NpgsqlCommand(sql, admin);
            await command.ExecuteNonQueryAsync();
        }

        /// <summary>The target goes down: nobody may connect, and whoever was connected is cut off.</summary>
        public async Task StopAsync()
        {
            await AdminAsync($"ALTER DATABASE {Name} ALLOW_CONNECTIONS false");
            await AdminAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{Name}' AND pid <> pg_backend_pid()");
        }

        public Task StartAsync() => AdminAsync($"ALTER DATABASE {Name} ALLOW_CONNECTIONS true");

        public async Task<List<string>> RowsAsync(string nmsc, string table = "replica.consents")
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"SELECT context, source_system, source_customer_id, kind, code, flag, requested_at, validated_at FROM {table} WHERE nmsc = @nmsc", connection);
            command.Parameters.AddWithValue("nmsc", nmsc);
            var rows = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(Line(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetBoolean(5),
                    reader.GetFieldValue<DateTime>(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTime>(7)));
            }
            rows.Sort(StringComparer.Ordinal);
            return rows;
        }

        public async ValueTask DisposeAsync()
        {
            await StartAsync();
            await AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        }
    }

    static string Line(string context, string system, string customer, string kind, string code, bool flag, DateTime requested, DateTime? validated) =>
        string.Join('|', context, system, customer, kind, code, flag ? "t" : "f", Ms(requested), validated is { } v ? Ms(v) : "-");

    static string Ms(DateTime at) => DateTime.SpecifyKind(at, DateTimeKind.Utc).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>The hub's current consents and channels of the organisation, read independently of the replica's code.</summary>
    static async Task<List<string>> HubRowsAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        var consents = await (from e in db.ConsentEntries join c in db.Customers on e.CustomerId equals c.Id where c.Nmsc == nmsc
                              select new { c.Context, c.SourceSystem, c.SourceCustomerId, e.Code, e.Flag, e.RequestedAt, e.ValidatedAt }).ToListAsync();
        var channels = await (from e in db.ChannelEntries join c in db.Customers on e.CustomerId equals c.Id where c.Nmsc == nmsc
                              select new { c.Context, c.SourceSystem, c.SourceCustomerId, e.Code, e.Flag, e.RequestedAt }).ToListAsync();
        var rows = consents.Select(e => Line(e.Context, e.SourceSystem, e.SourceCustomerId, "consent", e.Code, e.Flag, e.RequestedAt, e.ValidatedAt))
            .Concat(channels.Select(e => Line(e.Context, e.SourceSystem, e.SourceCustomerId, "channel", e.Code, e.Flag, e.RequestedAt, null)))
            .ToList();
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    static JsonObject Change(string code, bool flag, string requested, string? channel = null, bool channelFlag = true)
    {
        var body = Seed.Consent(code, flag, requested);
        if (channel is not null)
            body["channel"] = new JsonObject { ["channelAttributes"] = new JsonArray(new JsonObject { ["channelCode"] = channel, ["channelFlag"] = channelFlag, ["requestedTimestamp"] = requested }) };
        return body;
    }

    static async Task SubmitAsync(HttpClient client, SourceSystemCredentials system, string customer, JsonObject body)
    {
        var response = await HubApp.SubmitAsync(client, system, customer, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    static async Task<JsonObject> PutReplicaAsync(HttpClient admin, string nmsc, string name, TargetDatabase target, HttpStatusCode expected)
    {
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/replicas/{name}",
            new { connectionString = target.ConnectionString, schema = "replica", table = "consents" });
        var body = (await Json.ReadAsync(response)).AsObject();
        Assert.True(response.StatusCode == expected, body.ToJsonString());
        return body;
    }

    /// <summary>Reads the replica's status until <paramref name="done"/> holds (30 s at most).</summary>
    static async Task<JsonObject> WaitForStatusAsync(HttpClient admin, string nmsc, string name, Func<JsonObject, bool> done, string what)
    {
        var status = await Poll.UntilAsync(async () =>
        {
            var response = await admin.GetAsync($"/admin/organisations/{nmsc}/replicas/{name}/status");
            var read = (await Json.ReadAsync(response)).AsObject();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return read;
        }, done, TimeSpan.FromSeconds(30), 100);
        return done(status) ? status : throw new Xunit.Sdk.XunitException($"replica {name}: {what} never happened; status {status.ToJsonString()}");
    }

    static bool CaughtUp(JsonObject s) =>
        s["state"]!.GetValue<string>() == "live" && s["lagChanges"]!.GetValue<long>() == 0 && s["lastError"] is null;

    [ProviderTheory, Providers]
    public async Task The_initial_copy_and_every_later_change_and_upload_leave_the_target_equal_to_the_hub(DatabaseProvider provider)
    {
        await using var target = await TargetDatabase.CreateAsync();
        await using var app = await HubApp.StartAsync(provider, Settings);
        var nmsc = HubApp.Unique("rp");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("rq"), "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        using var asOther = await app.AsAsync(other);
        for (var i = 0; i < 5; i++) await SubmitAsync(asCrm, crm, $"c-{i}", Change("OFFERS", i % 2 == 0, "2024-01-01T10:00:00Z", "EMAIL", i % 3 == 0));
        await SubmitAsync(asOther, other, "o-1", Change("OFFERS", true, "2024-01-01T10:00:00Z"));

        using var admin = await app.AdminAsync();
        var created = await PutReplicaAsync(admin, nmsc, "partner", target, HttpStatusCode.Created);
        Assert.Equal(("127.0.0.1", target.Name, "replica", "consents"), (created["host"]!.GetValue<string>(), created["database"]!.GetValue<string>(),
            created["schema"]!.GetValue<string>(), created["table"]!.GetValue<string>()));
        Assert.DoesNotContain("connectionString", created.Select(p => p.Key));
        await WaitForStatusAsync(admin, nmsc, "partner", CaughtUp, "the initial copy");
        var copied = await target.RowsAsync(nmsc);
        Assert.Equal(10, copied.Count);
        Assert.Equal(await HubRowsAsync(app, nmsc), copied);

        // Later changes, more than a batch of them, in order: flips, a new category, a new channel, a new record.
        for (var i = 0; i < 5; i++) await SubmitAsync(asCrm, crm, $"c-{i}", Change("OFFERS", i % 2 == 1, "2024-02-01T10:00:00Z"));
        for (var i = 0; i < 5; i++) await SubmitAsync(asCrm, crm, $"c-{i}", Change("REMINDERS", true, "2024-02-02T10:00:00Z", "SMS", false));
        await SubmitAsync(asCrm, crm, "c-0", Change("OFFERS", true, "2024-03-01T10:00:00Z"));
        await SubmitAsync(asCrm, crm, "c-9", Change("OFFERS", true, "2024-03-01T10:00:00Z"));
        // An older change loses in the hub: the replica keeps what the hub keeps.
        await SubmitAsync(asCrm, crm, "c-0", Change("OFFERS", false, "2023-03-01T10:00:00Z"));
        // The upload's set-based path.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var system = await db.SourceSystems.SingleAsync(s => s.Id == crm.Id);
            var catalogue = await ConsentHub.Tenancy.CategoryCatalogue.ReadAsync(db, nmsc, CancellationToken.None);
            var batch = Enumerable.Range(0, 3).Select(i =>
            {
                var data = JsonSerializer.Deserialize<SubscriptionData>(Change("OFFERS", false, "2024-04-01T10:00:00Z", "EMAIL", true).ToJsonString(), SubscriptionChanges.StoredJson)!;
                return new BulkChange($"u-{i}", data, SubscriptionDataRules.Check(data, catalogue).Change!, $"k-{i}");
            }).ToList();
            Assert.Equal(new[] { true, true, true }, await scope.ServiceProvider.GetRequiredService<BulkChanges>().ApplyAsync(system, batch, "test", "upload:rp", propagate: false, CancellationToken.None));
        }

        var status = await WaitForStatusAsync(admin, nmsc, "partner", CaughtUp, "catching up");
        var rows = await target.RowsAsync(nmsc);
        Assert.Equal(await HubRowsAsync(app, nmsc), rows);
        Assert.Equal(5 * 4 + 1 + 3 * 2, rows.Count);
        Assert.Contains("toyota|crm|c-0|consent|OFFERS|t|2024-03-01T10:00:00.000|", string.Join('\n', rows));
        // The cursor is the organisation's last change-log row, and nothing of the other organisation was copied.
        using (var scope = app.Scope())
        {
            var last = await app.Db(scope).ChangeLog.Where(e => e.Nmsc == nmsc).MaxAsync(e => e.LedgerIndex);
            Assert.Equal(last, status["appliedIndex"]!.GetValue<long>());
        }
        Assert.Empty(await target.RowsAsync(other.Nmsc));
    }

    [ProviderTheory, Providers]
    public async Task A_target_outage_and_a_hub_restart_each_end_with_the_replica_caught_up(DatabaseProvider provider)
    {
        await using var target = await TargetDatabase.CreateAsync();
        // The first instance only stores; the replica is kept by a second one, which is stopped and started again.
        await using var store = await HubApp.StartAsync(provider, With(("ConsentHub:Replicas:Enabled", "false")));
        var nmsc = HubApp.Unique("rp");
        var crm = await store.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var asCrm = await store.AsAsync(crm);
        using var admin = await store.AdminAsync();
        await SubmitAsync(asCrm, crm, "c-1", Change("OFFERS", true, "2024-01-01T10:00:00Z", "EMAIL"));
        await PutReplicaAsync(admin, nmsc, "partner", target, HttpStatusCode.Created);
        var keeper = store.SecondInstance(Settings);
        await WaitForStatusAsync(admin, nmsc, "partner", CaughtUp, "the initial copy");

        await target.StopAsync();
        for (var i = 0; i < 10; i++) await SubmitAsync(asCrm, crm, $"c-{i}", Change("OFFERS", i % 2 == 0, $"2024-02-{i + 1:00}T10:00:00Z"));
        var failing = await WaitForStatusAsync(admin, nmsc, "partner", s => s["lastError"] is not null, "the target outage being seen");
        Assert.Contains("55000", failing["lastError"]!.GetValue<string>());
        Assert.True(failing["lagChanges"]!.GetValue<long>() > 0);
        Assert.DoesNotContain(store.Logs.Lines.Concat(keeper.Logs.Lines), l => l.Contains(target.ConnectionString, StringComparison.Ordinal));
        await target.StartAsync();
        await WaitForStatusAsync(admin, nmsc, "partner", CaughtUp, "catching up after the outage");
        Assert.Equal(await HubRowsAsync(store, nmsc), await target.RowsAsync(nmsc));

        // The hub that keeps the replica stops; changes go on; a new instance resumes from the cursor.
        await keeper.DisposeAsync();
        var before = await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}/replicas/partner/status"));
        for (var i = 0; i < 10; i++) await SubmitAsync(asCrm, crm, $"c-{i}", Change("REMINDERS", i % 3 == 0, "2024-03-01T10:00:00Z", "SMS"));
        var waiting = await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{nmsc}/replicas/partner/status"));
        Assert.Equal(before["appliedIndex"]!.GetValue<long>(), waiting["appliedIndex"]!.GetValue<long>());
        Assert.Equal(10, waiting["lagChanges"]!.GetValue<long>());
        Assert.True(waiting["lagSeconds"]!.GetValue<double>() >= 0);
        await using var restarted = store.SecondInstance(Settings);
        var done = await WaitForStatusAsync(admin, nmsc, "partner", CaughtUp, "resuming after the restart");
        Assert.Equal(await HubRowsAsync(store, nmsc), await target.RowsAsync(nmsc));
        // Resumed, not copied again: the rows applied grew by what the ten changes wrote, each record's rows once per batch.
        Assert.True(done["rowsApplied"]!.GetValue<long>() > waiting["rowsApplied"]!.GetValue<long>());
    }

    [ProviderTheory, Providers]
    public async Task Bad_definitions_are_refused_naming_the_member_and_the_routes_answer_as_documented(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("rp");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        var path = $"/admin/organisations/{nmsc}/replicas";

        async Task RefusedAsync(string name, object body, string field, string rule)
        {
            var response = await admin.PutAsJsonAsync($"{path}/{name}", body);
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem.ToJsonString());
            Assert.Contains(problem["violations"]!.AsArray(), e => e!["field"]!.GetValue<string>() == field && e["rule"]!.GetValue<string>() == rule);
        }
        // TEST-NET-1 (RFC 5737): a public address that answers nothing.
        const string good = "Host=192.0.2.10;Database=partner;Username=u;Password=p";
        await RefusedAsync("p", new { schema = "s", table = "t" }, "connectionString", "required");
        await RefusedAsync("p", new { connectionString = "Host=127.0.0.1;Nonsense=1", schema = "s", table = "t" }, "connectionString", "connection-string");
        await RefusedAsync("p", new { connectionString = "Database=x", schema = "s", table = "t" }, "connectionString", "connection-string");
        await RefusedAsync("p", new { connectionString = "Host=169.254.169.254;Database=x", schema = "s", table = "t" }, "connectionString", "replica-host");
        await RefusedAsync("p", new { connectionString = good, schema = "Bad-Schema", table = "t" }, "schema", "identifier");
        await RefusedAsync("p", new { connectionString = good, schema = "s" }, "table", "required");
        await RefusedAsync("bad name", new { connectionString = good, schema = "s", table = "t" }, "name", "replica-name");
        var notJson = await admin.PutAsync($"{path}/p", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PutAsJsonAsync($"/admin/organisations/nope-{nmsc}/replicas/p", new { connectionString = good, schema = "s", table = "t" })).StatusCode);
        Assert.Equal(0, (await Json.ReadAsync(await admin.GetAsync(path)))["count"]!.GetValue<int>());

        // Saved without reaching the target (the worker of the shared app keeps trying it, and says why in the status).
        var saved = await admin.PutAsJsonAsync($"{path}/p", new { connectionString = good, schema = "s", table = "t" });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        var view = (await Json.ReadAsync(saved)).AsObject();
        Assert.DoesNotContain("Password", view.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("u", view["username"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"{path}/p", new { connectionString = good, schema = "s", table = "t" })).StatusCode);
        Assert.Equal(1, (await Json.ReadAsync(await admin.GetAsync(path)))["count"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{path}/p")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{path}/p")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{path}/p")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{path}/p/status")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"{path}/p")).StatusCode);

        using var scope = app.Scope();
        var types = await app.Db(scope).LedgerEntries.Where(e => e.Type == "replica-configured" || e.Type == "replica-deleted")
            .Select(e => e.Payload).ToListAsync();
        var mine = types.Where(p => p.Contains(nmsc, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, mine.Count);
        Assert.All(mine, p => Assert.DoesNotContain("Password", p, StringComparison.OrdinalIgnoreCase));
    }
}
