using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Ledger;
using ConsentHub.Validation;
using Microsoft.AspNetCore.DataProtection;

namespace ConsentHub;

/// <summary>
/// What every instance does once at start, after the schema is migrated and before the first request: loads the
/// installation's keys (the first instance creates them), finishes the backfills of older data, and makes the first
/// admin. The composition root runs it, so that no feature has to know the others' keys.
/// </summary>
public static class HubStartup
{
    public static async Task PrepareAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var provider = scope.ServiceProvider;
        var db = provider.GetRequiredService<ConsentDb>();
        var time = provider.GetRequiredService<TimeProvider>();
        var protection = provider.GetRequiredService<IDataProtectionProvider>();
        await provider.GetRequiredService<TokenKeys>().LoadAsync(db, time, ct);
        await provider.GetRequiredService<CheckpointKey>().LoadAsync(db, protection, time, ct);
        await provider.GetRequiredService<BlindIndex>().LoadAsync(db, protection, time, ct);
        await provider.GetRequiredService<PersonKeyWrapping>().LoadAsync(db, protection, time, ct);
        await LedgerTreeBackfill.RunAsync(db, provider.GetRequiredService<LedgerWriter>(), ct);
        await PersonalDataBackfill.RunAsync(provider, ct);
        await ValidationBackfill.RunAsync(db, ct);
        await Bootstrap.EnsureAdminAsync(provider, ct);
    }
}
