using ConsentHub.Tenancy;

namespace ConsentHub.Consents;

public static class ConsentsSetup
{
    /// <summary>The consent core: the write pipeline (single and batch), its reactions' fan-out, keys, vault and blind index.</summary>
    public static IServiceCollection AddConsents(this IServiceCollection services) =>
        services.AddScoped<SubscriptionChanges>().AddScoped<BulkChanges>().AddScoped<ChangeReactions>().AddSingleton<TenancyCache>()
            .AddScoped<PersonKeys>().AddScoped<PersonalDataVault>().AddSingleton<BlindIndex>().AddSingleton<PersonKeyWrapping>()
            .AddSingleton<GroupCommit>().AddHostedService(sp => sp.GetRequiredService<GroupCommit>())
            .AddSingleton<ChangeMeters>().AddScoped<IChangeReaction, ChangeMetersReaction>();
}
