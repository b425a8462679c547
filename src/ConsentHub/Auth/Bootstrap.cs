using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace ConsentHub.Auth;

public sealed class BootstrapOptions
{
    public const string Section = "ConsentHub:Bootstrap";
    public string? AdminPassword { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
}

/// <summary>
/// On first start with an empty database: creates the user <c>admin</c> and an OAuth client for it, from
/// ConsentHub__Bootstrap__* when given, otherwise from generated values shown once and written to
/// data/initial-credentials (owner-only).
/// </summary>
public static class Bootstrap
{
    public const string AdminUsername = "admin";
    public const string CredentialsFile = "initial-credentials";

    /// <summary>Creates the admin unless it exists; <paramref name="provider"/> is a scope's.</summary>
    public static async Task EnsureAdminAsync(IServiceProvider provider, CancellationToken ct = default)
    {
        var db = provider.GetRequiredService<ConsentDb>();
        var time = provider.GetRequiredService<TimeProvider>();
        if (await db.Users.AnyAsync(u => u.Username == AdminUsername, ct)) return;

        var options = provider.GetRequiredService<IOptions<BootstrapOptions>>().Value;
        var password = Given(options.AdminPassword) ?? Secrets.Generate();
        var clientId = Given(options.ClientId) ?? Secrets.Identifier("admin_client_");
        var clientSecret = Given(options.ClientSecret) ?? Secrets.Generate();
        var generated = Given(options.AdminPassword) is null || Given(options.ClientId) is null || Given(options.ClientSecret) is null;

        var ledger = provider.GetRequiredService<LedgerWriter>();
        await using (var transaction = await ledger.BeginAsync(ct))
        {
            // Another instance may have bootstrapped while this one waited for the ledger lock.
            if (await db.Users.AnyAsync(u => u.Username == AdminUsername, ct)) return;
            db.Users.Add(new HubUser
            {
                Username = AdminUsername, PasswordHash = Secrets.HashPassword(password), Role = Roles.Admin, CreatedAt = time.Now(),
            });
            ledger.Append(LedgerEvents.AdminBootstrapped, new { username = AdminUsername, clientId });
            await db.SaveChangesAsync(ct);
            await provider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(AuthSetup.AdminClient(clientId, clientSecret), ct);
            await transaction.CommitAsync(ct);
        }

        if (!generated) return;
        var dataDirectory = Path.GetFullPath(provider.GetRequiredService<IOptions<HubOptions>>().Value.DataDirectory);
        var file = Path.Combine(dataDirectory, CredentialsFile);
        var text = $"""
            # ConsentHub initial credentials, generated {time.GetUtcNow():u}. Shown once; stored hashed in the database.
            username={AdminUsername}
            password={password}
            client_id={clientId}
            client_secret={clientSecret}

            """;
        // Deliberately the console, not the log: the log pipeline may ship lines elsewhere. Printed before the
        // file is written so that a failing write cannot lose the only copy.
        Console.WriteLine($"""
            ===== ConsentHub first start: initial admin credentials (also in {file}) =====
            {text.TrimEnd()}
            ==================================================================================
            """);
        // Created owner-only from the start, so the secrets are never readable by others, even briefly.
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var stream = new FileStream(file, fileOptions))
        await using (var writer = new StreamWriter(stream))
            await writer.WriteAsync(text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
