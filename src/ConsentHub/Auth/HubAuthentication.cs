using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;
using OpenIddict.Server.AspNetCore;

namespace ConsentHub.Auth;

/// <summary>
/// ASP.NET Core's authentication middleware, except that OpenIddict's server, which may answer a request itself, is
/// asked only on the OAuth routes. On every other route it only looks for one of its endpoints and finds none: the
/// consent read spent a seventeenth of its CPU in that look. The other schemes that may answer a request (OpenIddict's
/// validation, which prepares there what it needs to authenticate the request) are asked everywhere, as before.
/// </summary>
public static class HubAuthentication
{
    /// <summary>Where OpenIddict's server endpoints live (today only <c>/oauth/token</c>).</summary>
    public static readonly PathString OAuthRoutes = "/oauth";

    /// <summary>
    /// The key by which <c>WebApplication</c> knows authentication is in the pipeline; without it, it would add the
    /// stock middleware in front of everything again.
    /// </summary>
    const string MiddlewareSetKey = "__AuthenticationMiddlewareSet";

    public static IApplicationBuilder UseHubAuthentication(this IApplicationBuilder app)
    {
        app.Properties[MiddlewareSetKey] = true;
        return app.UseMiddleware<Middleware>();
    }

    sealed class Middleware(RequestDelegate next, IAuthenticationSchemeProvider schemes)
    {
        public async Task InvokeAsync(HttpContext context)
        {
            context.Features.Set<IAuthenticationFeature>(new AuthenticationFeature
            {
                OriginalPath = context.Request.Path,
                OriginalPathBase = context.Request.PathBase,
            });
            var handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
            var oauthRoute = context.Request.Path.StartsWithSegments(OAuthRoutes);
            foreach (var scheme in await schemes.GetRequestHandlerSchemesAsync())
            {
                if (!oauthRoute && scheme.Name == OpenIddictServerAspNetCoreDefaults.AuthenticationScheme) continue;
                if (await handlers.GetHandlerAsync(context, scheme.Name) is IAuthenticationRequestHandler handler
                    && await handler.HandleRequestAsync()) return;
            }
            if (await schemes.GetDefaultAuthenticateSchemeAsync() is { } defaultScheme)
            {
                var result = await context.AuthenticateAsync(defaultScheme.Name);
                if (result.Principal is not null) context.User = result.Principal;
                if (result.Succeeded)
                {
                    var features = new ResultFeatures(result);
                    context.Features.Set<IHttpAuthenticationFeature>(features);
                    context.Features.Set<IAuthenticateResultFeature>(features);
                }
            }
            await next(context);
        }
    }

    /// <summary>The result of authentication, as the stock middleware leaves it for authorization to read.</summary>
    sealed class ResultFeatures(AuthenticateResult authenticated) : IAuthenticateResultFeature, IHttpAuthenticationFeature
    {
        AuthenticateResult? result = authenticated;
        ClaimsPrincipal? user = authenticated.Principal;

        public AuthenticateResult? AuthenticateResult
        {
            get => result;
            set
            {
                result = value;
                user = value?.Principal;
            }
        }

        public ClaimsPrincipal? User
        {
            get => user;
            set
            {
                user = value;
                result = null;
            }
        }
    }
}
