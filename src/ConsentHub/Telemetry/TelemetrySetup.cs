using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ConsentHub.Telemetry;

/// <summary>
/// Metrics and traces for operators (issue 21 §3) through OpenTelemetry: ASP.NET Core's requests by route and status
/// (<c>http.server.request.duration</c>) and the hub's own meters, served to Prometheus at <c>GET /metrics</c> for the
/// admin role; and, when an OTLP endpoint is configured, the same metrics and the traces of requests and deliveries
/// (<see cref="HubTracing"/>) sent there. The endpoint answers what this instance measured since it started; each
/// instance is scraped on its own.
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The meters the hub reads: ASP.NET Core's requests, and the hub's own.</summary>
    static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", ChangeMeters.MeterName, DeliveryMeters.MeterName, ValidationMeters.MeterName, OperationsGauges.MeterName];

    /// <param name="configuration">Read here: whether spans are recorded and exported decides what is registered.</param>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OperationsGauges>().AddHostedService(sp => sp.GetRequiredService<OperationsGauges>());
        services.AddHostedService<MetricsPortServer>();
        var settings = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var telemetry = services.AddOpenTelemetry();
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(Meters).AddPrometheusExporter();
            if (settings.OtlpEndpoint is { } endpoint)
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    Otlp(exporter, endpoint, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = settings.OtlpExportMilliseconds;
                });
        });
        // Spans are recorded only to be exported: without a collector, nothing listens and no span is made.
        if (settings.OtlpEndpoint is { } traces)
            telemetry.WithTracing(tracing => tracing
                .AddSource(HubTracing.SourceName)
                .AddAspNetCoreInstrumentation(requests =>
                {
                    requests.EnrichWithHttpRequest = (span, _) => HubTracing.KeepNoPersonalData(span);
                    requests.EnrichWithHttpResponse = (span, _) => HubTracing.KeepNoPersonalData(span);
                })
                .AddOtlpExporter(exporter =>
                {
                    Otlp(exporter, traces, "v1/traces");
                    exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = settings.OtlpExportMilliseconds;
                }));
        return services;
    }

    /// <summary>OTLP over HTTP with protobuf, to the signal's path under the configured address.</summary>
    static void Otlp(OtlpExporterOptions exporter, string endpoint, string signal)
    {
        exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
        exporter.Endpoint = new Uri(new Uri(endpoint.TrimEnd('/') + "/"), signal);
    }

    public static void MapTelemetry(this WebApplication app)
    {
        // On a port of its own, it is served there alone (MetricsPortServer).
        if (app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value is not { MetricsEnabled: true, MetricsPort: null }) return;
        // GET only: the exporter's own mapping takes every method.
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new HttpMethodMetadata(["GET"])).RequireAuthorization(AuthSetup.AdminPolicy);
    }
}
