using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ConsentHub.Tests.Data;

/// <summary>
/// What the hub keeps in memory of rarely changing rows (whether a token's holder is still current) and how a change
/// reaches it: on PostgreSQL by the notice a writer commits with, never by a change that bypasses it; when the notices
/// are not heard (and always on SQLite) nothing kept is used.
/// </summary>
public sealed class ChangeNoticeTests
{
    static ChangeNotices Notices(HubApp app) => app.Services.GetRequiredService<ChangeNotices>();

    /// <summary>Changes the system's credential stamp in the database without the notice the hub's own writers commit with.</summary>
    static async Task ChangeStampBehindTheHubsBackAsync(HubApp app, long systemId)
    {
        using var scope = app.Scope();
        var changed = await app.Db(scope).SourceSystems.Where(s => s.Id == systemId)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.CredentialStamp, "changed-by-hand"));
        Assert.Equal(1, changed);
    }

    static async Task NotifyAsync(HubApp app, string topic)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var notify = new NpgsqlCommand("SELECT pg_notify(@channel, @topic)", connection);
        notify.Parameters.AddWithValue("channel", ChangeNotices.Channel);
        notify.Parameters.AddWithValue("topic", topic);
        await notify.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// A source system that has sent a change and read it back once the instance hears notices (on PostgreSQL its token
    /// holder's answer is then kept).
    /// </summary>
    static async Task<(SourceSystemCredentials Crm, string Path, HttpClient Client)> WarmAsync(HubApp app)
    {
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var path = HubApp.SubscriptionDataPath(crm, "c1");
        var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        await app.NoticesHeardAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        return (crm, path, client);
    }

    [ProviderTheory, Providers]
    public async Task A_holder_found_current_is_not_looked_up_again_on_postgres_until_a_notice_and_is_looked_up_every_time_on_sqlite(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var (crm, path, client) = await WarmAsync(app);
        using var _ = client;

        await ChangeStampBehindTheHubsBackAsync(app, crm.Id);

        if (provider == DatabaseProvider.Sqlite)
        {
            // Nothing is kept on SQLite: the next request reads the changed row.
            Assert.False(Notices(app).Live);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(path)).StatusCode);
            return;
        }
        // The instance still answers from memory: the row was not read again (a change without its notice is not seen).
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        // The notice a save of a source system row commits with makes it read the row again.
        await NotifyAsync(app, NoticeTopics.SourceSystems);
        Assert.Equal(HttpStatusCode.Unauthorized, (await HubApp.GetUntilUnauthorisedAsync(client, path)).StatusCode);
    }

    [PostgresOnly]
    public async Task When_the_notice_connection_is_lost_nothing_kept_is_used_until_it_is_back()
    {
        await using var app = await HubApp.StartAsync(DatabaseProvider.Postgres);
        var (crm, path, client) = await WarmAsync(app);
        using var _ = client;

        // The listener's backend is ended: a notice sent now would not be heard, so what was kept must not be used.
        await using (var admin = new NpgsqlConnection(app.ConnectionString))
        {
            await admin.OpenAsync();
            await using var end = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'consenthub-change-notices'",
                admin);
            Assert.Equal(1L, await end.ExecuteScalarAsync());
        }
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Notices(app).Live && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.False(Notices(app).Live, "the lost connection was not noticed");
        await ChangeStampBehindTheHubsBackAsync(app, crm.Id);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(path)).StatusCode);

        // It comes back by itself and is probed; from then on a holder's answer is kept again.
        await app.NoticesHeardAsync();
        Assert.Contains(app.Logs.Lines, l => l.Contains("Change notices are not heard", StringComparison.Ordinal));
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        using var asDms = await app.AsAsync(dms);
        var dmsPath = HubApp.SubscriptionDataPath(dms, "d1");
        Assert.Equal(HttpStatusCode.NotFound, (await asDms.GetAsync(dmsPath)).StatusCode);
        await ChangeStampBehindTheHubsBackAsync(app, dms.Id);
        Assert.Equal(HttpStatusCode.NotFound, (await asDms.GetAsync(dmsPath)).StatusCode);
    }
}
