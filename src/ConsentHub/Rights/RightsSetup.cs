using ConsentHub.Auth;

namespace ConsentHub.Rights;

/// <summary>Data subject rights (seed 004 §2.3): erasure, access and portability. Rectification is a change of communicationAttributes.</summary>
public static class RightsSetup
{
    public static IServiceCollection AddRights(this IServiceCollection services)
    {
        services.AddScoped<Erasures>();
        services.AddScoped<SubjectAccess>();
        services.AddSingleton<Bulk.IDpoLandingSection, RightsSection>();
        return services.AddOrganisationAccessPolicy();
    }

    public static IEndpointRouteBuilder MapRights(this IEndpointRouteBuilder app)
    {
        var rights = app.MapGroup("/nmscs/{nmsc}").WithTags("Data subject rights").RequireAuthorization(OrganisationAccess.Policy);
        rights.MapErasures();
        rights.MapSubjectAccess();
        app.MapErasurePage();
        return app;
    }
}

/// <summary>The DPO landing page's way to the data subject rights pages.</summary>
sealed class RightsSection : Bulk.IDpoLandingSection
{
    public int Order => 30;

    public Task<string> HtmlAsync(Data.ConsentDb db, IReadOnlyList<string> organisations, CancellationToken ct) => Task.FromResult($"""
        <section aria-labelledby="rights-heading">
        <h2 id="rights-heading">Data subject rights</h2>
        <p><a href="{ErasurePage.Path}">Erase a person</a> <span class="hint">by email, phone or source record, after a confirmation</span></p>
        </section>
        """);
}
