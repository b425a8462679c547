using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Telemetry;

/// <summary>What the hub tells operators' monitoring (section <c>ConsentHub:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "ConsentHub:Telemetry";

    /// <summary>Serves the Prometheus scrape endpoint <c>GET /metrics</c> to the admin role.</summary>
    public bool MetricsEnabled { get; set; } = true;

    /// <summary>
    /// Serves <c>GET /metrics</c> on this port (every address), without authentication, instead of on the hub's port for
    /// the admin role. Unset: on the hub's port.
    /// </summary>
    [Range(1, 65535)]
    public int? MetricsPort { get; set; }

    /// <summary>How often the gauges' figures (outbox, mail queue, ledger, uploads) are read from the database.</summary>
    [Range(1, 3600)]
    public int SampleSeconds { get; set; } = 15;

    /// <summary>
    /// An OpenTelemetry collector's OTLP/HTTP address (e.g. <c>http://collector:4318</c>): traces go to <c>/v1/traces</c>
    /// and metrics to <c>/v1/metrics</c> under it, as protobuf. Unset: nothing is exported and no span is recorded.
    /// </summary>
    [Url]
    public string? OtlpEndpoint { get; set; }

    /// <summary>How long spans are batched before they are sent, and how often metrics are, to the OTLP endpoint.</summary>
    [Range(100, 3_600_000)]
    public int OtlpExportMilliseconds { get; set; } = 10_000;

    /// <summary>Whether anything reads the metrics, so that sampling them is worth a query.</summary>
    public bool Exported => MetricsEnabled || OtlpEndpoint is not null;
}
