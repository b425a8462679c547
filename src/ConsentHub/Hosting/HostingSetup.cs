using ConsentHub.Data;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace ConsentHub.Hosting;

/// <summary>Problem details, versioning, OpenAPI, health: what every endpoint shares.</summary>
public static class HostingSetup
{
    public static IServiceCollection AddHosting(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddPublicAddress();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Extensions["traceId"] = c.HttpContext.TraceIdentifier;
            // Routing refuses other media types before a handler runs; say what is expected.
            if (c.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
                c.ProblemDetails.Detail ??= "Send the body as application/json.";
        });
        services.AddExceptionHandler<ClientErrorHandler>();
        services.AddApiVersioning();
        services.AddOpenApiContract();
        services.AddSecurityHeaders();
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "ConsentHub API";
            document.Info.Version = ApiVersioning.Current;
            document.Info.Description = "Consent and preference hub: the published language of the Subscription Centre, plus administration and ledger.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
            {
                ["oauth2"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.OAuth2,
                    Description = "Tokens from POST /oauth/token: grant_type password (seed 004 §5.5) or client_credentials, client authenticated with HTTP Basic.",
                    Flows = new OpenApiOAuthFlows
                    {
                        Password = new OpenApiOAuthFlow { TokenUrl = new Uri("/oauth/token", UriKind.Relative), Scopes = Scopes() },
                        ClientCredentials = new OpenApiOAuthFlow { TokenUrl = new Uri("/oauth/token", UriKind.Relative), Scopes = Scopes() },
                    },
                },
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("oauth2", document)] = ["read", "write"] }];
            return Task.CompletedTask;
        }));
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        return services;
    }

    static Dictionary<string, string> Scopes() => new() { ["read"] = "read subscription data", ["write"] = "send subscription data" };

    public static WebApplication UseHosting(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiVersioning();
        return app;
    }

    public static IEndpointRouteBuilder MapHosting(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().AllowAnonymous();
        // The browser's own fonts, not Scalar's font servers: the page's policy allows no other origin.
        app.MapScalarApiReference("/docs", o => o.WithTitle("ConsentHub API").DisableDefaultFonts()).AllowAnonymous();
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResponseWriter = (http, report) => http.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString(),
                checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString()),
            }),
        }).AllowAnonymous();
        return app;
    }

    /// <summary>Malformed requests the framework rejects become 4xx problems; anything else a generic 500 without internals.</summary>
    sealed class ClientErrorHandler(IProblemDetailsService problems, ILogger<ClientErrorHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
        {
            if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested) return true;
            var status = exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                Microsoft.AspNetCore.Antiforgery.AntiforgeryValidationException => StatusCodes.Status400BadRequest,
                _ when DatabaseOutage.Is(exception) => StatusCodes.Status503ServiceUnavailable,
                // The form reader's refusal of a value (e.g. one holding U+0000) is the client's error.
                InvalidDataException => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status500InternalServerError,
            };
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                logger.LogWarning(exception, "Database unavailable for {Method} {Path}", http.Request.Method, http.Request.Path);
                http.Response.Headers.RetryAfter = DatabaseOutage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (status >= 500) logger.LogError(exception, "Unhandled error for {Method} {Path}", http.Request.Method, http.Request.Path);
            http.Response.StatusCode = status;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                Exception = exception,
                ProblemDetails =
                {
                    Status = status,
                    Title = status switch
                    {
                        StatusCodes.Status503ServiceUnavailable => "The database is unavailable.",
                        >= 500 => "An unexpected error occurred.",
                        _ => "The request is malformed.",
                    },
                    Detail = status switch
                    {
                        StatusCodes.Status503ServiceUnavailable => DatabaseOutage.Detail,
                        >= 500 => null,
                        _ => exception.Message,
                    },
                    Type = status == StatusCodes.Status503ServiceUnavailable ? "https://consenthub.dev/problems/database-unavailable" : null,
                },
            });
        }
    }

    sealed class DatabaseHealthCheck(ConsentDb db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
            await db.Database.CanConnectAsync(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("database unreachable");
    }
}
