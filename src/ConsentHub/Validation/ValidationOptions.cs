using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Validation;

public sealed class ValidationOptions
{
    public const string Section = "ConsentHub:Validation";

    /// <summary>The address people reach the hub at; the landing-page links start with it.</summary>
    [Required, Url]
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

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

/// <summary>Wakes this instance's worker when a validation is queued, so the email does not wait for the next poll.</summary>
public sealed class ValidationSignal
{
    readonly SemaphoreSlim signal = new(0, 1);

    public void Notify()
    {
        if (signal.CurrentCount == 0)
        {
            try { signal.Release(); } catch (SemaphoreFullException) { /* already awake */ }
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => signal.WaitAsync(timeout, ct);
}
