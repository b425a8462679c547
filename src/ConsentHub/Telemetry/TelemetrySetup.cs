using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace ConsentHub.Telemetry;

/// <summary>
/// Metrics for operators (issue 21 §3) through OpenTelemetry: ASP.NET Core's requests by route and status
/// (<c>http.server.request.duration</c>) and the hub's own meters, served to Prometheus at <c>GET /metrics</c> for the
/// admin role. The endpoint answers what this instance measured since it started; each instance is scraped on its own.
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The meters the hub reads: ASP.NET Core's requests, and the hub's own.</summary>
    static readonly string[] Meters = ["Microsoft.AspNetCore.Hosting", ChangeMeters.MeterName, DeliveryMeters.MeterName, ValidationMeters.MeterName, OperationsGauges.MeterName];

    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OperationsGauges>().AddHostedService(sp => sp.GetRequiredService<OperationsGauges>());
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());
        return services;
    }

    public static void MapTelemetry(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.MetricsEnabled) return;
        // GET only: the exporter's own mapping takes every method.
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new HttpMethodMetadata(["GET"])).RequireAuthorization(AuthSetup.AdminPolicy);
    }
}
