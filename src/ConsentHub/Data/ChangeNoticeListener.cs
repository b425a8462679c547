using Microsoft.Extensions.Options;
using Npgsql;

namespace ConsentHub.Data;

/// <summary>
/// Hears the notices of <see cref="ChangeNotices"/> on PostgreSQL, on a connection of its own, and moves the topic of
/// each one on. Caches go live only once it listens and a probe sent from another connection has come back; if the
/// connection is lost they go dark (every lookup reads the database) until it is back and has been probed again.
/// </summary>
sealed class ChangeNoticeListener(
    ChangeNotices notices, IOptions<DatabaseOptions> database, IConfiguration configuration, ILogger<ChangeNoticeListener> logger)
    : BackgroundService
{
    const string ProbePrefix = "probe:";
    static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
    static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);
    /// <summary>After a probe that never came back (a pooler that does not pass notices on) the listener tries less often.</summary>
    static readonly TimeSpan AfterLostProbe = TimeSpan.FromMinutes(1);

    sealed class ProbeLost() : Exception("A notice sent from another connection did not come back within 5 s: is a pooler in transaction mode between the hub and PostgreSQL?");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (database.Value.Provider != DatabaseProvider.Postgres) return;
        var connectionString = ListenerConnectionString(configuration.GetConnectionString("ConsentHub") ?? "");
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Reconnect;
            try
            {
                await ListenAsync(connectionString, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                notices.GoDark();
                if (e is ProbeLost) wait = AfterLostProbe;
                logger.LogWarning(e, "Change notices are not heard; cached credentials are not used until they are (next try in {Seconds} s).", wait.TotalSeconds);
            }
            try { await Task.Delay(wait, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
        notices.GoDark();
    }

    /// <summary>A connection of its own (not from the pool, which would reset it), kept alive so a lost one is noticed.</summary>
    static string ListenerConnectionString(string configured) =>
        new NpgsqlConnectionStringBuilder(DataServices.PostgresConnectionString(configured))
        {
            Pooling = false,
            KeepAlive = 10,
            ApplicationName = "consenthub-change-notices",
        }.ConnectionString;

    async Task ListenAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        var probe = ProbePrefix + Guid.NewGuid().ToString("N");
        var probed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Notification += (_, e) =>
        {
            if (e.Payload == probe) probed.TrySetResult();
            else if (!e.Payload.StartsWith(ProbePrefix, StringComparison.Ordinal)) notices.Changed(e.Payload);
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {ChangeNotices.Channel}", connection))
            await listen.ExecuteNonQueryAsync(ct);

        await using (var other = new NpgsqlConnection(connectionString))
        {
            await other.OpenAsync(ct);
            await using var send = new NpgsqlCommand("SELECT pg_notify(@channel, @probe)", other);
            send.Parameters.AddWithValue("channel", ChangeNotices.Channel);
            send.Parameters.AddWithValue("probe", probe);
            await send.ExecuteNonQueryAsync(ct);
        }
        var deadline = DateTime.UtcNow + ProbeTimeout;
        while (!probed.Task.IsCompleted)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await connection.WaitAsync(left, ct)) throw new ProbeLost();
        }

        // Whatever was cached while nobody listened may be stale: start every topic again, then trust what is read from now on.
        notices.ChangedAll();
        notices.GoLive();
        logger.LogInformation("Change notices are heard on channel {Channel}; cached credentials are in use.", ChangeNotices.Channel);
        while (true) await connection.WaitAsync(ct);
    }
}
