using System.Security.Claims;
using ConsentHub.Auth;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// The operators' console under <c>/console</c>: pages drawn on the server, without script, for the hub's admin and its
/// DPOs, signed in with the accounts they already have. The session is a cookie of its own, sent only to
/// <c>/console</c>, same-site only, and ended at the next request on every instance once its user is removed or changed
/// (<see cref="UserSessions"/>).
/// </summary>
public static class ConsoleSetup
{
    public const string Scheme = "console-session";
    public const string Policy = "console";
    public const string CookieName = "consenthub-console";
    public const string BasePath = "/console";
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    public static IServiceCollection AddOperatorConsole(this IServiceCollection services)
    {
        services.AddScoped<ActivityRollup>();
        services.AddOptions<ConsoleOptions>().BindConfiguration(ConsoleOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<ActivityRollupWorker>();
        services.AddAuthentication().AddUserSession(Scheme, CookieName, BasePath, SessionLifetime, ConsolePages.LoginPath, Operator.MaySignIn,
            events => events.OnRedirectToLogin = context =>
            {
                context.Response.Redirect(ConsolePages.LoginPath);
                return Task.CompletedTask;
            });
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p
            .AddAuthenticationSchemes(Scheme)
            .RequireAuthenticatedUser()
            .RequireAssertion(c => Operator.MaySignIn(c.User.FindFirstValue(HubClaims.Role) ?? "")));
        return services;
    }

    public static IEndpointRouteBuilder MapOperatorConsole(this IEndpointRouteBuilder app) => app.MapConsolePages();

    /// <summary>The claims of a console session.</summary>
    public static ClaimsPrincipal Principal(HubUser user) => UserSessions.Principal(user, Scheme);
}
