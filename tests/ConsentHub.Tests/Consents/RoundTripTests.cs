using System.Net;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Consents;

/// <summary>
/// The round trips to PostgreSQL of the hot paths, counted: Npgsql starts one activity per command or batch it sends
/// (its "Npgsql" ActivitySource), so a listener that keeps those of the test's own database counts what one request
/// cost. A change of a known record reads the record, its key, its entries and its contact in one batch
/// (LockedRecord), and a consent read is one batch.
/// </summary>
public sealed class RoundTripTests
{
    [PostgresOnly]
    public async Task A_validated_change_of_a_known_record_and_a_consent_read_take_the_round_trips_counted_here()
    {
        // The workers that poll the database are off, so that what the listener counts is the requests' own work.
        await using var app = await HubApp.StartAsync(ConsentHub.Data.DatabaseProvider.Postgres, new()
        {
            ["ConsentHub:Validation:WorkerEnabled"] = "false",
            ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
            ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
            ["ConsentHub:Replicas:Enabled"] = "false",
        });
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(system);
        var first = Seed.Consent("OFFERS", true);
        first["consent"]!["communicationAttributes"]!["email"] = "first@example.com";
        var created = await HubApp.SubmitAsync(client, system, "c1", first);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        // What rarely changes (source systems, which have a destination) is kept once the instance hears its notices.
        await app.NoticesHeardAsync();

        // Workers that poll (extracts, reminders, …) may query the database while a request runs; the request's own
        // commands are the same each time, so of three changes (and three reads) the one with the fewest is counted.
        var changes = new List<List<string>>();
        for (var i = 1; i <= 3; i++)
        {
            var change = Seed.Consent("OFFERS", i % 2 == 0, $"2024-01-0{i + 1}T10:00:00Z");
            change["consent"]!["communicationAttributes"]!["email"] = $"change-{i}@example.com";
            var (changed, traced) = await TraceAsync(app, () => HubApp.SubmitAsync(client, system, "c1", change));
            Assert.Equal(HttpStatusCode.Created, changed.StatusCode);
            changes.Add(traced);
        }
        var statements = changes.MinBy(c => c.Count)!;
        // The record's batch (its row locked, key, consents, channels, contact), the reactions' reads (cluster, values
        // propagated), the ledger head's lock and the save; the commit is not a command Npgsql traces. Each of the
        // record's reads alone was a round trip of its own before LockedRecord, and which systems have a destination
        // was read by every change before PushedSystems kept it: eleven in all, and the commit.
        Assert.True(statements.Count <= 5, $"a change of a known record took {statements.Count} round trips:\n{string.Join("\n", statements)}");
        Assert.Contains(statements, s => s.Contains("FOR UPDATE;", StringComparison.Ordinal) && s.Contains("FROM customers c", StringComparison.Ordinal));

        var reads = new List<List<string>>();
        for (var i = 1; i <= 3; i++)
        {
            var (read, traced) = await TraceAsync(app, () => client.GetAsync(HubApp.SubscriptionDataPath(system, "c1")));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            Assert.Equal("change-3@example.com", (await Json.ReadAsync(read))["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
            reads.Add(traced);
        }
        var readStatements = reads.MinBy(r => r.Count)!;
        Assert.True(readStatements.Count == 1, $"a consent read took {readStatements.Count} round trips:\n{string.Join("\n", readStatements)}");
    }

    /// <summary>
    /// What <paramref name="send"/> answered, and the first line of each command or batch Npgsql sent to the app's
    /// database meanwhile: one per round trip.
    /// </summary>
    static async Task<(HttpResponseMessage Answer, List<string> Statements)> TraceAsync(HubApp app, Func<Task<HttpResponseMessage>> send)
    {
        using var commands = NpgsqlCommands.Trace(app);
        var answer = await send();
        return (answer, commands.FirstLines);
    }
}
