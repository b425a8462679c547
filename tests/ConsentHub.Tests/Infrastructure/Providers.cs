using ConsentHub.Data;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// The data of a storage-touching theory: one case per provider, SQLite and PostgreSQL. Used with
/// <see cref="ProviderTheoryAttribute"/>, which shows the PostgreSQL cases as skipped, with the reason, when
/// CONSENTHUB_TEST_POSTGRES is not set (scripts/test.sh always sets it, so CI runs both).
/// </summary>
public sealed class ProvidersAttribute : MemberDataAttributeBase
{
    public ProvidersAttribute() : base(nameof(Both), []) => MemberType = typeof(ProvidersAttribute);

    public static string? PostgresAdminConnection => Environment.GetEnvironmentVariable("CONSENTHUB_TEST_POSTGRES") is { Length: > 0 } value ? value : null;

    /// <summary>Under CI a missing server is a broken setup: the cases run and fail saying why instead of being skipped.</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public const string PostgresMissing = "CONSENTHUB_TEST_POSTGRES is not set; run ./scripts/test.sh";

    /// <summary>Every provider, available or not: the theory's rows.</summary>
    public static IEnumerable<object[]> Both()
    {
        yield return [DatabaseProvider.Sqlite];
        yield return [DatabaseProvider.Postgres];
    }

    protected override object[] ConvertDataItem(System.Reflection.MethodInfo testMethod, object item) => (object[])item;
}

/// <summary>A theory whose rows name a provider (<see cref="ProvidersAttribute"/>): PostgreSQL rows are skipped, not dropped, without a server.</summary>
[XunitTestCaseDiscoverer("ConsentHub.Tests.Infrastructure.ProviderTheoryDiscoverer", "ConsentHub.Tests")]
public class ProviderTheoryAttribute : TheoryAttribute;

/// <summary>Makes a skipped case of each PostgreSQL row when no server is configured (and not under CI); every other row as usual.</summary>
public sealed class ProviderTheoryDiscoverer(IMessageSink diagnostics) : TheoryDiscoverer(diagnostics)
{
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(
        ITestFrameworkDiscoveryOptions options, ITestMethod method, IAttributeInfo theory, object[] row) =>
        row.Contains(DatabaseProvider.Postgres) && ProvidersAttribute.PostgresAdminConnection is null && !ProvidersAttribute.InCi
            ? CreateTestCasesForSkippedDataRow(options, method, theory, row, ProvidersAttribute.PostgresMissing)
            : base.CreateTestCasesForDataRow(options, method, theory, row);
}

/// <summary>A test that needs PostgreSQL itself (several instances on one database).</summary>
public sealed class PostgresOnlyAttribute : FactAttribute
{
    public PostgresOnlyAttribute()
    {
        if (ProvidersAttribute.PostgresAdminConnection is null && !ProvidersAttribute.InCi) Skip = ProvidersAttribute.PostgresMissing;
    }
}
