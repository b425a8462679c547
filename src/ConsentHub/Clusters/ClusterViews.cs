using System.Text.Json.Serialization;
using ConsentHub.Hosting;

namespace ConsentHub.Clusters;

// The cluster itself is answered as Consents.ClusterView, the shape the customer's `cluster` link already has.

public sealed record ClusterInput
{
    /// <summary>Required on a line of a batch; on PUT it may be left out, and must then match the route.</summary>
    public string? ClusterId { get; init; }
    public List<ClusterMemberInput?>? Members { get; init; }
}

public sealed record ClusterMemberInput
{
    public string? Context { get; init; }
    public string? SourceSystem { get; init; }
    public string? SourceCustomerId { get; init; }
}

public sealed record ClusterBatchResult(int Applied, IReadOnlyList<ClusterBatchRejection> Rejected);

/// <summary>One refused line of a batch, and why; the other lines are applied all the same.</summary>
public sealed record ClusterBatchRejection(long Line, string Field, string Rule, string Message);

public sealed record ClusterFeedInput
{
    public string? Nmsc { get; init; }
    public string? Name { get; init; }
}

public sealed record ClusterFeedView(
    long Id, string Nmsc, string Name, string ClientId, string CreatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The only time the secret is shown: it is stored hashed.</summary>
public sealed record ClusterFeedCredentialsView(
    long Id, string Nmsc, string Name, string ClientId, string ClientSecret,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);
