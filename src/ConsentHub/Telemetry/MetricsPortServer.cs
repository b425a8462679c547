using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace ConsentHub.Telemetry;

/// <summary>
/// <c>GET /metrics</c> on a port of its own (<see cref="TelemetryOptions.MetricsPort"/>), without authentication, for a
/// scraper inside the operator's network: a small web server beside the hub's, serving the hub's metrics and nothing
/// else. The hub's own port then has no <c>/metrics</c>.
/// </summary>
sealed class MetricsPortServer(IServiceProvider hub, IOptions<TelemetryOptions> options, ILoggerFactory logs) : IHostedService, IAsyncDisposable
{
    WebApplication? server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value is not { MetricsEnabled: true, MetricsPort: { } port }) return;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(logs);
        builder.WebHost.UseKestrel(kestrel => kestrel.ListenAnyIP(port));
        var web = builder.Build();
        web.UseOpenTelemetryPrometheusScrapingEndpoint(hub.GetRequiredService<MeterProvider>(),
            http => HttpMethods.IsGet(http.Request.Method) && http.Request.Path == "/metrics", path: null, configureBranchedPipeline: null,
            optionsName: null);
        await web.StartAsync(cancellationToken);
        server = web;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (server is not null) await server.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
    }
}
