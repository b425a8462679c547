namespace ConsentHub.Consents;

/// <summary>
/// How applied changes combine: per category and per channel the change with the latest requestedTimestamp wins,
/// and on a tie the one that arrived later. Used for the current state and to replay the state at an instant.
/// </summary>
public sealed class SubscriptionState(long customerId)
{
    readonly long customerId = customerId;

    public Dictionary<string, ConsentEntry> Consents { get; } = [];
    public Dictionary<string, ChannelEntry> Channels { get; } = [];

    /// <summary>Language, country and email of the latest applied change that carried them.</summary>
    public CommunicationAttributes? Communication { get; set; }

    /// <summary>A record's current state from its stored entries and, when opened, its contact details.</summary>
    public static SubscriptionState Of(Customer customer, IEnumerable<ConsentEntry> consents, IEnumerable<ChannelEntry> channels, Contact? contact)
    {
        var state = new SubscriptionState(customer.Id);
        foreach (var entry in consents) state.Consents[entry.Code] = entry;
        foreach (var entry in channels) state.Channels[entry.Code] = entry;
        if (customer.Language is not null || customer.Country is not null || contact is not null)
            state.Communication = new CommunicationAttributes
            {
                Language = customer.Language, Country = customer.Country, Email = contact?.Email, Phone = contact?.Phone,
            };
        return state;
    }

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

    /// <summary>
    /// Combines the states of the records of one cluster (within one context) under the organisation's policy.
    /// Communication attributes stay those of <paramref name="own"/>, the record asked about.
    /// </summary>
    public static SubscriptionState Merge(SubscriptionState own, IEnumerable<SubscriptionState> others, string policy)
    {
        var all = others.Prepend(own).ToList();
        var merged = new SubscriptionState(own.customerId) { Communication = own.Communication };
        foreach (var group in all.SelectMany(s => s.Consents.Values).GroupBy(e => e.Code))
            merged.Consents[group.Key] = Pick(group, policy, e => e.Flag, e => (e.RequestedAt, e.Sequence));
        foreach (var group in all.SelectMany(s => s.Channels.Values).GroupBy(e => e.Code))
            merged.Channels[group.Key] = Pick(group, policy, e => e.Flag, e => (e.RequestedAt, e.Sequence));
        return merged;
    }

    static T Pick<T>(IEnumerable<T> entries, string policy, Func<T, bool> flag, Func<T, (DateTime, long)> order)
    {
        var candidates = policy == Tenancy.MergePolicies.MostRestrictive && entries.Any(e => !flag(e))
            ? entries.Where(e => !flag(e))
            : entries;
        return candidates.MaxBy(order)!;
    }

    static bool Wins(DateTime requestedAt, long sequence, DateTime currentRequestedAt, long currentSequence) =>
        requestedAt > currentRequestedAt || (requestedAt == currentRequestedAt && sequence > currentSequence);
}
