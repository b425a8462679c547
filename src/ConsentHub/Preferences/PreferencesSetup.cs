using ConsentHub.Validation;

namespace ConsentHub.Preferences;

/// <summary>The preference centre (issue 21 §2): where a person sees and changes all their choices through one link.</summary>
public static class PreferencesSetup
{
    public static IServiceCollection AddPreferences(this IServiceCollection services)
    {
        services.AddOptions<PreferenceOptions>().BindConfiguration(PreferenceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddMemoryCache();
        services.AddSingleton<PreferenceTokens>();
        services.AddSingleton<IPreferenceCentreLinks, PreferenceCentreLinks>();
        services.AddScoped<PersonPreferences>();
        services.AddSingleton<PreferenceLinkMailer>();
        services.AddHostedService(s => s.GetRequiredService<PreferenceLinkMailer>());
        return services;
    }
}
