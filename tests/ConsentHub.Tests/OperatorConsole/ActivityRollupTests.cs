using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.OperatorConsole;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's hourly counts (<see cref="ActivityRollup"/>): every applied change is counted once, under its own
/// organisation and context, however the ledger is cut into rounds and however many count at the same time (the
/// instance's own worker runs beside the rounds this test starts).
/// </summary>
public sealed class ActivityRollupTests
{
    [ProviderTheory, Providers]
    public async Task Every_applied_change_is_counted_once_under_its_organisation_by_concurrent_rounds_of_any_size(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var tgb = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var tfr = await app.RegisterSourceSystemAsync("tfr", "lexus", "crm");
        using (var client = await app.AsAsync(tgb))
            for (var i = 0; i < 5; i++) await HubApp.AppliedAsync(client, tgb, $"c-{i}", Seed.Consent("OFFERS", i % 2 == 0));
        using (var client = await app.AsAsync(tfr))
            for (var i = 0; i < 3; i++) await HubApp.AppliedAsync(client, tfr, $"d-{i}", Seed.Consent("OFFERS", true));

        // Rounds of 3 entries from two scopes at once, until both find nothing left.
        await Task.WhenAll(CountAllAsync(app, batch: 3), CountAllAsync(app, batch: 3));
        Assert.Equal(new Dictionary<string, long> { ["tfr/lexus"] = 3, ["tgb/toyota"] = 5 }, await ChangesAsync(app));

        using (var client = await app.AsAsync(tgb))
            for (var i = 5; i < 7; i++) await HubApp.AppliedAsync(client, tgb, $"c-{i}", Seed.Consent("OFFERS", true));
        await Task.WhenAll(CountAllAsync(app, batch: 2), CountAllAsync(app, batch: 5000));
        Assert.Equal(new Dictionary<string, long> { ["tfr/lexus"] = 3, ["tgb/toyota"] = 7 }, await ChangesAsync(app));

        // Caught up: nothing behind, and another round counts nothing.
        await using var scope = app.Services.CreateAsyncScope();
        var rollup = scope.ServiceProvider.GetRequiredService<ActivityRollup>();
        Assert.Equal(0, await rollup.BehindAsync(CancellationToken.None));
        Assert.Equal(0, await rollup.CountNextAsync(CancellationToken.None));
        Assert.Equal(new Dictionary<string, long> { ["tfr/lexus"] = 3, ["tgb/toyota"] = 7 }, await ChangesAsync(app));
    }

    static async Task CountAllAsync(HubApp app, int batch)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var rollup = scope.ServiceProvider.GetRequiredService<ActivityRollup>();
        while (await rollup.CountNextAsync(CancellationToken.None, batch) > 0) { }
    }

    static async Task<Dictionary<string, long>> ChangesAsync(HubApp app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var rows = await db.ActivityHours.AsNoTracking().Where(h => h.Kind == LedgerEvents.ChangeApplied).ToListAsync();
        return rows.GroupBy(h => $"{h.Nmsc}/{h.Context}").ToDictionary(g => g.Key, g => g.Sum(h => h.Count));
    }
}
