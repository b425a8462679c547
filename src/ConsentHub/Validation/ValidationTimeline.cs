using ConsentHub.Consents;
using ConsentHub.Hosting;

namespace ConsentHub.Validation;

/// <summary>A change request's validation and notification, as events of its timeline.</summary>
public static class ValidationTimeline
{
    public static ChangeRequestSteps Of(ValidationRequest? validation, Notification? notification)
    {
        var before = new List<TimelineEvent>();
        if (validation is { SentAt: { } sentAt, SentLedgerIndex: { } sentIndex })
            before.Add(new("validation-sent", HubTime.Format(sentAt), sentIndex));
        if (validation is { ReminderSentAt: { } remindedAt, ReminderLedgerIndex: { } reminderIndex })
            before.Add(new("validation-reminder-sent", HubTime.Format(remindedAt), reminderIndex));
        if (validation is { State: ValidationStates.Confirmed, EndedAt: { } confirmedAt, EndLedgerIndex: { } confirmedIndex })
            before.Add(new("validation-confirmed", HubTime.Format(confirmedAt), confirmedIndex));
        var after = new List<TimelineEvent>();
        // notify: true: the email confirming the applied change, once it went out (or finally could not).
        if (notification is { State: not NotificationStates.Queued, EndedAt: { } notifiedAt, LedgerIndex: { } notifiedIndex })
            after.Add(new(notification.State == NotificationStates.Sent ? "notification-sent" : "notification-failed", HubTime.Format(notifiedAt), notifiedIndex));
        return new ChangeRequestSteps(before, validation?.EndedAt, after);
    }
}
