using ConsentHub.Consents;
using ConsentHub.Data;

namespace ConsentHub.Validation;

/// <summary>
/// Validation's step in the write pipeline: an unvalidated change queues the request that asks the person to confirm it,
/// and an applied change sent with <c>notify: true</c> queues the email that tells them of it. The worker sends both
/// after the change commits; this instance's worker is woken at once.
/// </summary>
public sealed class ValidationReaction(ConsentDb db, ValidationSignal signal) : IChangeReaction
{
    public int Order => 30;

    /// <summary>Whether this unit of work queued something the worker sends.</summary>
    bool queued;

    public Task RequestedAsync(RequestedChange change, CancellationToken ct)
    {
        // The rules guarantee an address: the person is asked by email (the worker sends it to the request's address),
        // unless the partner that asked confirms it, and the worker only expires it when its window ends.
        var (request, customer, now) = (change.Request, change.Customer, change.At);
        var partnerUntil = change.Extras?.PartnerConfirmsUntil;
        db.Validations.Add(new ValidationRequest
        {
            Id = Guid.CreateVersion7(), ChangeRequestId = request.Id, Nmsc = customer.Nmsc, Context = customer.Context,
            Language = change.Change.Communication?.Language,
            State = partnerUntil is null ? ValidationStates.Queued : ValidationStates.AwaitingPartner,
            CreatedAt = now, DueAt = partnerUntil ?? now, WindowEndsAt = partnerUntil, Reference = change.Extras?.ValidationReference,
        });
        queued |= partnerUntil is null || request.Notify;
        return Task.CompletedTask;
    }

    public Task StageAsync(IReadOnlyList<AppliedChange> changes, CancellationToken ct)
    {
        // notify: true: the person hears of the change once it is applied, from the worker, after this commits.
        foreach (var change in changes.Where(c => c.Request.Notify))
        {
            NotificationService.Queue(db, change.Request, change.Customer, change.At);
            queued = true;
        }
        return Task.CompletedTask;
    }

    public void Committed()
    {
        if (queued) signal.Notify();
        queued = false;
    }

    public void Reset() => queued = false;
}
