using ConsentHub.Data;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// Every storage-touching test runs once per provider: SQLite always, PostgreSQL whenever scripts/test.sh
/// provides a server in CONSENTHUB_TEST_POSTGRES (it always does, so CI runs both).
/// </summary>
public sealed class ProvidersAttribute : MemberDataAttributeBase
{
    public ProvidersAttribute() : base(nameof(All), []) => MemberType = typeof(ProvidersAttribute);

    public static string? PostgresAdminConnection => Environment.GetEnvironmentVariable("CONSENTHUB_TEST_POSTGRES") is { Length: > 0 } value ? value : null;

    public static IEnumerable<object[]> All()
    {
        yield return [DatabaseProvider.Sqlite];
        if (PostgresAdminConnection is not null) yield return [DatabaseProvider.Postgres];
    }

    protected override object[] ConvertDataItem(System.Reflection.MethodInfo testMethod, object item) => (object[])item;
}

/// <summary>Theory data for tests that need PostgreSQL itself (several instances on one database).</summary>
public sealed class PostgresOnlyAttribute : FactAttribute
{
    public PostgresOnlyAttribute()
    {
        if (ProvidersAttribute.PostgresAdminConnection is null)
            Skip = "CONSENTHUB_TEST_POSTGRES is not set; run ./scripts/test.sh";
    }
}
