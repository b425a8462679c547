using System.Text.Json.Serialization;

namespace ConsentHub.Consents;

// The published language of seed 004: the `data` object a source system sends, member names as in the seed.
// Timestamps stay strings here so that both offset forms (+0100 and +01:00) can be accepted and reported precisely.

public sealed record SubscriptionData
{
    public string? CommandType { get; init; }
    public string? CommandTimestamp { get; init; }
    public ConsentData? Consent { get; init; }
    public ChannelData? Channel { get; init; }
    /// <summary>With PROCESSED only: the message being acknowledged.</summary>
    public string? PropagationId { get; init; }
}

public sealed record ConsentData
{
    public bool? GdprCompliant { get; init; }
    public bool? Validated { get; init; }
    public bool? Notify { get; init; }
    public CommunicationAttributes? CommunicationAttributes { get; init; }
    public List<ConsentAttribute>? ConsentAttributes { get; init; }
}

public sealed record CommunicationAttributes
{
    public string? Language { get; init; }
    public string? Country { get; init; }
    public string? Email { get; init; }
    /// <summary>
    /// An extension of the seed: the person's phone number, international (+44 7700 900123) or national in
    /// <see cref="Country"/>. Left out when unknown, so records without one keep the seed's exact shape.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Phone { get; init; }
}

public sealed record ConsentAttribute
{
    public string? ConsentCode { get; init; }
    public bool? ConsentFlag { get; init; }
    public string? ConsentDescription { get; init; }
    public string? ConsentLongDescription { get; init; }
    public string? RequestedTimestamp { get; init; }
    public string? ValidatedTimestamp { get; init; }
    public string? ValidationReference { get; init; }
    public string? OriginSourceSystem { get; init; }
    public string? ModifiedByOrganization { get; init; }
    public string? ModifiedByUser { get; init; }
}

public sealed record ChannelData
{
    public List<ChannelAttribute>? ChannelAttributes { get; init; }
}

public sealed record ChannelAttribute
{
    public string? ChannelCode { get; init; }
    public bool? ChannelFlag { get; init; }
    public string? RequestedTimestamp { get; init; }
    public string? OriginSourceSystem { get; init; }
    public string? ModifiedByOrganization { get; init; }
    public string? ModifiedByUser { get; init; }
}

public static class CommandTypes
{
    public const string Requested = "REQUESTED";
    public const string Propagated = "PROPAGATED";
    public const string Processed = "PROCESSED";
}
