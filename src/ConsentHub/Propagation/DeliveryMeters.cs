using System.Diagnostics.Metrics;

namespace ConsentHub.Propagation;

/// <summary>
/// Propagation's figures for operators (issue 21 §3): every webhook call's outcome, by destination, counted once its
/// attempt is recorded. The meter comes from the host's factory, so each hub in a process has its own.
/// </summary>
public sealed class DeliveryMeters
{
    public const string MeterName = "ConsentHub.Propagation";

    public DeliveryMeters(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        Attempts = meter.CreateCounter<long>("consenthub.deliveries", "{attempt}",
            "Webhook calls of PROPAGATED messages, by organisation (nmsc), destination (context/source system) and outcome (delivered, failed, gone)");
    }

    public Counter<long> Attempts { get; }

    public void Count(string nmsc, string context, string system, string outcome) =>
        Attempts.Add(1, new KeyValuePair<string, object?>("nmsc", nmsc), new KeyValuePair<string, object?>("destination", $"{context}/{system}"),
            new KeyValuePair<string, object?>("outcome", outcome));
}
