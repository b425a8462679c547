using ConsentHub.Consents;

namespace ConsentHub.Bulk;

/// <summary>One record of the upload file (seed 004 §3.5): the envelope and the subscription data it carries.</summary>
public sealed record UploadEnvelope
{
    public string? Context { get; init; }
    public string? Nmsc { get; init; }
    public string? SourceSystemName { get; init; }
    public string? SourceCustomerId { get; init; }
    public SubscriptionData? Data { get; init; }
}

/// <summary>
/// A record that passed every rule, ready to apply. <paramref name="ContentHash"/> (SHA-256 of the customer id and the
/// canonical data) identifies the same record in a later upload.
/// </summary>
public sealed record UploadRecord(
    long Position, string SourceCustomerId, SubscriptionData Data, NormalisedChange Change, string ContentHash, string SubmittedBy);

public enum UploadOutcome
{
    Applied,
    /// <summary>An earlier upload applied exactly this record: nothing was applied again.</summary>
    Skipped,
}
