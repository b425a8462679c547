using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Telemetry;

/// <summary>What the hub tells operators' monitoring (section <c>ConsentHub:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "ConsentHub:Telemetry";

    /// <summary>Serves the Prometheus scrape endpoint <c>GET /metrics</c> to the admin role.</summary>
    public bool MetricsEnabled { get; set; } = true;

    /// <summary>How often the gauges' figures (outbox, mail queue, ledger, uploads) are read from the database.</summary>
    [Range(1, 3600)]
    public int SampleSeconds { get; set; } = 15;

    /// <summary>Whether anything reads the metrics, so that sampling them is worth a query.</summary>
    public bool Exported => MetricsEnabled;
}
