using ConsentHub.Consents;

namespace ConsentHub.Propagation;

/// <summary>A message planned for one record, waiting for the index of the ledger entry that causes it.</summary>
public sealed record PlannedMessage(PropagationMessage Message, PropagationCause Cause, List<ConsentEntry> Consents, List<ChannelEntry> Channels);

/// <summary>
/// The messages one change planned (<see cref="PropagationPlanner.TakeStaged"/>), kept with the change until its
/// "change-applied" entry names their targets and gives them its index.
/// </summary>
public sealed class StagedMessages(IReadOnlyList<PlannedMessage> planned)
{
    public IReadOnlyList<PlannedMessage> Planned => planned;

    /// <summary>The records the messages go to, for the entry that causes them; empty when nobody is to be told.</summary>
    public IReadOnlyList<PropagationTarget> Targets => TargetsOf(planned);

    internal static IReadOnlyList<PropagationTarget> TargetsOf(IEnumerable<PlannedMessage> planned) =>
        [.. planned.Select(p => new PropagationTarget(p.Message.Context, p.Message.SourceSystem, p.Message.SourceCustomerId, p.Message.Id))];
}
