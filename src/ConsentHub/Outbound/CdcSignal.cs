namespace ConsentHub.Outbound;

/// <summary>
/// Wakes this instance's CDC publisher when a subscription was created or replayed here. Changes themselves wake it
/// through <see cref="Propagation.PropagationSignal.NextCommit"/>; rows committed by other instances are found by polling.
/// </summary>
public sealed class CdcSignal
{
    TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify() => Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Completes at the next <see cref="Notify"/>; taken before a read, so a notification during the read is not missed.</summary>
    public Task Next => Volatile.Read(ref next).Task;
}
