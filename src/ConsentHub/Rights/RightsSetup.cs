namespace ConsentHub.Rights;

/// <summary>Data subject rights (seed 004 §2.3): erasure, access and portability. Rectification is a change of communicationAttributes.</summary>
public static class RightsSetup
{
    public static IServiceCollection AddRights(this IServiceCollection services)
    {
        services.AddScoped<Erasures>();
        services.AddScoped<SubjectAccess>();
        return services.AddRightsPolicy();
    }

    public static IEndpointRouteBuilder MapRights(this IEndpointRouteBuilder app)
    {
        var rights = app.MapGroup("/nmscs/{nmsc}").WithTags("Data subject rights").RequireAuthorization(RightsAccess.Policy);
        rights.MapErasures();
        rights.MapSubjectAccess();
        app.MapErasurePage();
        return app;
    }
}
