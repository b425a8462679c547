namespace ConsentHub.Consents;

/// <summary>
/// How applied changes combine: per category and per channel the change with the latest requestedTimestamp wins,
/// and on a tie the one that arrived later. Used for the current state and to replay the state at an instant.
/// </summary>
public sealed class SubscriptionState(long customerId)
{
    public Dictionary<string, ConsentEntry> Consents { get; } = [];
    public Dictionary<string, ChannelEntry> Channels { get; } = [];

    /// <summary>Language, country and email of the latest applied change that carried them.</summary>
    public CommunicationAttributes? Communication { get; set; }

    /// <summary>Folds one applied change in; returns the entries it created (existing ones are updated in place).</summary>
    public (List<ConsentEntry> NewConsents, List<ChannelEntry> NewChannels) Apply(
        NormalisedChange change, Guid changeRequestId, long sequence, DateTime appliedAt, string originSourceSystem)
    {
        if (change.Communication is { } communication) Communication = communication;

        var newConsents = new List<ConsentEntry>();
        foreach (var value in change.Consents)
        {
            if (Consents.TryGetValue(value.Code, out var current) && !Wins(value.RequestedAt, sequence, current.RequestedAt, current.Sequence))
                continue;
            if (current is null)
            {
                current = new ConsentEntry { CustomerId = customerId, Code = value.Code };
                Consents[value.Code] = current;
                newConsents.Add(current);
            }
            current.Flag = value.Flag;
            current.Description = value.Description;
            current.LongDescription = value.LongDescription;
            current.RequestedAt = value.RequestedAt;
            current.ValidatedAt = value.ValidatedAt ?? appliedAt;
            current.ValidationReference = value.ValidationReference;
            current.OriginSourceSystem = value.OriginSourceSystem ?? originSourceSystem;
            current.ModifiedByOrganization = value.ModifiedByOrganization;
            current.ModifiedByUser = value.ModifiedByUser;
            current.ChangeRequestId = changeRequestId;
            current.Sequence = sequence;
        }

        var newChannels = new List<ChannelEntry>();
        foreach (var value in change.Channels)
        {
            if (Channels.TryGetValue(value.Code, out var current) && !Wins(value.RequestedAt, sequence, current.RequestedAt, current.Sequence))
                continue;
            if (current is null)
            {
                current = new ChannelEntry { CustomerId = customerId, Code = value.Code };
                Channels[value.Code] = current;
                newChannels.Add(current);
            }
            current.Flag = value.Flag;
            current.RequestedAt = value.RequestedAt;
            current.OriginSourceSystem = value.OriginSourceSystem ?? originSourceSystem;
            current.ModifiedByOrganization = value.ModifiedByOrganization;
            current.ModifiedByUser = value.ModifiedByUser;
            current.ChangeRequestId = changeRequestId;
            current.Sequence = sequence;
        }
        return (newConsents, newChannels);
    }

    /// <summary>Gives the entries a change wrote its final arrival order (its ledger index).</summary>
    public void Renumber(Guid changeRequestId, long sequence)
    {
        foreach (var entry in Consents.Values.Where(e => e.ChangeRequestId == changeRequestId)) entry.Sequence = sequence;
        foreach (var entry in Channels.Values.Where(e => e.ChangeRequestId == changeRequestId)) entry.Sequence = sequence;
    }

    static bool Wins(DateTime requestedAt, long sequence, DateTime currentRequestedAt, long currentSequence) =>
        requestedAt > currentRequestedAt || (requestedAt == currentRequestedAt && sequence > currentSequence);
}
