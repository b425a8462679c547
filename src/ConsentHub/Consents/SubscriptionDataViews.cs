using System.Text.Json.Serialization;
using ConsentHub.Hosting;

namespace ConsentHub.Consents;

// What the hub answers, in the shape of seed 004 §7 plus HAL links.

public sealed record ConsolidatedView(
    string? CommandType,
    string? CommandTimestamp,
    string Context,
    string Nmsc,
    string SourceSystem,
    string SourceCustomerId,
    ConsentView? Consent,
    ChannelView? Channel,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links)
{
    /// <summary>With ?proof=true: what the answer derives from, provable against a signed checkpoint.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AnswerProof? Proof { get; init; }
}

/// <summary>The ledger entries an answer derives from, each with its inclusion proof in the checkpoint's tree.</summary>
public sealed record AnswerProof(string Checkpoint, long TreeSize, string RootHash, IReadOnlyList<ProvenEntry> Entries);

public sealed record ProvenEntry(long LedgerIndex, string Canonical, string LeafHash, IReadOnlyList<string> AuditPath);

public sealed record ConsentView(
    bool GdprCompliant,
    IReadOnlyList<ConsentAttributeView> ConsentAttributes,
    bool Validated,
    bool Notify,
    CommunicationAttributes? CommunicationAttributes);

public sealed record ConsentAttributeView(
    string ConsentCode, bool ConsentFlag, string? ConsentDescription, string? ConsentLongDescription,
    string RequestedTimestamp, string? ValidatedTimestamp, string? ValidationReference,
    string? OriginSourceSystem, string? ModifiedByOrganization, string? ModifiedByUser);

public sealed record ChannelView(IReadOnlyList<ChannelAttributeView> ChannelAttributes);

public sealed record ChannelAttributeView(
    string ChannelCode, bool ChannelFlag, string RequestedTimestamp,
    string? OriginSourceSystem, string? ModifiedByOrganization, string? ModifiedByUser);

public sealed record TimelineEvent(string Event, string At, long LedgerIndex);

public sealed record ChangeRequestView(
    Guid Id,
    string Status,
    string Context,
    string Nmsc,
    string SourceSystem,
    string SourceCustomerId,
    bool Validated,
    string SubmittedBy,
    string ReceivedAt,
    string? AppliedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StatusReason,
    long LedgerIndex,
    string? LeafHash,
    IReadOnlyList<TimelineEvent> Timeline,
    SubscriptionData Data,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record HistoryPage(
    int Count,
    IReadOnlyList<ChangeRequestView> Changes,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ClusterView(
    string? ClusterId,
    string Nmsc,
    IReadOnlyList<ClusterMemberView> Members,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ClusterMemberView(string Context, string SourceSystem, string SourceCustomerId);

public static class Views
{
    public static ConsolidatedView Consolidated(Customer customer, SubscriptionState state, DateTime? commandTimestamp, string? selfQuery = null)
    {
        var path = Paths.SubscriptionData(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId);
        var consents = state.Consents.Values.OrderBy(c => c.Code, StringComparer.Ordinal).Select(ConsentAttribute).ToList();
        var channels = state.Channels.Values.OrderBy(c => c.Code, StringComparer.Ordinal).Select(ChannelAttribute).ToList();
        var communication = state.Communication;
        return new ConsolidatedView(
            null,
            HubTime.Format(commandTimestamp),
            customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId,
            consents.Count == 0 && communication is null ? null : new ConsentView(true, consents, true, false, communication),
            channels.Count == 0 ? null : new ChannelView(channels),
            new Dictionary<string, HalLink>
            {
                ["self"] = new(path + selfQuery),
                ["history"] = new(path + "/history"),
                ["cluster"] = new(Paths.Customer(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId) + "/cluster"),
            });
    }

    public static ConsentAttributeView ConsentAttribute(ConsentEntry c) => new(
        c.Code, c.Flag, c.Description, c.LongDescription, HubTime.Format(c.RequestedAt), HubTime.Format(c.ValidatedAt),
        c.ValidationReference, c.OriginSourceSystem, c.ModifiedByOrganization, c.ModifiedByUser);

    public static ChannelAttributeView ChannelAttribute(ChannelEntry c) => new(
        c.Code, c.Flag, HubTime.Format(c.RequestedAt), c.OriginSourceSystem, c.ModifiedByOrganization, c.ModifiedByUser);

    /// <summary>
    /// A change request with its timeline: requested, then the <paramref name="steps"/> other features add (the
    /// validation's emails and confirmation before the outcome, the notification after it), each with its ledger index.
    /// </summary>
    public static ChangeRequestView ChangeRequest(
        ChangeRequest change, Customer customer, SubscriptionData data, string? leafHash, ChangeRequestSteps? steps = null)
    {
        var timeline = new List<TimelineEvent> { new("requested", HubTime.Format(change.ReceivedAt), change.Sequence) };
        if (steps is not null) timeline.AddRange(steps.BeforeOutcome);
        if (change.OutcomeLedgerIndex is { } outcome)
            timeline.Add(new(change.Status.ToLowerInvariant().Replace('_', '-'), HubTime.Format(change.AppliedAt ?? steps?.EndedAt ?? change.ReceivedAt), outcome));
        if (steps is not null) timeline.AddRange(steps.AfterOutcome);
        return new ChangeRequestView(
            change.Id, change.Status, customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId,
            change.Validated, change.SubmittedBy, HubTime.Format(change.ReceivedAt), HubTime.Format(change.AppliedAt),
            change.StatusReason, change.Sequence, leafHash, timeline, data,
            new Dictionary<string, HalLink>
            {
                ["self"] = new(Paths.ChangeRequest(change.Id)),
                ["subscription-data"] = new(Paths.SubscriptionData(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId)),
                ["history"] = new(Paths.SubscriptionData(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId) + "/history"),
            });
    }
}

/// <summary>
/// What other features add to a change request's timeline: events before its outcome and after it, and when it ended
/// without applying (the outcome's time for an expired or failed change).
/// </summary>
public sealed record ChangeRequestSteps(IReadOnlyList<TimelineEvent> BeforeOutcome, DateTime? EndedAt, IReadOnlyList<TimelineEvent> AfterOutcome);
