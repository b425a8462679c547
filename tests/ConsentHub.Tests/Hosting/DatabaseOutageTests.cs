using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Npgsql;

namespace ConsentHub.Tests.Hosting;

/// <summary>A database that stops taking connections is an outage to wait out (503, Retry-After), not a hub error (500).</summary>
public sealed class DatabaseOutageTests
{
    [PostgresOnly]
    public async Task While_postgres_refuses_connections_writes_answer_503_with_retry_after_and_work_again_after()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        var database = new NpgsqlConnectionStringBuilder(app.ConnectionString).Database!;

        // A real outage: the server refuses new connections to the database and ends the hub's open ones.
        await AdminAsync($"ALTER DATABASE {database} ALLOW_CONNECTIONS false");
        await AdminAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()");
        try
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var refused = await HubApp.SubmitAsync(client, crm, "c2", Seed.Consent("SURVEYS", true), idempotencyKey: "outage-1");
                Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)refused.StatusCode} {await refused.Content.ReadAsStringAsync()}");
                Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
                var problem = await Json.ReadAsync(refused);
                Assert.Equal(503, problem["status"]!.GetValue<int>());
                Assert.EndsWith("/database-unavailable", problem["type"]!.GetValue<string>(), StringComparison.Ordinal);
            }
            using var anonymous = app.CreateClient();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await anonymous.GetAsync("/health")).StatusCode);
        }
        finally
        {
            await AdminAsync($"ALTER DATABASE {database} ALLOW_CONNECTIONS true");
        }

        // Back: the same request, with the same key, is applied once.
        var applied = await HubApp.SubmitAsync(client, crm, "c2", Seed.Consent("SURVEYS", true), idempotencyKey: "outage-1");
        Assert.Equal(HttpStatusCode.Created, applied.StatusCode);
        var read = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, "c2")));
        Assert.Equal("SURVEYS", read["consent"]!["consentAttributes"]![0]!["consentCode"]!.GetValue<string>());
    }

    static async Task AdminAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(ProvidersAttribute.PostgresAdminConnection);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }
}
