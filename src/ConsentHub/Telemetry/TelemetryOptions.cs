namespace ConsentHub.Telemetry;

/// <summary>What the hub tells operators' monitoring (section <c>ConsentHub:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "ConsentHub:Telemetry";

    /// <summary>Serves the Prometheus scrape endpoint <c>GET /metrics</c> to the admin role.</summary>
    public bool MetricsEnabled { get; set; } = true;
}
