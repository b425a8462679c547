using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.SqlAccess;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.SqlAccess;

/// <summary>
/// Issue 18 §2: a PostgreSQL login role granted to an organisation reads, with psql, that organisation's current
/// consents and channels, their history and the propagation status, and nothing else; it cannot write; revocation and
/// rotation take effect at once.
/// </summary>
public sealed class SqlAccessTests
{
    static readonly string[] ConsentColumns =
    [
        "nmsc", "context", "source_system", "source_customer_id", "record_id", "code", "flag", "requested_at", "validated_at", "validation_reference",
        "origin_source_system", "change_request_id", "ledger_index", "sequence",
    ];

    [PostgresOnly]
    public async Task A_granted_role_reads_its_organisations_views_with_psql_and_never_another_organisations_rows_or_the_tables()
    {
        await using var app = await HubApp.StartTracingEverythingAsync(DatabaseProvider.Postgres);
        var (nmscA, nmscB) = (HubApp.Unique("sa"), HubApp.Unique("sb"));
        var (roleA, roleB) = (SqlReaders.UniqueRole(), SqlReaders.UniqueRole());
        try
        {
            await SqlReaders.OrganisationWithChangesAsync(app, nmscA,
                Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"), Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"), Seed.Channel("EMAIL", true));
            await SqlReaders.OrganisationWithChangesAsync(app, nmscB, Seed.Consent("REMINDERS", true), Seed.Channel("SMS", false));
            using var admin = await app.AdminAsync();

            using var putA = await admin.PutAsync(SqlReaders.Path(nmscA, roleA), null);
            Assert.Equal(HttpStatusCode.Created, putA.StatusCode);
            Assert.Equal("no-store", putA.Headers.CacheControl?.ToString());
            Assert.Equal(SqlReaders.Path(nmscA, roleA), putA.Headers.Location?.OriginalString);
            var grantA = (await Json.ReadAsync(putA)).AsObject();
            Assert.Equal(roleA, grantA["role"]!.GetValue<string>());
            Assert.Equal(nmscA, grantA["nmsc"]!.GetValue<string>());
            Assert.Equal(["current_consents", "current_channels", "consent_history", "propagation_status"], grantA["views"]!.AsArray().Select(v => v!.GetValue<string>()));
            var uriA = grantA["uri"]!.GetValue<string>();
            var connectionA = new Npgsql.NpgsqlConnectionStringBuilder(grantA["connectionString"]!.GetValue<string>());
            var hub = new Npgsql.NpgsqlConnectionStringBuilder(app.ConnectionString);
            Assert.Equal((hub.Host, hub.Port, hub.Database, roleA), (connectionA.Host, connectionA.Port, connectionA.Database, connectionA.Username));
            var password = connectionA.Password!;
            Assert.Matches("^[A-Za-z0-9_-]{43}$", password);
            Assert.Equal($"postgresql://{roleA}:{password}@{hub.Host}:{hub.Port}/{hub.Database}", uriA);
            Assert.Equal($"jdbc:postgresql://{hub.Host}:{hub.Port}/{hub.Database}?user={roleA}&password={password}", grantA["jdbcUrl"]!.GetValue<string>());
            var uriB = (await SqlReaders.GrantAsync(admin, nmscB, roleB))["uri"]!.GetValue<string>();

            // Its organisation's current consents and channels, history and propagation status; nothing of B's.
            var consents = await SqlReaders.RunAsync(uriA, "SELECT nmsc, context, source_system, source_customer_id, code, flag, validation_reference IS NULL FROM consent_read.current_consents");
            Assert.True(consents.Code == 0, consents.Error);
            Assert.Equal([$"{nmscA}|toyota|crm|c1|OFFERS|f|t"], consents.Rows);
            var channels = await SqlReaders.RunAsync(uriA, "SELECT nmsc, source_customer_id, code, flag FROM consent_read.current_channels");
            Assert.Equal([$"{nmscA}|c1|EMAIL|t"], channels.Rows);
            var history = await SqlReaders.RunAsync(uriA, "SELECT nmsc, source_customer_id, kind, code, flag FROM consent_read.consent_history ORDER BY ledger_index");
            Assert.Equal([$"{nmscA}|c1|consent|OFFERS|t", $"{nmscA}|c1|consent|OFFERS|f", $"{nmscA}|c1|channel|EMAIL|t"], history.Rows);
            // Each history row is its change request's "change-applied" entry, and the current row names the latest.
            var joined = await SqlReaders.RunAsync(uriA, """
                SELECT count(*) FROM consent_read.current_consents c JOIN consent_read.consent_history h
                  ON h.change_request_id = c.change_request_id AND h.ledger_index = c.ledger_index AND h.code = c.code AND h.flag = c.flag
                """);
            Assert.Equal(["1"], joined.Rows);
            long propagatedA;
            using (var scope = app.Scope())
            {
                var db = app.Db(scope);
                propagatedA = await db.Propagations.CountAsync(p => p.Nmsc == nmscA);
                Assert.True(propagatedA > 0 && await db.Propagations.CountAsync(p => p.Nmsc == nmscB) > 0);
            }
            var propagation = await SqlReaders.RunAsync(uriA, "SELECT count(*), min(nmsc), max(nmsc), min(destination_system), max(destination_system) FROM consent_read.propagation_status");
            Assert.Equal([$"{propagatedA}|{nmscA}|{nmscA}|crm|crm"], propagation.Rows);

            var theirs = await SqlReaders.RunAsync(uriB, "SELECT nmsc, code, flag FROM consent_read.current_consents",
                "SELECT nmsc, code, flag FROM consent_read.current_channels", "SELECT DISTINCT nmsc FROM consent_read.consent_history",
                "SELECT DISTINCT nmsc FROM consent_read.propagation_status");
            Assert.Equal([$"{nmscB}|REMINDERS|t", $"{nmscB}|SMS|f", nmscB, nmscB], theirs.Rows);

            // No column of sealed personal data: the views' columns are exactly these, and the email sent shows nowhere.
            var columns = await SqlReaders.RunAsync(uriA,
                "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'consent_read' AND table_name = 'current_consents'");
            Assert.Equal([string.Join(",", ConsentColumns)], columns.Rows);
            var everything = await SqlReaders.RunAsync(uriA, "SELECT * FROM consent_read.current_consents", "SELECT * FROM consent_read.current_channels",
                "SELECT * FROM consent_read.consent_history", "SELECT * FROM consent_read.propagation_status");
            Assert.True(everything.Code == 0, everything.Error);
            Assert.DoesNotContain("person@example.com", everything.Output, StringComparison.OrdinalIgnoreCase);

            // The hub's tables, the grants table included, are not readable at all.
            foreach (var table in new[] { "public.personal_data", "public.customers", "public.ledger_entries", "public.change_requests", "public.propagations", "consent_read.grants" })
            {
                var refused = await SqlReaders.RunAsync(uriA, $"SELECT count(*) FROM {table}");
                Assert.True(refused.Code != 0, $"{table}: {refused.Output}");
                Assert.Contains($"permission denied for table {table.Split('.')[1]}", refused.Error, StringComparison.Ordinal);
            }

            // Listed and shown without a password; the ledger names the grant, never the password; no log line has it.
            var listed = await Inbound.Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmscA}/sql-access"), HttpStatusCode.OK);
            Assert.Equal(1, listed["count"]!.GetValue<int>());
            Assert.Equal(roleA, listed["grants"]![0]!["role"]!.GetValue<string>());
            Assert.Equal("admin", listed["grants"]![0]!["grantedBy"]!.GetValue<string>());
            var shown = await Inbound.Inbound.ExpectAsync(admin.GetAsync(SqlReaders.Path(nmscA, roleA)), HttpStatusCode.OK);
            Assert.Null(shown["connectionString"]);
            Assert.DoesNotContain(password, listed.ToJsonString() + shown.ToJsonString(), StringComparison.Ordinal);
            using (var scope = app.Scope())
            {
                var entries = await app.Db(scope).LedgerEntries.Where(e => e.Type == LedgerEvents.SqlAccessGranted).Select(e => e.Payload).ToListAsync();
                Assert.Contains(entries, e => JsonNode.Parse(e)!["role"]!.GetValue<string>() == roleA && JsonNode.Parse(e)!["nmsc"]!.GetValue<string>() == nmscA
                    && JsonNode.Parse(e)!["by"]!.GetValue<string>() == "admin");
                Assert.DoesNotContain(entries, e => e.Contains(password, StringComparison.Ordinal));
            }
            Assert.DoesNotContain(app.Logs.Lines, line => line.Contains(password, StringComparison.Ordinal));
            // Nor the statements that carry its verifier (they bypass EF Core's command log).
            Assert.DoesNotContain(app.Logs.Lines, line => line.Contains("SCRAM-SHA-256$", StringComparison.Ordinal));
            Assert.Contains(app.Logs.Lines, line => line.Contains("consent_read.grants", StringComparison.Ordinal));

            using (var revoked = await admin.DeleteAsync(SqlReaders.Path(nmscA, roleA))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
            using (var revoked = await admin.DeleteAsync(SqlReaders.Path(nmscB, roleB))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
            Assert.False(await SqlReaders.RoleExistsAsync(app, roleA));
        }
        finally
        {
            await SqlReaders.DropRolesAsync(app, [roleA, roleB]);
        }
    }

    [PostgresOnly]
    public async Task The_role_cannot_write_or_create_not_even_after_leaving_read_only_mode()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Postgres);
        var nmsc = HubApp.Unique("sw");
        var role = SqlReaders.UniqueRole();
        try
        {
            await SqlReaders.OrganisationWithChangesAsync(app, nmsc, Seed.Consent("OFFERS", true));
            using var admin = await app.AdminAsync();
            var uri = (await SqlReaders.GrantAsync(admin, nmsc, role))["uri"]!.GetValue<string>();

            string[] writes =
            [
                "UPDATE consent_read.current_consents SET flag = true",
                "DELETE FROM consent_read.propagation_status",
                "INSERT INTO consent_read.grants (role_name, nmsc, granted_at, granted_by) VALUES ('x', 'y', now(), 'z')",
                "UPDATE public.consent_entries SET \"Flag\" = true",
                "DELETE FROM public.customers",
                "CREATE TABLE consent_read.mine (id int)",
                "CREATE TABLE public.mine (id int)",
                "CREATE VIEW public.mine AS SELECT 1",
            ];
            // Every session starts read-only (default_transaction_read_only = on) …
            foreach (var write in writes)
            {
                var refused = await SqlReaders.RunAsync(uri, write);
                Assert.True(refused.Code != 0, write);
                // PostgreSQL checks a table's privileges (and whether a view of several tables is updatable at all) before the
                // mode; CREATE meets the mode first.
                Assert.Matches(write.StartsWith("CREATE", StringComparison.Ordinal)
                    ? "cannot execute CREATE [A-Z]+ in a read-only transaction"
                    : "cannot execute [A-Z]+ in a read-only transaction|cannot (update|delete from) view|permission denied for (table|view) ", refused.Error);
            }
            // … and a session that switches it off still holds no privilege to write or create anything.
            foreach (var write in writes)
            {
                var refused = await SqlReaders.RunAsync(uri, "SET default_transaction_read_only = off", write);
                Assert.True(refused.Code != 0, write);
                Assert.Matches("permission denied for (table|view|schema) |cannot (update|delete from) view", refused.Error);
            }
            var settings = await SqlReaders.RunAsync(uri, "SHOW statement_timeout", "SHOW default_transaction_read_only",
                "SELECT rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, rolsuper, rolconnlimit FROM pg_roles WHERE rolname = current_user");
            Assert.Equal(["1min", "on", "t|f|f|f|f|10"], settings.Rows);
            // Nothing was written.
            var still = await SqlReaders.RunAsync(uri, "SELECT code, flag FROM consent_read.current_consents");
            Assert.Equal(["OFFERS|t"], still.Rows);
            using (var revoked = await admin.DeleteAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }
        finally
        {
            await SqlReaders.DropRolesAsync(app, [role]);
        }
    }

    [PostgresOnly]
    public async Task Revocation_ends_an_open_session_at_once_and_refuses_the_next_login()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Postgres);
        var nmsc = HubApp.Unique("sr");
        var role = SqlReaders.UniqueRole();
        try
        {
            await SqlReaders.OrganisationWithChangesAsync(app, nmsc, Seed.Consent("OFFERS", true));
            using var admin = await app.AdminAsync();
            var uri = (await SqlReaders.GrantAsync(admin, nmsc, role))["uri"]!.GetValue<string>();

            using var session = SqlReaders.Open(uri);
            var output = session.StandardOutput.ReadToEndAsync();
            var error = session.StandardError.ReadToEndAsync();
            const string statement = "SELECT count(*) FROM consent_read.current_consents;";
            await session.StandardInput.WriteLineAsync(statement);
            await session.StandardInput.FlushAsync();
            // The analyst's session is open and idle at its prompt, its first statement answered (a session merely
            // connected may not have run it yet, and the revocation would end it before its answer).
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await SqlReaders.IdleAfterAsync(app, role, statement) == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the psql session never answered its first statement: " + (session.HasExited ? await error : "still running"));
                await Task.Delay(50);
            }

            using (var revoked = await admin.DeleteAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
            Assert.Equal(0, await SqlReaders.SessionsAsync(app, role));

            // The open session's next statement finds its connection gone; psql may also have noticed it by itself and
            // ended already, in which case its input is closed (a broken pipe here).
            try
            {
                await session.StandardInput.WriteLineAsync("SELECT count(*) FROM consent_read.current_consents;");
                session.StandardInput.Close();
            }
            catch (IOException)
            {
                Assert.True(await ExitsAsync(session), "psql's input broke while it was still running");
            }
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30))) await session.WaitForExitAsync(timeout.Token);
            Assert.Equal(2, session.ExitCode);
            Assert.Equal("1", (await output).Trim());
            Assert.Contains("terminating connection due to administrator command", await error, StringComparison.Ordinal);

            // Refused whether the server asks for passwords (scripts/test.sh) or trusts logins: the role is gone.
            var next = await SqlReaders.RunAsync(uri, "SELECT 1");
            Assert.Equal(2, next.Code);
            Assert.Matches($"password authentication failed for user \"{role}\"|role \"{role}\" does not exist", next.Error);
            Assert.False(await SqlReaders.RoleExistsAsync(app, role));
            using (var again = await admin.DeleteAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            using (var gone = await admin.GetAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            using (var scope = app.Scope())
            {
                var payloads = await app.Db(scope).LedgerEntries.Where(e => e.Type == LedgerEvents.SqlAccessRevoked).Select(e => e.Payload).ToListAsync();
                Assert.Contains(payloads, p => JsonNode.Parse(p)!["role"]!.GetValue<string>() == role && JsonNode.Parse(p)!["nmsc"]!.GetValue<string>() == nmsc);
            }
        }
        finally
        {
            await SqlReaders.DropRolesAsync(app, [role]);
        }
    }

    [PostgresOnly]
    public async Task Granting_again_rotates_the_password_and_the_old_one_no_longer_logs_in()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Postgres);
        var nmsc = HubApp.Unique("so");
        var role = SqlReaders.UniqueRole();
        try
        {
            await SqlReaders.OrganisationWithChangesAsync(app, nmsc, Seed.Consent("OFFERS", true));
            using var admin = await app.AdminAsync();
            var first = await SqlReaders.GrantAsync(admin, nmsc, role);
            var oldUri = first["uri"]!.GetValue<string>();
            await SqlReaders.AssertPasswordsCountAsync(oldUri);
            Assert.Equal(["1"], (await SqlReaders.RunAsync(oldUri, "SELECT count(*) FROM consent_read.current_consents")).Rows);

            var second = await SqlReaders.GrantAsync(admin, nmsc, role, HttpStatusCode.OK);
            var newUri = second["uri"]!.GetValue<string>();
            Assert.NotEqual(oldUri, newUri);
            Assert.Equal(first["grantedAt"]!.GetValue<string>(), second["grantedAt"]!.GetValue<string>());
            Assert.NotNull(second["rotatedAt"]);

            var old = await SqlReaders.RunAsync(oldUri, "SELECT 1");
            Assert.Equal(2, old.Code);
            Assert.Contains("password authentication failed", old.Error, StringComparison.Ordinal);
            Assert.Equal(["1"], (await SqlReaders.RunAsync(newUri, "SELECT count(*) FROM consent_read.current_consents")).Rows);
            using (var revoked = await admin.DeleteAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }
        finally
        {
            await SqlReaders.DropRolesAsync(app, [role]);
        }
    }

    /// <summary>
    /// Production runs the hub as a role of its own, not a superuser: CREATEROLE and pg_signal_backend are all it needs
    /// (the README's words) to grant, rotate (ending sessions) and revoke.
    /// </summary>
    [PostgresOnly]
    public async Task A_hub_role_with_only_createrole_and_pg_signal_backend_grants_rotates_and_revokes()
    {
        var hubRole = SqlReaders.UniqueRole("h");
        var database = "consenthub_test_" + hubRole;
        var role = SqlReaders.UniqueRole();
        var admin = ProvidersAttribute.PostgresAdminConnection!;
        await SqlReaders.ExecuteAsync(admin, $"CREATE ROLE {hubRole} LOGIN CREATEROLE PASSWORD 'hub-password-for-tests'", $"GRANT pg_signal_backend TO {hubRole}",
            $"CREATE DATABASE {database} OWNER {hubRole}");
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(admin) { Database = database, Username = hubRole, Password = "hub-password-for-tests" }.ConnectionString;
        var app = await HubApp.StartAsync(DatabaseProvider.Postgres, new() { ["ConnectionStrings:ConsentHub"] = connection });
        try
        {
            var nmsc = HubApp.Unique("sh");
            await SqlReaders.OrganisationWithChangesAsync(app, nmsc, Seed.Consent("OFFERS", true));
            using var client = await app.AdminAsync();
            var first = (await SqlReaders.GrantAsync(client, nmsc, role))["uri"]!.GetValue<string>();
            Assert.Equal([$"{nmsc}|OFFERS|t"], (await SqlReaders.RunAsync(first, "SELECT nmsc, code, flag FROM consent_read.current_consents")).Rows);

            using var session = SqlReaders.Open(first);
            var error = session.StandardError.ReadToEndAsync();
            await session.StandardInput.WriteLineAsync("SELECT 1;");
            await session.StandardInput.FlushAsync();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await SqlReaders.SessionsAsync(app, role) == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the psql session never connected");
                await Task.Delay(50);
            }
            var second = (await SqlReaders.GrantAsync(client, nmsc, role, HttpStatusCode.OK))["uri"]!.GetValue<string>();
            Assert.Equal(0, await SqlReaders.SessionsAsync(app, role));
            // The session opened with the old password finds its connection gone at its next statement.
            await session.StandardInput.WriteLineAsync("SELECT 2;");
            session.StandardInput.Close();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30))) await session.WaitForExitAsync(timeout.Token);
            Assert.Contains("terminating connection due to administrator command", await error, StringComparison.Ordinal);
            Assert.Equal(["1"], (await SqlReaders.RunAsync(second, "SELECT count(*) FROM consent_read.current_consents")).Rows);

            using (var revoked = await client.DeleteAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
            Assert.False(await SqlReaders.RoleExistsAsync(app, role));
        }
        finally
        {
            await app.DisposeAsync();
            await SqlReaders.DropRolesAsync(new Npgsql.NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString, [role]);
            await SqlReaders.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)", $"DROP ROLE IF EXISTS {hubRole}");
        }
    }

    [PostgresOnly]
    public async Task Bad_role_names_are_400_naming_role_and_a_role_not_the_organisations_is_409()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Postgres);
        var (nmsc, other) = (HubApp.Unique("sn"), HubApp.Unique("sm"));
        var (role, foreign) = (SqlReaders.UniqueRole(), SqlReaders.UniqueRole("f"));
        try
        {
            await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
            await app.RegisterSourceSystemAsync(other, "toyota", "crm");
            using var admin = await app.AdminAsync();

            foreach (var bad in new[] { "Reader", "ab", "1reader", "pg_reader", "read-er", "reader;drop", "r\"x", "x" + new string('a', 63), "rëader" })
            {
                foreach (var method in new[] { HttpMethod.Put, HttpMethod.Get, HttpMethod.Delete })
                {
                    var problem = await Inbound.Inbound.ExpectAsync(admin.SendAsync(new HttpRequestMessage(method, SqlReaders.Path(nmsc, bad))), HttpStatusCode.BadRequest);
                    Assert.Equal("role", problem["violations"]![0]!["field"]!.GetValue<string>());
                    Assert.Equal("role-name", problem["violations"]![0]!["rule"]!.GetValue<string>());
                }
            }
            Assert.Equal(0, (await Inbound.Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{nmsc}/sql-access"), HttpStatusCode.OK))["count"]!.GetValue<int>());

            // An unknown organisation: 404, and no role comes into being.
            var unknown = HubApp.Unique("nx");
            await Inbound.Inbound.ExpectAsync(admin.PutAsync(SqlReaders.Path(unknown, role), null), HttpStatusCode.NotFound);
            await Inbound.Inbound.ExpectAsync(admin.GetAsync($"/admin/organisations/{unknown}/sql-access"), HttpStatusCode.NotFound);
            Assert.False(await SqlReaders.RoleExistsAsync(app, role));
            await Inbound.Inbound.ExpectAsync(admin.DeleteAsync(SqlReaders.Path(nmsc, role)), HttpStatusCode.NotFound);

            // Granted to one organisation: another may not take it, nor see or revoke it.
            await SqlReaders.GrantAsync(admin, nmsc, role);
            var taken = await Inbound.Inbound.ExpectAsync(admin.PutAsync(SqlReaders.Path(other, role), null), HttpStatusCode.Conflict);
            Assert.Contains("one organisation only", taken["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            await Inbound.Inbound.ExpectAsync(admin.GetAsync(SqlReaders.Path(other, role)), HttpStatusCode.NotFound);
            await Inbound.Inbound.ExpectAsync(admin.DeleteAsync(SqlReaders.Path(other, role)), HttpStatusCode.NotFound);
            Assert.True(await SqlReaders.RoleExistsAsync(app, role));

            // A role of PostgreSQL's that the hub did not create: never taken over.
            await using (var connection = new Npgsql.NpgsqlConnection(app.ConnectionString))
            {
                await connection.OpenAsync();
                await using var create = new Npgsql.NpgsqlCommand($"CREATE ROLE {foreign} NOLOGIN", connection);
                await create.ExecuteNonQueryAsync();
            }
            var notOurs = await Inbound.Inbound.ExpectAsync(admin.PutAsync(SqlReaders.Path(nmsc, foreign), null), HttpStatusCode.Conflict);
            Assert.Contains("not a ConsentHub reader", notOurs["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            await Inbound.Inbound.ExpectAsync(admin.DeleteAsync(SqlReaders.Path(nmsc, foreign)), HttpStatusCode.NotFound);
            Assert.True(await SqlReaders.RoleExistsAsync(app, foreign));

            using (var revoked = await admin.DeleteAsync(SqlReaders.Path(nmsc, role))) Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }
        finally
        {
            await SqlReaders.DropRolesAsync(app, [role, foreign]);
        }
    }

    [PostgresOnly]
    public async Task The_cli_grants_lists_and_revokes_and_prints_the_connection_string_once()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Postgres);
        var nmsc = HubApp.Unique("sc");
        var role = SqlReaders.UniqueRole();
        try
        {
            await SqlReaders.OrganisationWithChangesAsync(app, nmsc, Seed.Consent("OFFERS", true));
            var (code, output, error) = await CliAsync(app, "grant", "--nmsc", nmsc, "--role", role);
            Assert.True(code == 0, error);
            var uri = output.Split('\n').Single(l => l.StartsWith("psql:", StringComparison.Ordinal))["psql:".Length..].Trim();
            Assert.Contains($"Username={role}", output, StringComparison.Ordinal);
            Assert.Equal([$"{nmsc}|OFFERS|t"], (await SqlReaders.RunAsync(uri, "SELECT nmsc, code, flag FROM consent_read.current_consents")).Rows);

            var listed = await CliAsync(app, "list", "--nmsc", nmsc);
            Assert.Equal(0, listed.Code);
            Assert.StartsWith($"{role}\tgranted ", listed.Output, StringComparison.Ordinal);
            Assert.Contains($"by cli:{Environment.UserName}", listed.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("postgresql://", listed.Output, StringComparison.Ordinal);

            var bad = await CliAsync(app, "grant", "--nmsc", nmsc, "--role", "Bad-Name");
            Assert.Equal(2, bad.Code);
            Assert.StartsWith("--role: role is a PostgreSQL role name", bad.Error, StringComparison.Ordinal);

            var revoked = await CliAsync(app, "revoke", "--nmsc", nmsc, "--role", role);
            Assert.True(revoked.Code == 0, revoked.Error);
            Assert.False(await SqlReaders.RoleExistsAsync(app, role));
            Assert.NotEqual(0, (await SqlReaders.RunAsync(uri, "SELECT 1")).Code);
            var again = await CliAsync(app, "revoke", "--nmsc", nmsc, "--role", role);
            Assert.Equal(2, again.Code);
            Assert.Contains("has granted no SQL read access", again.Error, StringComparison.Ordinal);
        }
        finally
        {
            await SqlReaders.DropRolesAsync(app, [role]);
        }
    }

    [Fact]
    public async Task On_sqlite_the_api_answers_409_and_the_cli_exits_2_saying_sql_access_needs_postgresql()
    {
        var app = await HubApp.SharedAsync(DatabaseProvider.Sqlite);
        var nmsc = HubApp.Unique("sq");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var admin = await app.AdminAsync();
        foreach (var request in new[]
                 {
                     new HttpRequestMessage(HttpMethod.Put, SqlReaders.Path(nmsc, "tgb_reader")), new HttpRequestMessage(HttpMethod.Get, SqlReaders.Path(nmsc, "tgb_reader")),
                     new HttpRequestMessage(HttpMethod.Delete, SqlReaders.Path(nmsc, "tgb_reader")), new HttpRequestMessage(HttpMethod.Get, $"/admin/organisations/{nmsc}/sql-access"),
                 })
        {
            var problem = await Inbound.Inbound.ExpectAsync(admin.SendAsync(request), HttpStatusCode.Conflict);
            Assert.StartsWith("SQL read access needs PostgreSQL", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        var (code, output, error) = await CliAsync(app, "grant", "--nmsc", nmsc, "--role", "tgb_reader");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("SQL read access needs PostgreSQL", error, StringComparison.Ordinal);

        // Usage, as the other verbs: help is exit 0, a missing option exit 2 naming it.
        var help = await CliAsync(app, "grant", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("Prints the connection string once", help.Output, StringComparison.Ordinal);
        var missing = await CliAsync(app, "revoke", "--nmsc", nmsc);
        Assert.Equal(2, missing.Code);
        Assert.Contains("--role", missing.Error, StringComparison.Ordinal);
    }

    static async Task<(int Code, string Output, string Error)> CliAsync(HubApp app, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SqlAccessCommand.RunAsync(app.Services, ["sql-access", .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Whether the process ends within ten seconds.</summary>
    static async Task<bool> ExitsAsync(System.Diagnostics.Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await process.WaitForExitAsync(timeout.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }
}
