using System.Text.Json.Nodes;
using ConsentHub.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// A route that takes API keys, for the tests only (the real ones live on other branches): <c>GET /test/api-key-probe</c>
/// requires <see cref="AuthSetup.ApiKeyPolicy"/> exactly as a shipped route would, and answers the caller's claims.
/// It is selected before routing runs, so the app's authentication and authorisation middleware judge it, and it is
/// never in the endpoint table (the authorisation table test does not see it). Only apps started with
/// <see cref="HubApp.WithApiKeyProbe"/> have it.
/// </summary>
sealed class ApiKeyProbe : IStartupFilter
{
    public const string Path = "/test/api-key-probe";

    static readonly Endpoint Probe = new(AnswerClaimsAsync,
        new EndpointMetadataCollection(new AuthorizeAttribute(AuthSetup.ApiKeyPolicy), new HttpMethodMetadata([HttpMethods.Get])),
        "API key probe (tests only)");

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        // Endpoint routing skips matching when an endpoint is already chosen.
        app.Use((context, rest) =>
        {
            if (context.Request.Path == Path && HttpMethods.IsGet(context.Request.Method)) context.SetEndpoint(Probe);
            return rest(context);
        });
        next(app);
    };

    static Task AnswerClaimsAsync(HttpContext context)
    {
        var claims = new JsonObject();
        foreach (var claim in context.User.Claims) claims[claim.Type] = claim.Value;
        return context.Response.WriteAsJsonAsync(claims);
    }
}
