using System.Net;
using ConsentHub.Data;
using ConsentHub.Extracts;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static ConsentHub.Tests.Extracts.Extracts;

namespace ConsentHub.Tests.Extracts;

/// <summary>
/// Extracts on their schedule: one run per slot however many instances sweep, the file arriving by itself; a run abandoned by
/// a stopped instance taken over; a run that cannot succeed failed for good after its attempts, in the ledger.
/// </summary>
public sealed class ExtractScheduleTests
{
    /// <summary>The other workers are off: the clock moves by months, which would wake each of them at every step.</summary>
    static Dictionary<string, string?> Settings(bool extractWorker) => new()
    {
        ["ConsentHub:Extracts:Enabled"] = extractWorker ? "true" : "false",
        ["ConsentHub:Extracts:SweepSeconds"] = "1",
        // Files are kept past the months the clock moves, except where a test says otherwise.
        ["ConsentHub:Extracts:KeepDays"] = "365",
        ["ConsentHub:SuppressionFiles:WorkerEnabled"] = "false",
        ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
        ["ConsentHub:OptOut:Recovery:Enabled"] = "false",
    };

    static async Task<int> PassAsync(HubApp app)
    {
        using var scope = app.Scope();
        var runner = scope.ServiceProvider.GetRequiredService<ExtractRunner>();
        var queued = await runner.ScheduleDueAsync(CancellationToken.None);
        await runner.RunDueAsync(CancellationToken.None);
        return queued;
    }

    static async Task<List<ExtractRun>> RunsAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        return await app.Db(scope).ExtractRuns.AsNoTracking().Where(r => r.Nmsc == nmsc).OrderBy(r => r.RequestedAt).ToListAsync();
    }

    [ProviderTheory, Providers]
    public async Task A_monthly_summary_arrives_by_itself_once_per_slot_while_two_instances_sweep(DatabaseProvider provider)
    {
        var start = new DateTime(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
        var clock = new FakeTimeProvider(new DateTimeOffset(start.AddDays(-3)));
        await using var first = await HubApp.StartAsync(provider, Settings(extractWorker: true), s => s.AddSingleton<TimeProvider>(clock));
        await using var second = first.SecondInstance(Settings(extractWorker: false), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await first.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await SendAsync(first, crm, "c-1", "one@example.com", [new("OFFERS", true, start.AddDays(-5), "ref-1")], new Dictionary<string, bool> { ["EMAIL"] = true });
        using (var admin = await first.AdminAsync())
        {
            await DefineAsync(admin, crm.Nmsc, "dpo-monthly", new { kind = "summary", format = "csv", validatedOnly = false, schedule = "0 6 1 * *" });
            var definition = await Json.ReadAsync(await admin.GetAsync($"/admin/organisations/{crm.Nmsc}/extracts/dpo-monthly"));
            Assert.Equal(start.AddHours(6).ToString("yyyy-MM-dd'T'HH:mm:ss.000'Z'"), definition["nextRunAt"]!.GetValue<string>());
        }

        for (var month = 0; month < 3; month++)
        {
            var slot = start.AddMonths(month).AddHours(6);
            clock.SetUtcNow(slot.AddMinutes(-1));
            Assert.Equal(0, await PassAsync(second));
            clock.SetUtcNow(slot.AddMinutes(1));
            // The second instance sweeps twice at once while the first one's worker sweeps every second by itself.
            await Task.WhenAll(PassAsync(second), PassAsync(second));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await RunsAsync(first, crm.Nmsc)).Count(r => r.State == ExtractRunStates.Completed) < month + 1)
            {
                if (DateTime.UtcNow > deadline)
                {
                    using var look = first.Scope();
                    var definitions = await first.Db(look).ExtractDefinitions.AsNoTracking().Where(d => d.Nmsc == crm.Nmsc).Select(d => d.NextRunAt).ToListAsync();
                    Assert.Fail($"month {month}: the scheduled run did not complete; next run at {string.Join(",", definitions)}; runs: " +
                        string.Join("; ", (await RunsAsync(first, crm.Nmsc)).Select(r => $"{r.Slot} {r.State} {r.Attempts} {r.Error}")));
                }
                await Task.Delay(50);
            }
        }

        var runs = await RunsAsync(first, crm.Nmsc);
        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal(ExtractTriggers.Schedule, r.Trigger));
        Assert.Equal(Enumerable.Range(0, 3).Select(m => $"schedule:{start.AddMonths(m).AddHours(6):yyyy-MM-dd'T'HH:mm:ss.000'Z'}"), runs.Select(r => r.Slot));
        using var reader = await first.AdminAsync();
        foreach (var run in runs)
        {
            var response = await reader.GetAsync(ExtractApi.RunPath(crm.Nmsc, "dpo-monthly", run.Id));
            var view = (await Json.ReadAsync(response)).AsObject();
            Assert.True(response.StatusCode == HttpStatusCode.OK, view.ToJsonString());
            var rows = Rows("csv", await DownloadAsync(reader, view), ExtractColumns.DefaultSummary);
            Assert.Equal($"{crm.Nmsc}|toyota|OFFERS|true|1", string.Join("|", rows.Single().Values));
        }
        using var scope = first.Scope();
        var issued = await first.Db(scope).LedgerEntries.AsNoTracking().Where(e => e.Type == ExtractEvents.Issued).Select(e => e.Payload).ToListAsync();
        Assert.Equal(3, issued.Count(p => p.Contains(crm.Nmsc)));
    }

    [ProviderTheory, Providers]
    public async Task A_run_abandoned_by_a_stopped_instance_is_taken_over_and_one_that_cannot_succeed_fails_for_good_in_the_ledger(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await HubApp.StartAsync(provider, Settings(extractWorker: false), s => s.AddSingleton<TimeProvider>(clock));
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await SendAsync(app, crm, "c-1", "one@example.com", [new("OFFERS", true, DateTime.UtcNow.AddDays(-1), null)], new Dictionary<string, bool>());
        using var admin = await app.AdminAsync();
        await DefineAsync(admin, crm.Nmsc, "offers", new { columns = new[] { "sourceCustomerId" }, format = "csv", kind = "detail", validatedOnly = false });

        ExtractRun abandoned, broken;
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var definition = await db.ExtractDefinitions.SingleAsync(d => d.Nmsc == crm.Nmsc);
            // An instance claimed this run, stored half a file and stopped; its lease ran out a minute ago.
            abandoned = ExtractRunner.NewRun(definition, "test:abandoned", ExtractTriggers.OnDemand, "test", clock.GetUtcNow().UtcDateTime.AddMinutes(-10));
            abandoned.State = ExtractRunStates.Running;
            abandoned.Attempts = 1;
            abandoned.LeaseToken = Guid.NewGuid();
            abandoned.LeaseUntil = clock.GetUtcNow().UtcDateTime.AddMinutes(-1);
            db.ExtractRuns.Add(abandoned);
            db.ExtractChunks.Add(new ExtractChunk { RunId = abandoned.Id, Sequence = 0, Bytes = "half a fi"u8.ToArray() });
            // A run whose stored definition names a column the hub does not know cannot succeed however often it is tried.
            broken = ExtractRunner.NewRun(definition, "test:broken", ExtractTriggers.OnDemand, "test", clock.GetUtcNow().UtcDateTime.AddMinutes(-5));
            broken.Spec = broken.Spec.Replace("sourceCustomerId", "shoeSize");
            db.ExtractRuns.Add(broken);
            await db.SaveChangesAsync();
        }

        await PassAsync(app);
        var runs = (await RunsAsync(app, crm.Nmsc)).ToDictionary(r => r.Id);
        var takenOver = runs[abandoned.Id];
        Assert.Equal(ExtractRunStates.Completed, takenOver.State);
        Assert.Equal(2, takenOver.Attempts);
        Assert.Equal(1, takenOver.Rows);
        var view = (await Json.ReadAsync(await admin.GetAsync(ExtractApi.RunPath(crm.Nmsc, "offers", abandoned.Id)))).AsObject();
        Assert.Equal("sourceCustomerId\r\nc-1\r\n", System.Text.Encoding.UTF8.GetString((await DownloadAsync(admin, view))[3..]));

        var failed = runs[broken.Id];
        Assert.Equal(ExtractRunStates.Failed, failed.State);
        Assert.Equal(3, failed.Attempts);
        Assert.NotNull(failed.Error);
        using (var scope = app.Scope())
        {
            var entry = await app.Db(scope).LedgerEntries.AsNoTracking().SingleAsync(e => e.Index == failed.LedgerIndex);
            Assert.Equal(ExtractEvents.Failed, entry.Type);
            Assert.False(await app.Db(scope).ExtractChunks.AnyAsync(c => c.RunId == broken.Id));
        }
        Assert.Equal(HttpStatusCode.Conflict, (await admin.GetAsync($"{ExtractApi.RunPath(crm.Nmsc, "offers", broken.Id)}/file")).StatusCode);

        // After the retention period the file's content goes; its run, hash and ledger entry stay, and the download says so.
        clock.Advance(TimeSpan.FromDays(366));
        using (var scope = app.Scope())
            Assert.True(await scope.ServiceProvider.GetRequiredService<ExtractRunner>().PruneAsync(CancellationToken.None) >= 1);
        using var later = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.Gone, (await later.GetAsync($"{ExtractApi.RunPath(crm.Nmsc, "offers", abandoned.Id)}/file")).StatusCode);
        using (var scope = app.Scope())
            Assert.False(await app.Db(scope).ExtractChunks.AnyAsync(c => c.RunId == abandoned.Id));
    }
}
