using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;
using Npgsql;

namespace ConsentHub.Tests.SqlAccess;

/// <summary>
/// Arranging SQL read access as an admin does, and reading as an analyst does: with a real psql process
/// (/usr/bin/psql) and the URI the hub answered.
/// </summary>
public static class SqlReaders
{
    public const string Psql = "/usr/bin/psql";

    public static string Path(string nmsc, string role) => $"/admin/organisations/{nmsc}/sql-access/{Uri.EscapeDataString(role)}";

    /// <summary>A role name of this test run: roles are cluster-wide and tests run in parallel on one cluster.</summary>
    public static string UniqueRole(string prefix = "t") => prefix + Guid.NewGuid().ToString("N")[..16];

    public static async Task<JsonObject> GrantAsync(HttpClient admin, string nmsc, string role, HttpStatusCode expected = HttpStatusCode.Created) =>
        await Inbound.Inbound.ExpectAsync(admin.PutAsync(Path(nmsc, role), null), expected);

    /// <summary>An organisation with one source system (context toyota, system crm) and customer c1's applied changes.</summary>
    public static async Task<SourceSystemCredentials> OrganisationWithChangesAsync(HubApp app, string nmsc, params JsonObject[] changes)
    {
        var system = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        using var client = await app.AsAsync(system);
        foreach (var change in changes)
        {
            using var posted = await HubApp.SubmitAsync(client, system, "c1", change);
            Assert.True(posted.StatusCode == HttpStatusCode.Created, $"{(int)posted.StatusCode} {await posted.Content.ReadAsStringAsync()}");
        }
        return system;
    }

    public sealed record PsqlResult(int Code, string Output, string Error)
    {
        public IReadOnlyList<string> Rows => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Runs each statement with psql -c in one session (stopping at the first error), unaligned, tuples only, '|' between columns.</summary>
    public static async Task<PsqlResult> RunAsync(string uri, params string[] statements)
    {
        var start = Start(uri);
        foreach (var statement in statements)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(statement);
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new PsqlResult(process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    /// <summary>A psql session that reads statements from its standard input, as an analyst's open terminal.</summary>
    public static Process Open(string uri)
    {
        var process = Process.Start(Start(uri))!;
        return process;
    }

    static ProcessStartInfo Start(string uri)
    {
        var start = new ProcessStartInfo(Psql)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in new[] { uri, "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1" }) start.ArgumentList.Add(argument);
        start.Environment["PGCONNECT_TIMEOUT"] = "10";
        // Never a password file or service of the machine: only what the hub answered.
        start.Environment["PGPASSFILE"] = "/dev/null";
        start.Environment.Remove("PGPASSWORD");
        return start;
    }

    /// <summary>The number of sessions the role has open, as PostgreSQL sees them.</summary>
    public static async Task<long> SessionsAsync(HubApp app, string role)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", connection) { Parameters = { new() { Value = role } } };
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The role's sessions that have run <paramref name="statement"/> to its end and wait, idle, for the next.</summary>
    public static async Task<long> IdleAfterAsync(HubApp app, string role, string statement)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND state = 'idle' AND query = $2", connection)
        {
            Parameters = { new() { Value = role }, new() { Value = statement } },
        };
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<bool> RoleExistsAsync(HubApp app, string role)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", connection) { Parameters = { new() { Value = role } } };
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The server must ask these roles for their password (scripts/test.sh writes such a pg_hba.conf): on a cluster that
    /// trusts every login, no test could tell a revoked or rotated password from a good one.
    /// </summary>
    public static async Task AssertPasswordsCountAsync(string uri)
    {
        var wrong = new UriBuilder(uri) { Password = "not-the-password" }.Uri.ToString();
        var refused = await RunAsync(wrong, "SELECT 1");
        Assert.True(refused.Code != 0 && refused.Error.Contains("password authentication failed", StringComparison.Ordinal),
            "The PostgreSQL server of CONSENTHUB_TEST_POSTGRES let a login in with a wrong password (pg_hba trust): run the tests with " +
            $"scripts/test.sh, whose cluster asks every role but postgres for its password. psql said: {refused.Code} {refused.Output} {refused.Error}");
    }

    /// <summary>Runs statements one by one on a connection of its own (as the tests' superuser, with the admin connection string).</summary>
    public static async Task ExecuteAsync(string connectionString, params string[] statements)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Drops the test's roles that are still there (a failed test), so that none outlives the run.</summary>
    public static Task DropRolesAsync(HubApp app, IEnumerable<string> roles) => DropRolesAsync(app.ConnectionString, roles);

    /// <summary>As <see cref="DropRolesAsync(HubApp, IEnumerable{string})"/>, connected (as a superuser) to the database the roles were granted.</summary>
    public static async Task DropRolesAsync(string connectionString, IEnumerable<string> roles)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var role in roles)
        {
            await using var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", connection) { Parameters = { new() { Value = role } } };
            if (!(bool)(await exists.ExecuteScalarAsync())!) continue;
            var quoted = new NpgsqlCommandBuilder().QuoteIdentifier(role);
            await using var drop = new NpgsqlCommand(
                $"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '{role}'; DROP OWNED BY {quoted}; DROP ROLE {quoted}", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
