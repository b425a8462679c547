using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Validation;

/// <summary>
/// Sends the emails that confirm applied changes (<c>notify: true</c>) through the validation emails' pipeline: the same
/// sender (SMTP or the .eml drop), the same retries, and rows claimed under a lease (SKIP LOCKED on PostgreSQL), so
/// with several instances each email is sent by one of them. The outcome and its ledger entry commit together.
/// </summary>
public sealed class NotificationService(
    ConsentDb db, LedgerWriter ledger, MailSender mail, TimeProvider time, IOptions<ValidationOptions> options,
    PersonKeys personKeys, PersonalDataVault vault, ILogger<NotificationService> logger, IPreferenceCentreLinks? preferenceLinks = null)
{
    const int BatchSize = 20;

    /// <summary>Sends every notification that is due now; returns how many it tried.</summary>
    public async Task<int> ProcessDueAsync(CancellationToken ct)
    {
        var claimed = await ClaimAsync(ct);
        foreach (var id in claimed)
        {
            db.ChangeTracker.Clear();
            try
            {
                await SendAsync(id, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The lease runs out and another pass takes the row again.
                logger.LogError(e, "Notification {NotificationId} failed", id);
            }
        }
        return claimed.Count;
    }

    async Task<List<Guid>> ClaimAsync(CancellationToken ct)
    {
        var now = time.Now();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var due = db.Provider == DatabaseProvider.Postgres
            ? db.Notifications.FromSqlInterpolated($"""
                SELECT * FROM notifications
                WHERE "State" = 'QUEUED' AND "DueAt" <= {now} AND ("LeaseUntil" IS NULL OR "LeaseUntil" < {now})
                ORDER BY "DueAt" LIMIT {BatchSize} FOR UPDATE SKIP LOCKED
                """)
            : db.Notifications.Where(n => n.State == NotificationStates.Queued && n.DueAt <= now && (n.LeaseUntil == null || n.LeaseUntil < now))
                .OrderBy(n => n.DueAt).Take(BatchSize);
        var rows = await due.ToListAsync(ct);
        foreach (var row in rows) row.LeaseUntil = now.AddSeconds(options.Value.LeaseSeconds);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return [.. rows.Select(r => r.Id)];
    }

    async Task SendAsync(Guid id, CancellationToken ct)
    {
        var notification = await db.Notifications.AsNoTracking().SingleAsync(n => n.Id == id, ct);
        var request = await db.ChangeRequests.AsNoTracking().SingleAsync(c => c.Id == notification.ChangeRequestId, ct);
        // The address the change carried, else the record's own; neither is left once the person is erased.
        var address = (await vault.RequestContactAsync(request, ct))?.Email ?? (await vault.ContactAsync(notification.CustomerId, ct))?.Email;
        SendResult result;
        if (address is null)
            result = new SendResult.Permanent("no address is known for the record", null);
        else
            result = await mail.SendAsync(EmailRenderer.RenderNotification(address,
                await ValidationContent.BrandingAsync(db, notification.Context, ct),
                await ValidationContent.TextsAsync(db, notification.Context, notification.Language, ct),
                ValidationContent.ItemsOf(request), preferenceLinks?.For(address, notification.Language)), ct);

        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var row = await LockAsync(id, ct);
        var now = time.Now();
        row.LeaseUntil = null;
        // Another instance took the row after this one's lease ran out and finished it: one email, one entry.
        if (row.State != NotificationStates.Queued) return;
        switch (result)
        {
            case SendResult.Sent sent:
                row.State = NotificationStates.Sent;
                row.MessageId = sent.MessageId;
                row.LastError = null;
                row.EndedAt = now;
                await ledger.LockHeadAsync(ct);
                row.LedgerIndex = ledger.Append(LedgerEvents.NotificationSent, new
                {
                    notificationId = row.Id, changeRequestId = row.ChangeRequestId, messageId = sent.MessageId,
                    emailCommitment = PersonKeys.Commit(await personKeys.ForAsync(row.CustomerId, ct), MailAddresses.Key(address!) ?? ""),
                }).Index;
                break;
            case SendResult.Transient transient when row.Attempts + 1 < options.Value.MaxSendAttempts:
                row.Attempts++;
                row.LastError = Truncate(transient.Error);
                row.DueAt = now + ValidationService.Backoff[Math.Min(row.Attempts - 1, ValidationService.Backoff.Length - 1)];
                logger.LogWarning("Notification {NotificationId}: mail not sent ({Error}); attempt {Attempt} again at {DueAt}",
                    row.Id, transient.Error, row.Attempts + 1, row.DueAt);
                break;
            default:
                var (error, smtpStatus) = result switch
                {
                    SendResult.Permanent permanent => (permanent.Error, permanent.SmtpStatus),
                    SendResult.Transient transient => ($"gave up after {row.Attempts + 1} attempts: {transient.Error}", (int?)null),
                    _ => ("unknown mail result", null),
                };
                row.State = NotificationStates.Failed;
                row.LastError = Truncate(error);
                row.EndedAt = now;
                await ledger.LockHeadAsync(ct);
                row.LedgerIndex = ledger.Append(LedgerEvents.NotificationFailed, new
                {
                    notificationId = row.Id, changeRequestId = row.ChangeRequestId, code = 525, smtpStatus,
                }).Index;
                logger.LogWarning("Notification {NotificationId} failed: {Error}", row.Id, error);
                break;
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Reads a notification for update: on PostgreSQL with a row lock, on SQLite under the write lock.</summary>
    Task<Notification> LockAsync(Guid id, CancellationToken ct) =>
        db.Notifications.Where(n => n.Id == id).ForUpdate(db).SingleAsync(ct);

    static string Truncate(string text) => text.Length <= 1000 ? text : text[..1000];

    /// <summary>
    /// Stages the notification of a change being applied, in the caller's unit of work, in the record's language (the
    /// change's own when it sent one).
    /// </summary>
    public static Notification Queue(ConsentDb db, ChangeRequest request, Customer customer, DateTime now)
    {
        var notification = new Notification
        {
            Id = Guid.CreateVersion7(), ChangeRequestId = request.Id, CustomerId = customer.Id, Nmsc = customer.Nmsc, Context = customer.Context,
            Language = customer.Language, State = NotificationStates.Queued, CreatedAt = now, DueAt = now,
        };
        db.Notifications.Add(notification);
        return notification;
    }
}
