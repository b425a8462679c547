using System.Security.Cryptography;
using System.Text.RegularExpressions;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConsentHub.SqlAccess;

/// <summary>One login role granted read access to one organisation's views.</summary>
public sealed record SqlGrant(string Role, string Nmsc, DateTime GrantedAt, string GrantedBy, DateTime? RotatedAt);

/// <summary>A grant with its new password, as connection strings: answered once, never stored by the hub.</summary>
public sealed record SqlLogin(SqlGrant Grant, bool Created, string ConnectionString, string Uri, string JdbcUrl);

/// <summary>Why a call was refused: an HTTP status, words for a person, and for a 400 the field and rule.</summary>
public sealed record SqlAccessRefusal(int Status, string Detail, string? Field = null, string? Rule = null)
{
    public IResult ToProblem() => Status switch
    {
        StatusCodes.Status400BadRequest => Problems.Invalid(Field!, Rule!, Detail),
        StatusCodes.Status404NotFound => Problems.NotFound(Detail),
        _ => Problems.Conflict(Detail),
    };
}

/// <summary>A value or the reason there is none.</summary>
public readonly record struct SqlAccessResult<T>(T? Value, SqlAccessRefusal? Refusal)
{
    public static implicit operator SqlAccessResult<T>(SqlAccessRefusal refusal) => new(default, refusal);
}

/// <summary>
/// SQL read access (issue 18 §2): PostgreSQL login roles that read one organisation's consents, channels, history
/// and propagation status through the views of the consent_read schema (migration SqlReadAccess), and nothing else.
/// The hub's own database role needs CREATEROLE to grant and pg_signal_backend to end a revoked role's sessions.
/// </summary>
public sealed partial class SqlAccessGrants(
    ConsentDb db, LedgerWriter ledger, TimeProvider time, IConfiguration configuration, IOptions<SqlAccessOptions> options, ILogger<SqlAccessGrants> logger)
{
    public const string Schema = "consent_read";
    public static readonly IReadOnlyList<string> Views = ["current_consents", "current_channels", "consent_history", "propagation_status"];
    public const string RoleRule = "a PostgreSQL role name: 3 to 63 characters of lower-case letters, digits and _, starting with a letter, not with pg_";
    public const int ConnectionLimit = 10;

    [GeneratedRegex("^[a-z][a-z0-9_]{2,62}$")]
    private static partial Regex RoleName();

    public static bool IsRoleName(string role) => RoleName().IsMatch(role) && !role.StartsWith("pg_", StringComparison.Ordinal);

    /// <summary>Creates the role, or gives the organisation's existing role a new password (and ends its sessions).</summary>
    public async Task<SqlAccessResult<SqlLogin>> GrantAsync(string nmsc, string role, string grantedBy, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (await CheckAsync(nmsc, role, ct) is { } refusal) return refusal;

        var password = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = time.Now();
        bool created;
        SqlGrant grant;
        await using (var transaction = await ledger.BeginAsync(ct))
        {
            var existing = await FindAsync(role, ct, forUpdate: true);
            if (existing is not null && existing.Nmsc != nmsc)
                return Conflict($"The role '{role}' reads organisation '{existing.Nmsc}': a role reads one organisation only; choose another name.");
            var exists = await ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", ct, role);
            if (existing is null && exists)
                return Conflict($"The role '{role}' exists in PostgreSQL and is not a ConsentHub reader: the hub grants only roles it creates; choose another name.");
            created = existing is null;

            var quoted = Quote(role);
            var attributes = $"LOGIN NOINHERIT NOCREATEDB NOCREATEROLE CONNECTION LIMIT {ConnectionLimit} PASSWORD {Literal(ScramVerifier.For(password))}";
            try
            {
                // Only a superuser may name SUPERUSER, REPLICATION or BYPASSRLS in ALTER ROLE, even to deny them; a role the hub
                // created never had them, and only a superuser could have given them since.
                await ExecuteAsync(exists
                    ? $"ALTER ROLE {quoted} WITH {attributes}"
                    : $"CREATE ROLE {quoted} WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS {attributes}", ct);
                await ExecuteAsync($"ALTER ROLE {quoted} SET default_transaction_read_only = on", ct);
                await ExecuteAsync($"ALTER ROLE {quoted} SET statement_timeout = '60s'", ct);
                await ExecuteAsync($"GRANT CONNECT ON DATABASE {Quote(await CurrentDatabaseAsync(ct))} TO {quoted}", ct);
                await ExecuteAsync($"GRANT USAGE ON SCHEMA {Schema} TO {quoted}", ct);
                await ExecuteAsync($"GRANT SELECT ON {string.Join(", ", Views.Select(v => $"{Schema}.{v}"))} TO {quoted}", ct);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.DuplicateObject)
            {
                return Conflict(e.SqlState == PostgresErrorCodes.DuplicateObject
                    ? $"The role '{role}' was created in PostgreSQL meanwhile, not by the hub; choose another name."
                    : $"The hub's database role may not create or change the role ({e.MessageText}): it needs CREATEROLE (see the README, SQL read access).");
            }
            grant = existing is null
                ? new SqlGrant(role, nmsc, now, grantedBy, null)
                : existing with { RotatedAt = now };
            await ExecuteAsync("""
                INSERT INTO consent_read.grants (role_name, nmsc, granted_at, granted_by, rotated_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (role_name) DO UPDATE SET rotated_at = excluded.rotated_at
                """, ct, role, nmsc, grant.GrantedAt, grant.GrantedBy, (object?)grant.RotatedAt ?? DBNull.Value);
            ledger.Append(LedgerEvents.SqlAccessGranted, new { nmsc, role, action = created ? "created" : "password-rotated", by = grantedBy });
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        // A new password also ends the sessions opened with the old one.
        if (!created) await TerminateAfterCommitAsync(role, ct);
        return new SqlAccessResult<SqlLogin>(await LoginAsync(grant, created, password, ct), null);
    }

    /// <summary>Ends the role's sessions and drops it, with its privileges and its grant.</summary>
    public async Task<SqlAccessResult<SqlGrant>> RevokeAsync(string nmsc, string role, string revokedBy, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (await CheckAsync(nmsc, role, ct) is { } refusal) return refusal;
        SqlGrant? grant;
        await using (var transaction = await ledger.BeginAsync(ct))
        {
            grant = await FindAsync(role, ct, forUpdate: true);
            if (grant is null || grant.Nmsc != nmsc) return NotGranted(nmsc, role);
            try
            {
                await TerminateSessionsAsync(role, ct);
                if (await ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", ct, role))
                {
                    // What the grant gave, revoked by its grantor: DROP OWNED would do it too, but needs the hub's role to
                    // be a member of the role (a superuser, in effect) before PostgreSQL 16.
                    var quoted = Quote(role);
                    await ExecuteAsync($"REVOKE ALL ON {string.Join(", ", Views.Select(v => $"{Schema}.{v}"))} FROM {quoted}", ct);
                    await ExecuteAsync($"REVOKE ALL ON SCHEMA {Schema} FROM {quoted}", ct);
                    await ExecuteAsync($"REVOKE ALL ON DATABASE {Quote(await CurrentDatabaseAsync(ct))} FROM {quoted}", ct);
                    await ExecuteAsync($"DROP ROLE {quoted}", ct);
                }
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.DependentObjectsStillExist)
            {
                return Conflict($"The role '{role}' cannot be dropped ({e.MessageText}); the hub's database role needs CREATEROLE and pg_signal_backend.");
            }
            await ExecuteAsync("DELETE FROM consent_read.grants WHERE role_name = $1", ct, role);
            ledger.Append(LedgerEvents.SqlAccessRevoked, new { nmsc, role, by = revokedBy });
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        // A session that logged in while the transaction ran holds a role that no longer exists: end it too.
        await TerminateAfterCommitAsync(role, ct);
        return new SqlAccessResult<SqlGrant>(grant, null);
    }

    public async Task<SqlAccessResult<IReadOnlyList<SqlGrant>>> ListAsync(string nmsc, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (await CheckAsync(nmsc, role: null, ct) is { } refusal) return refusal;
        var grants = await db.Database.SqlQuery<GrantRow>($"""
            SELECT role_name::text AS "Role", nmsc AS "Nmsc", granted_at AS "GrantedAt", granted_by AS "GrantedBy", rotated_at AS "RotatedAt"
            FROM consent_read.grants WHERE nmsc = {nmsc} ORDER BY role_name
            """).ToListAsync(ct);
        return new SqlAccessResult<IReadOnlyList<SqlGrant>>(grants.Select(g => g.ToGrant()).ToList(), null);
    }

    public async Task<SqlAccessResult<SqlGrant>> GetAsync(string nmsc, string role, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (await CheckAsync(nmsc, role, ct) is { } refusal) return refusal;
        var grant = await FindAsync(role, ct, forUpdate: false);
        return grant is null || grant.Nmsc != nmsc ? NotGranted(nmsc, role) : new SqlAccessResult<SqlGrant>(grant, null);
    }

    /// <summary>Whether the database has the consent_read schema (a hub of this version has migrated it); asked without EF Core, which would log the failure of a query.</summary>
    public async Task<bool> SchemaExistsAsync(CancellationToken ct) =>
        db.Provider != DatabaseProvider.Postgres || await ScalarAsync<bool>($"SELECT to_regnamespace('{Schema}') IS NOT NULL", ct);

    /// <summary>The refusals every call shares: the provider, the role's name, the organisation.</summary>
    async Task<SqlAccessRefusal?> CheckAsync(string nmsc, string? role, CancellationToken ct)
    {
        if (db.Provider != DatabaseProvider.Postgres)
            return Conflict("SQL read access needs PostgreSQL: this hub runs on SQLite (ConsentHub:Database:Provider), which has no login roles or views to grant.");
        if (role is not null && !IsRoleName(role))
            return new SqlAccessRefusal(StatusCodes.Status400BadRequest, $"role is {RoleRule}; '{Shown(role)}' is not.", "role", "role-name");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct))
            return new SqlAccessRefusal(StatusCodes.Status404NotFound, $"No organisation '{nmsc}'.");
        return null;
    }

    static string Shown(string value) => value.Length > 70 ? value[..70] + "…" : value;

    static SqlAccessRefusal Conflict(string detail) => new(StatusCodes.Status409Conflict, detail);

    static SqlAccessRefusal NotGranted(string nmsc, string role) =>
        new(StatusCodes.Status404NotFound, $"Organisation '{nmsc}' has granted no SQL read access to a role '{role}'.");

    async Task<SqlGrant?> FindAsync(string role, CancellationToken ct, bool forUpdate)
    {
        var rows = await (forUpdate
            ? db.Database.SqlQuery<GrantRow>($"""
                SELECT role_name::text AS "Role", nmsc AS "Nmsc", granted_at AS "GrantedAt", granted_by AS "GrantedBy", rotated_at AS "RotatedAt"
                FROM consent_read.grants WHERE role_name = {role} FOR UPDATE
                """)
            : db.Database.SqlQuery<GrantRow>($"""
                SELECT role_name::text AS "Role", nmsc AS "Nmsc", granted_at AS "GrantedAt", granted_by AS "GrantedBy", rotated_at AS "RotatedAt"
                FROM consent_read.grants WHERE role_name = {role}
                """)).ToListAsync(ct);
        return rows.SingleOrDefault()?.ToGrant();
    }

    sealed record GrantRow(string Role, string Nmsc, DateTime GrantedAt, string GrantedBy, DateTime? RotatedAt)
    {
        public SqlGrant ToGrant() => new(Role, Nmsc, GrantedAt, GrantedBy, RotatedAt);
    }

    /// <summary>
    /// Ends every session of the role and waits (up to 5 s each) for them to be gone. Needs pg_signal_backend (or a
    /// superuser) for the hub's role.
    /// </summary>
    async Task TerminateSessionsAsync(string role, CancellationToken ct) =>
        await ScalarAsync<long>("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE usename = $1", ct, role);

    /// <summary>Once the change is committed it stands; sessions that cannot be ended are logged, not answered as a failure.</summary>
    async Task TerminateAfterCommitAsync(string role, CancellationToken ct)
    {
        try
        {
            await TerminateSessionsAsync(role, ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            logger.LogWarning("The sessions of SQL read role {Role} could not be ended ({Reason}): grant the hub's database role pg_signal_backend.", role, e.MessageText);
        }
    }

    async Task<string> CurrentDatabaseAsync(CancellationToken ct) => await ScalarAsync<string>("SELECT current_database()", ct);

    async Task<SqlLogin> LoginAsync(SqlGrant grant, bool created, string password, CancellationToken ct)
    {
        var hub = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString("ConsentHub"));
        var settings = options.Value;
        var host = settings.Host ?? hub.Host ?? "localhost";
        var port = settings.Port ?? hub.Port;
        var database = settings.Database ?? hub.Database ?? await CurrentDatabaseAsync(ct);
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = host, Port = port, Database = database, Username = grant.Role, Password = password,
        }.ConnectionString;
        var authority = (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + $":{port}";
        var uri = $"postgresql://{grant.Role}:{Uri.EscapeDataString(password)}@{authority}/{Uri.EscapeDataString(database)}";
        var jdbc = $"jdbc:postgresql://{authority}/{Uri.EscapeDataString(database)}?user={grant.Role}&password={Uri.EscapeDataString(password)}";
        return new SqlLogin(grant, created, connectionString, uri, jdbc);
    }

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>An identifier, double-quoted as PostgreSQL reads it (the role's name is also checked against <see cref="RoleName"/>).</summary>
    static string Quote(string identifier) => new NpgsqlCommandBuilder().QuoteIdentifier(identifier);

    /// <summary>A string literal; utility statements (CREATE ROLE … PASSWORD) take no parameters.</summary>
    static string Literal(string value) =>
        value.Contains('\\', StringComparison.Ordinal) ? throw new ArgumentException("no backslashes in a literal", nameof(value)) : $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";

    // Statements go straight to Npgsql on the context's connection and transaction rather than through EF Core, whose
    // command log would carry them (the password verifier included) to the hub's log at Information level.
    Task ExecuteAsync(string sql, CancellationToken ct, params object[] parameters) =>
        RunAsync(sql, parameters, async command => await command.ExecuteNonQueryAsync(ct), ct);

    Task<T> ScalarAsync<T>(string sql, CancellationToken ct, params object[] parameters) =>
        RunAsync(sql, parameters, async command => (T)(await command.ExecuteScalarAsync(ct))!, ct);

    /// <summary>Runs a command in the unit of work's transaction, or on a connection of its own outside one.</summary>
    Task<T> RunAsync<T>(string sql, object[] parameters, Func<NpgsqlCommand, Task<T>> run, CancellationToken ct) =>
        ContextConnection.RunAsync(db, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            foreach (var value in parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });
            return await run(command);
        }, ct);
}
