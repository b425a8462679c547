using System.Diagnostics.Metrics;

namespace ConsentHub.Consents;

/// <summary>
/// The consent core's figures for operators (issue 21 §3): the changes applied, by organisation, counted once their
/// transaction has committed. The meter comes from the host's factory, so each hub in a process has its own.
/// </summary>
public sealed class ChangeMeters
{
    public const string MeterName = "ConsentHub.Consents";

    public ChangeMeters(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        Applied = meter.CreateCounter<long>("consenthub.changes.applied", "{change}",
            "Changes of consent that became a record's current state, committed, by organisation (nmsc)");
    }

    public Counter<long> Applied { get; }
}

/// <summary>The write pipeline's step that counts what a unit of work applied, once it has committed (<see cref="ChangeMeters"/>).</summary>
sealed class ChangeMetersReaction(ChangeMeters meters) : IChangeReaction
{
    readonly List<string> applied = [];

    /// <summary>Last: it only counts.</summary>
    public int Order => 1000;

    public Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct)
    {
        foreach (var change in changes) applied.Add(change.Customer.Nmsc);
        return Task.CompletedTask;
    }

    public void Committed()
    {
        foreach (var organisation in applied.GroupBy(nmsc => nmsc, StringComparer.Ordinal))
            meters.Applied.Add(organisation.Count(), new KeyValuePair<string, object?>("nmsc", organisation.Key));
        applied.Clear();
    }

    public void Reset() => applied.Clear();
}
