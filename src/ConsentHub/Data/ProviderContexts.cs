using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace ConsentHub.Data;

// Two subclasses instead of two migrations projects: a migrations project must reference the
// model and the host must load the migrations, which is a project cycle while the model lives
// in the host. A context type per provider keeps each provider's migrations apart in one assembly.
public sealed class SqliteConsentDb(DbContextOptions<SqliteConsentDb> options) : ConsentDb(options)
{
    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;
}

public sealed class PostgresConsentDb(DbContextOptions<PostgresConsentDb> options) : ConsentDb(options)
{
    public override DatabaseProvider Provider => DatabaseProvider.Postgres;
}

/// <summary>Used by <c>dotnet ef migrations add</c> only (scripts/add-migration.sh).</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteConsentDb>
{
    public SqliteConsentDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteConsentDb>().UseSqlite("Data Source=design.db").Options);
}

/// <summary>Used by <c>dotnet ef migrations add</c> only (scripts/add-migration.sh).</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresConsentDb>
{
    public PostgresConsentDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresConsentDb>().UseNpgsql("Host=localhost").Options);
}
