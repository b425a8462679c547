using ConsentHub.Auth;
using ConsentHub.Consents;

namespace ConsentHub.OptOut;

/// <summary>The opt-out service of seed 002: the upload, the suppression list and its files, and the industry pool.</summary>
public static class OptOutSetup
{
    public static IServiceCollection AddOptOut(this IServiceCollection services)
    {
        services.AddScoped<IChangeReaction, Supersession>();
        services.AddScoped<OptOutVault>().AddScoped<OptOutApplication>();
        services.AddOptions<OptOutRecoveryOptions>().BindConfiguration(OptOutRecoveryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OptOutRecovery>().AddHostedService(s => s.GetRequiredService<OptOutRecovery>());
        services.AddOptions<IndustryOptions>().BindConfiguration(IndustryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSuppressionCheckPolicy();
        services.AddScoped<OptOutUploads>().AddOptOutReads();
        services.AddSuppressionFiles();
        return services;
    }

    public static IEndpointRouteBuilder MapOptOut(this IEndpointRouteBuilder app)
    {
        app.MapApiKeys();
        app.MapDataSharing();
        app.MapIndustryOptOuts();
        app.MapSuppressionCheck();
        app.MapOptOutUpload();
        app.MapOptOutReads();
        app.MapSuppressionFiles().MapSuppressionFilePages();
        return app;
    }
}
