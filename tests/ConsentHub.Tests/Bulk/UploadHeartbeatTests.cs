using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Bulk;

/// <summary>
/// A running upload renews a heartbeat; every instance's watchdog fails an upload whose heartbeat stopped, while the hub
/// keeps running: no restart, and no wait for minutes.
/// </summary>
public sealed class UploadHeartbeatTests
{
    static readonly Dictionary<string, string?> Quick = new()
    {
        ["ConsentHub:Upload:HeartbeatSeconds"] = "1",
        ["ConsentHub:Upload:StaleSeconds"] = "3",
        ["ConsentHub:Upload:WatchdogSeconds"] = "1",
        ["ConsentHub:Upload:BatchSize"] = "100",
    };

    /// <summary>NDJSON records, one every <paramref name="pause"/>: a client slower than the stale limit.</summary>
    sealed class SlowRecords(IReadOnlyList<string> lines, TimeSpan pause) : HttpContent
    {
        public SlowRecords Typed()
        {
            Headers.ContentType = new MediaTypeHeaderValue(UploadApi.NdjsonMediaType);
            return this;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            foreach (var line in lines)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
                await stream.FlushAsync();
                await Task.Delay(pause);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [ProviderTheory, Providers]
    public async Task An_upload_whose_heartbeat_stops_is_failed_while_the_hub_runs_and_a_slow_live_one_completes(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Quick, kestrelPort: HubApp.FreePort());
        var system = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        // An upload whose instance died: RUNNING, and nothing renews its heartbeat any more.
        var now = DateTime.UtcNow;
        var abandoned = new Upload
        {
            Id = Guid.CreateVersion7(), SourceSystemId = system.Id, Nmsc = system.Nmsc, Context = system.Context, SourceSystem = system.Name,
            SubmittedBy = system.ClientId, Status = UploadStatuses.Running, StartedAt = now, UpdatedAt = now, HeartbeatAt = now,
        };
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.Uploads.Add(abandoned);
            await db.SaveChangesAsync();
        }
        using var client = await Uploads.StreamingClientAsync(app, system);
        Assert.Equal("RUNNING", (await Json.ReadAsync(await client.GetAsync($"/uploads/{abandoned.Id}")))["status"]!.GetValue<string>());

        // Meanwhile a live upload takes twice the stale limit, its records trickling in: it must not be taken for dead.
        var lines = Enumerable.Range(1, 12).Select(i => Uploads.Envelope(system, $"slow-{i}", Seed.Consent("OFFERS", true)).ToJsonString()).ToList();
        var live = Uploads.PostAsync(client, system, new SlowRecords(lines, TimeSpan.FromMilliseconds(500)).Typed());

        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var job = await Json.ReadAsync(await client.GetAsync($"/uploads/{abandoned.Id}"));
            if (job["status"]!.GetValue<string>() == "FAILED")
            {
                Assert.Equal(UploadWatchdog.Reason, job["failureReason"]!.GetValue<string>());
                break;
            }
            Assert.True(DateTime.UtcNow < until, $"the abandoned upload is still {job["status"]}");
            await Task.Delay(200);
        }

        var (_, finished) = await live;
        Assert.Equal("COMPLETED", finished["status"]!.GetValue<string>());
        Assert.Equal(12, Uploads.Count(finished, "applied"));
        var started = DateTime.Parse(finished["startedAt"]!.GetValue<string>(), null, System.Globalization.DateTimeStyles.RoundtripKind);
        var ended = DateTime.Parse(finished["finishedAt"]!.GetValue<string>(), null, System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.True(ended - started > TimeSpan.FromSeconds(3), "the live upload outlasted the stale limit");
    }
}
