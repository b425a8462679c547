namespace ConsentHub.OptOut;

/// <summary>The opt-out service of seed 002: the upload, the suppression list and its files, and the industry pool.</summary>
public static class OptOutSetup
{
    public static IServiceCollection AddOptOut(this IServiceCollection services)
    {
        services.AddScoped<OptOutVault>().AddScoped<OptOutApplication>();
        services.AddSuppressionFiles();
        return services;
    }

    public static IEndpointRouteBuilder MapOptOut(this IEndpointRouteBuilder app)
    {
        app.MapSuppressionFiles().MapSuppressionFilePages();
        return app;
    }
}
