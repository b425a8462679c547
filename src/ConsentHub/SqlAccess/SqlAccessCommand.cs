using System.CommandLine;
using ConsentHub.Hosting;
using Npgsql;

namespace ConsentHub.SqlAccess;

/// <summary>
/// <c>ConsentHub sql-access grant|revoke|list</c>: SQL read access run directly against the configured database, as the
/// admin API does it, for an operator at the database's side. Exit codes: 0 done; 2 usage, refusal or connection error.
/// </summary>
public static class SqlAccessCommand
{
    public static bool Matches(string[] args) => args is ["sql-access", ..];

    public static Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        var nmsc = new Option<string>("--nmsc") { Description = "The organisation whose views the role reads.", Required = true, HelpName = "NMSC" };
        var role = new Option<string>("--role") { Description = $"The PostgreSQL login role: {SqlAccessGrants.RoleRule}.", Required = true, HelpName = "ROLE" };

        var grant = new Command("grant", """
            Create a read-only PostgreSQL login role that sees the organisation's consent_read views, or give an existing one a
            new password (its sessions end). Prints the connection string once; the hub does not keep the password.
            """) { nmsc, role };
        grant.SetAction((parsed, token) => RunAsync(services, async grants =>
        {
            var granted = await grants.GrantAsync(parsed.GetRequiredValue(nmsc), parsed.GetRequiredValue(role), By, token);
            if (granted.Refusal is { } refusal) return await RefusedAsync(error, refusal);
            var login = granted.Value!;
            await output.WriteLineAsync($"{(login.Created ? "granted" : "new password for")} {login.Grant.Role}: reads organisation {login.Grant.Nmsc} " +
                $"({string.Join(", ", SqlAccessGrants.Views.Select(v => $"{SqlAccessGrants.Schema}.{v}"))})");
            await output.WriteLineAsync($"connection string: {login.ConnectionString}");
            await output.WriteLineAsync($"psql:              {login.Uri}");
            await output.WriteLineAsync($"jdbc:              {login.JdbcUrl}");
            await output.WriteLineAsync("The password is shown this once; the hub does not keep it.");
            return 0;
        }));

        var revoke = new Command("revoke", "End the role's sessions and drop it: its access ends at once.") { nmsc, role };
        revoke.SetAction((parsed, token) => RunAsync(services, async grants =>
        {
            var revoked = await grants.RevokeAsync(parsed.GetRequiredValue(nmsc), parsed.GetRequiredValue(role), By, token);
            if (revoked.Refusal is { } refusal) return await RefusedAsync(error, refusal);
            await output.WriteLineAsync($"revoked {revoked.Value!.Role}: its sessions ended and the role is dropped");
            return 0;
        }));

        var listNmsc = new Option<string>("--nmsc") { Description = "The organisation.", Required = true, HelpName = "NMSC" };
        var list = new Command("list", "The organisation's SQL read roles (never a password).") { listNmsc };
        list.SetAction((parsed, token) => RunAsync(services, async grants =>
        {
            var listed = await grants.ListAsync(parsed.GetRequiredValue(listNmsc), token);
            if (listed.Refusal is { } refusal) return await RefusedAsync(error, refusal);
            foreach (var g in listed.Value!)
                await output.WriteLineAsync($"{g.Role}\tgranted {HubTime.Format(g.GrantedAt)} by {g.GrantedBy}" +
                    (g.RotatedAt is { } rotated ? $"\tpassword rotated {HubTime.Format(rotated)}" : ""));
            return 0;
        }));

        var root = new RootCommand("ConsentHub command-line verbs.")
        {
            new Command("sql-access", "Grant, revoke and list PostgreSQL login roles that read an organisation's consent_read views.") { grant, revoke, list },
        };
        return CommandLine.RunAsync(root, args, output, error, ct);
    }

    /// <summary>Who the ledger names: the operating-system user at the database's side.</summary>
    static string By => $"cli:{Environment.UserName}";

    static async Task<int> RunAsync(IServiceProvider services, Func<SqlAccessGrants, Task<int>> action)
    {
        await using var scope = services.CreateAsyncScope();
        var grants = scope.ServiceProvider.GetRequiredService<SqlAccessGrants>();
        try
        {
            if (!await grants.SchemaExistsAsync(CancellationToken.None))
                throw new CommandLine.UsageException($"The database has no {SqlAccessGrants.Schema} schema yet: start the hub (this version) once, so that it migrates the database.");
            return await action(grants);
        }
        catch (NpgsqlException e)
        {
            throw new CommandLine.UsageException($"cannot use the database: {e.Message}");
        }
    }

    static async Task<int> RefusedAsync(TextWriter error, SqlAccessRefusal refusal)
    {
        await error.WriteLineAsync(refusal.Field is null ? refusal.Detail : $"--{refusal.Field}: {refusal.Detail}");
        return CommandLine.UsageError;
    }
}
