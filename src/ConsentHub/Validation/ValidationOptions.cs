using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Validation;

public sealed class ValidationOptions
{
    public const string Section = "ConsentHub:Validation";

    // The address people reach the hub at (PublicBaseUrl, the start of the landing-page links) is read from this section
    // too, by Hosting/PublicAddressOptions.

    /// <summary>Whether this instance runs the worker that sends, reminds and expires.</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>How often the worker looks for due work when nothing wakes it.</summary>
    [Range(1, 3600)]
    public int PollSeconds { get; set; } = 2;

    /// <summary>How long an instance holds a row it works on; longer than an SMTP exchange can take.</summary>
    [Range(10, 3600)]
    public int LeaseSeconds { get; set; } = 120;

    /// <summary>Transient mail failures are retried this many times (with growing pauses) before the validation fails.</summary>
    [Range(1, 50)]
    public int MaxSendAttempts { get; set; } = 10;
}

/// <summary>Wakes the validation worker at once when this instance queues a validation.</summary>
public sealed class ValidationSignal : Hosting.WorkSignal;
