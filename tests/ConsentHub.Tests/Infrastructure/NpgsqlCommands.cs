using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// The commands Npgsql sends to one test's database while it is kept: Npgsql starts one activity per command or batch
/// (its "Npgsql" ActivitySource), so each statement text kept is one round trip. Commands of other tests' databases,
/// which run beside it, are left out.
/// </summary>
public sealed class NpgsqlCommands : IDisposable
{
    readonly ConcurrentQueue<string> sent = new();
    readonly ActivityListener listener;

    NpgsqlCommands(string database)
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                // Commands only (not connection opens), and only this test's database.
                if (activity.GetTagItem("db.namespace") as string != database && activity.GetTagItem("db.name") as string != database) return;
                if ((activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) is string sql) sent.Enqueue(sql);
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    /// <summary>Starts keeping the commands sent to <paramref name="app"/>'s database.</summary>
    public static NpgsqlCommands Trace(HubApp app) => new(new NpgsqlConnectionStringBuilder(app.ConnectionString).Database!);

    /// <summary>The text of each command or batch sent so far, in the order they ended.</summary>
    public List<string> Sent => [.. sent];

    /// <summary>The first line of each, for a message that lists them.</summary>
    public List<string> FirstLines => [.. sent.Select(sql => sql.Split('\n')[0])];

    public void Dispose() => listener.Dispose();
}
