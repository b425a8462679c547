using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Propagation;

public sealed class PropagationOptions : IValidatableObject
{
    public const string Section = "ConsentHub:Propagation";

    /// <summary>Allow http:// destinations on loopback addresses (tests, local development). HTTPS otherwise.</summary>
    public bool AllowInsecureLoopback { get; set; }

    /// <summary>
    /// Private networks (CIDR, e.g. 10.20.0.0/16) destinations may point into. Every other private address (10/8, 172.16/12,
    /// 192.168/16, 100.64/10, fc00::/7) is refused at registration and at every connection.
    /// </summary>
    public string[] AllowedPrivateNetworks { get; set; } = [];

    /// <summary><see cref="AllowedPrivateNetworks"/>, parsed (validated on start).</summary>
    public IReadOnlyList<System.Net.IPNetwork> PrivateNetworksAllowed() => [.. AllowedPrivateNetworks.Select(n => System.Net.IPNetwork.Parse(n))];

    /// <summary>How long the previous signing secret is still sent beside a rotated one.</summary>
    [Range(0, 24 * 30)]
    public int SecretOverlapHours { get; set; } = 24;

    /// <summary>Run the dispatcher in this instance. Any number of instances may run it on one database.</summary>
    public bool DispatcherEnabled { get; set; } = true;

    /// <summary>How long one webhook call may take before it counts as a timeout.</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 15;

    /// <summary>How long a claimed message is reserved for its instance; longer than the timeout, so no other instance sends it meanwhile.</summary>
    [Range(2, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How often the dispatcher looks for due messages when nothing woke it (messages of other instances, retries falling due).</summary>
    [Range(10, 60_000)]
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>How many messages one pass claims.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 200;

    /// <summary>How many webhook calls one instance makes at once.</summary>
    [Range(1, 512)]
    public int MaxConcurrency { get; set; } = 64;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A lease that ran out during a slow call would let another instance send the same message meanwhile.
        if (LeaseSeconds <= TimeoutSeconds)
            yield return new ValidationResult("LeaseSeconds must be longer than TimeoutSeconds.", [nameof(LeaseSeconds)]);
        foreach (var network in AllowedPrivateNetworks.Where(n => !System.Net.IPNetwork.TryParse(n, out _)))
            yield return new ValidationResult($"AllowedPrivateNetworks: '{network}' is not a network in CIDR notation, such as 10.20.0.0/16.",
                [nameof(AllowedPrivateNetworks)]);
    }
}

/// <summary>
/// Wakes this instance's dispatcher, and the pull-feed readers waiting on it (wait=), when it has just committed
/// messages. Messages committed by other instances are found by polling, every <see cref="PropagationOptions.PollMilliseconds"/>.
/// </summary>
public sealed class PropagationSignal
{
    sealed class DispatchSignal : Hosting.WorkSignal;

    readonly DispatchSignal dispatch = new();
    TaskCompletionSource committed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify()
    {
        dispatch.Notify();
        Interlocked.Exchange(ref committed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>The dispatcher's wait: true when notified, false after <paramref name="timeout"/>.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => dispatch.WaitAsync(timeout, ct);

    /// <summary>Completes at the next <see cref="Notify"/>; taken before a read, so a commit during the read is not missed.</summary>
    public Task NextCommit => Volatile.Read(ref committed).Task;
}
