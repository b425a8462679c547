using System.Diagnostics;
using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;
using static ConsentHub.Tests.Extracts.Extracts;

namespace ConsentHub.Tests.Extracts;

/// <summary>
/// A million-row extract in each format: every row arrives, and the hub's managed heap grows by a bounded amount while the
/// file is written, far less than the file itself, because rows stream from one reader into stored chunks.
/// The rows are arranged by SQL straight into the core tables (500,000 records with two consents each): the API would take
/// minutes to say the same, and what is under test is the extract, not the intake.
/// It runs in the memory collection, alone, so that no other test's allocations count as the extract's.
/// </summary>
[Collection(nameof(Bulk.MemoryCollection))]
[Trait("Category", "Memory")]
public sealed class ExtractScaleTests(ITestOutputHelper output)
{
    const int Records = 500_000;
    const long Rows = 2 * Records;
    /// <summary>The bound on the live heap's growth during a run: a few chunks and one Parquet row group, not a file.</summary>
    const long MaxGrowth = 96L * 1024 * 1024;

    static async Task SeedAsync(HubApp app, SourceSystemCredentials crm)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        db.Database.SetCommandTimeout(600);
        if (db.Provider == DatabaseProvider.Postgres)
        {
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO customers ("SourceSystemId", "Nmsc", "Context", "SourceSystem", "SourceCustomerId", "Language", "Country", "CreatedAt")
                SELECT {crm.Id}, {crm.Nmsc}, 'toyota', 'crm', 'big-' || g, 'en', 'GB', now() FROM generate_series(1, {Records}) g
                """);
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO consent_entries ("CustomerId", "Code", "Flag", "Description", "RequestedAt", "ValidatedAt", "ChangeRequestId", "Sequence")
                SELECT c."Id", v.code, c."Id" % 2 = 0, 'I agree, "gladly"', now() - (c."Id" % 1000) * interval '1 minute', now(), gen_random_uuid(), 0
                FROM customers c CROSS JOIN (VALUES ('OFFERS'), ('SURVEYS')) v(code) WHERE c."Nmsc" = {crm.Nmsc}
                """);
        }
        else
        {
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {Records})
                INSERT INTO customers ("SourceSystemId", "Nmsc", "Context", "SourceSystem", "SourceCustomerId", "Language", "Country", "CreatedAt")
                SELECT {crm.Id}, {crm.Nmsc}, 'toyota', 'crm', 'big-' || n, 'en', 'GB', '2026-12-01 00:00:00' FROM g
                """);
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO consent_entries ("CustomerId", "Code", "Flag", "Description", "RequestedAt", "ValidatedAt", "ChangeRequestId", "Sequence")
                SELECT c."Id", v.code, c."Id" % 2 = 0, 'I agree, "gladly"', '2026-12-01 10:00:00', '2026-12-01 10:05:00', lower(hex(randomblob(16))), 0
                FROM customers c CROSS JOIN (SELECT 'OFFERS' AS code UNION ALL SELECT 'SURVEYS') v WHERE c."Nmsc" = {crm.Nmsc}
                """);
        }
        Assert.Equal(Rows, await db.ConsentEntries.LongCountAsync(e => db.Customers.Any(c => c.Id == e.CustomerId && c.Nmsc == crm.Nmsc)));
    }

    [ProviderTheory, Providers]
    public async Task A_million_row_extract_in_each_format_has_every_row_and_runs_in_bounded_memory(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var seeding = Stopwatch.StartNew();
        await SeedAsync(app, crm);
        output.WriteLine($"{provider}: {Rows:N0} rows seeded in {seeding.Elapsed.TotalSeconds:F1} s");
        using var admin = await app.AdminAsync();
        string[] columns = ["sourceCustomerId", "consentCode", "consentFlag", "consentDescription", "requestedTimestamp"];
        foreach (var format in ConsentHub.Extracts.ExtractFormats.All)
        {
            await DefineAsync(admin, crm.Nmsc, format, new { columns, format, kind = "detail", validatedOnly = false });
            await using var heap = HeapSampler.Start();
            var clock = Stopwatch.StartNew();
            var run = await RunAsync(admin, crm.Nmsc, format);
            var seconds = clock.Elapsed.TotalSeconds;
            var growth = await heap.StopAsync();
            var size = run["bytes"]!.GetValue<long>();
            output.WriteLine($"{provider} {format}: {Rows:N0} rows, {size / 1e6:F1} MB in {seconds:F1} s; live heap grew by at most {growth / 1e6:F1} MB");
            Assert.Equal(Rows, run["rows"]!.GetValue<long>());
            Assert.True(growth < MaxGrowth, $"{format}: the heap grew by {growth / 1e6:F1} MB during the run");

            var reading = Stopwatch.StartNew();
            var bytes = await DownloadAsync(admin, run);
            Assert.Equal(Rows, Count(format, bytes));
            output.WriteLine($"{provider} {format}: downloaded and counted in {reading.Elapsed.TotalSeconds:F1} s");
        }
    }

    /// <summary>The rows of a file, counted by readers that do not hold it as objects.</summary>
    static long Count(string format, byte[] bytes)
    {
        switch (format)
        {
            case "csv":
                // Lines less the header: no field holds a line break.
                return bytes.AsSpan().Count((byte)'\n') - 1;
            case "ndjson":
                return bytes.AsSpan().Count((byte)'\n');
            case "json":
                var reader = new Utf8JsonReader(bytes);
                long objects = 0;
                while (reader.Read()) if (reader.TokenType == JsonTokenType.StartObject && reader.CurrentDepth == 1) objects++;
                return objects;
            default:
                var counted = DuckDbQuery(bytes, "SELECT count(*) AS n, count(DISTINCT \"sourceCustomerId\") AS people FROM read_parquet('{0}')", ["n", "people"]);
                Assert.Equal(Records.ToString(), counted[0]["people"]);
                return long.Parse(counted[0]["n"]!);
        }
    }
}
