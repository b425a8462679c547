using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConsentHub.Data;

public static class DataServices
{
    public static IServiceCollection AddConsentData(this IServiceCollection services)
    {
        services.AddOptions<HubOptions>().BindConfiguration(HubOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // Both provider contexts are registered; configuration picks one when ConsentDb is first resolved,
        // so that settings supplied late (tests, environment) still count. Pooled: a request rents a context
        // instead of building one and its options.
        services.AddDbContextPool<SqliteConsentDb>((sp, o) =>
            o.UseSqlite(ConnectionString(sp) ?? DefaultSqlite(sp.GetRequiredService<IOptions<HubOptions>>().Value))
                .AddInterceptors(sp.GetRequiredService<ChangeNoticeInterceptor>()));
        services.AddDbContextPool<PostgresConsentDb>((sp, o) =>
            o.UseNpgsql(PostgresConnectionString(sp)).AddInterceptors(ForUpdateInterceptor.Instance, sp.GetRequiredService<ChangeNoticeInterceptor>()));
        services.AddScoped<ConsentDb>(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider == DatabaseProvider.Postgres
            ? sp.GetRequiredService<PostgresConsentDb>()
            : sp.GetRequiredService<SqliteConsentDb>());
        services.AddKeyRingProtection();
        services.AddSingleton<ChangeNotices>();
        services.AddSingleton<ChangeNoticeInterceptor>();
        services.AddHostedService<ChangeNoticeListener>();
        return services;
    }

    static string? ConnectionString(IServiceProvider sp) =>
        sp.GetRequiredService<IConfiguration>().GetConnectionString("ConsentHub") is { Length: > 0 } value ? value : null;

    /// <summary>Statements prepared per connection unless the connection string says otherwise.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    public static string PostgresConnectionString(string configured)
    {
        var builder = new NpgsqlConnectionStringBuilder(configured)
        {
            // The hub keeps no session state on its connections, so the DISCARD ALL that Npgsql would
            // otherwise send at the next use of a pooled connection is a wasted round trip per request.
            NoResetOnClose = true,
        };
        // The hub runs a small set of statements over and over: prepared once per connection, PostgreSQL stops parsing
        // and planning them on every request. A connection string that sets it (0 behind PgBouncer in transaction
        // mode) is followed.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = configured }.Keys.Cast<string>();
        if (!given.Any(k => k.Replace(" ", "").Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        return builder.ConnectionString;
    }

    static string PostgresConnectionString(IServiceProvider sp) => PostgresConnectionString(
        ConnectionString(sp) ?? throw new InvalidOperationException("ConsentHub:Database:Provider is Postgres but ConnectionStrings:ConsentHub is empty."));

    static string DefaultSqlite(HubOptions hub) =>
        new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(Path.GetFullPath(hub.DataDirectory), "consenthub.db"),
            Pooling = true,
        }.ToString();

    /// <summary>Creates the data directory and brings the schema up to date before anything serves.</summary>
    public static async Task MigrateConsentDbAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        Directory.CreateDirectory(Path.GetFullPath(services.GetRequiredService<IOptions<HubOptions>>().Value.DataDirectory));
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        if (db.Provider == DatabaseProvider.Sqlite)
        {
            // WAL lets readers proceed while one writer commits; it is a property of the file, set once.
            await db.Database.OpenConnectionAsync(ct);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
            await db.Database.CloseConnectionAsync();
        }
        // EF Core reads the history table before creating it and logs the failure as an error on every fresh database
        // (dotnet/efcore#37328); creating it first (IF NOT EXISTS) keeps a first start free of alarms.
        await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(ct);
        await db.Database.MigrateAsync(ct);
    }
}
