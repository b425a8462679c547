using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Validation;

/// <summary>Emails of one kind waiting to be sent (and the due time of the oldest), and those that failed since a moment.</summary>
public sealed record MailQueue(string Kind, int Waiting, DateTime? OldestDue, int Failed)
{
    public const string ValidationKind = "validation";
    public const string NotificationKind = "notification";

    /// <summary>
    /// The validation and notification emails of <paramref name="validations"/> and <paramref name="notifications"/>:
    /// the console's operations page asks for the operator's organisations, the gauges for all.
    /// </summary>
    public static async Task<List<MailQueue>> ReadAsync(
        IQueryable<ValidationRequest> validations, IQueryable<Notification> notifications, DateTime failedSince, CancellationToken ct) =>
    [
        new(ValidationKind,
            await validations.CountAsync(v => v.State == ValidationStates.Queued, ct),
            await validations.Where(v => v.State == ValidationStates.Queued).MinAsync(v => (DateTime?)v.DueAt, ct),
            await validations.CountAsync(v => v.State == ValidationStates.Failed && v.EndedAt >= failedSince, ct)),
        new(NotificationKind,
            await notifications.CountAsync(n => n.State == NotificationStates.Queued, ct),
            await notifications.Where(n => n.State == NotificationStates.Queued).MinAsync(n => (DateTime?)n.DueAt, ct),
            await notifications.CountAsync(n => n.State == NotificationStates.Failed && n.CreatedAt >= failedSince, ct)),
    ];
}
