using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Validation;

/// <summary>
/// The steps of a double opt-in: send the email, remind once, expire, or apply on confirmation. Each step's
/// state change and ledger entry commit together. Rows are claimed under a lease (with SKIP LOCKED on
/// PostgreSQL), so with several instances on one database each email is sent by one of them.
/// </summary>
public sealed class ValidationService(
    ConsentDb db, LedgerWriter ledger, SubscriptionChanges changes, MailSender mail, TimeProvider time,
    IOptions<ValidationOptions> options, IOptions<PublicAddressOptions> publicAddress, PersonKeys personKeys, PersonalDataVault vault,
    ValidationMeters meters, ILogger<ValidationService> logger, IPreferenceCentreLinks? preferenceLinks = null)
{
    const int BatchSize = 20;
    /// <summary>Pauses before each retry of an email after a transient failure; notifications use the same.</summary>
    internal static readonly TimeSpan[] Backoff =
        [TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5),
         TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4)];

    enum Step { Send, Remind, Expire }

    sealed record Claim(Guid Id, Step Step, string? Token);

    /// <summary>Does every step that is due now; returns how many it did.</summary>
    public async Task<int> ProcessDueAsync(CancellationToken ct)
    {
        var claims = await ClaimAsync(ct);
        foreach (var claim in claims)
        {
            db.ChangeTracker.Clear();
            try
            {
                if (claim.Step == Step.Expire) await ExpireAsync(claim.Id, ct);
                else await SendAsync(claim, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The lease runs out and another pass takes the row again.
                logger.LogError(e, "Validation {ValidationId} step {Step} failed", claim.Id, claim.Step);
            }
        }
        return claims.Count;
    }

    async Task<List<Claim>> ClaimAsync(CancellationToken ct)
    {
        var now = time.Now();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var due = db.Provider == DatabaseProvider.Postgres
            ? db.Validations.FromSqlInterpolated($"""
                SELECT * FROM validations
                WHERE "State" IN ('QUEUED', 'SENT', 'REMINDED', 'AWAITING_PARTNER') AND "DueAt" <= {now} AND ("LeaseUntil" IS NULL OR "LeaseUntil" < {now})
                ORDER BY "DueAt" LIMIT {BatchSize} FOR UPDATE SKIP LOCKED
                """)
            : db.Validations.Where(v => (v.State == ValidationStates.Queued || v.State == ValidationStates.Sent || v.State == ValidationStates.Reminded
                    || v.State == ValidationStates.AwaitingPartner)
                    && v.DueAt <= now && (v.LeaseUntil == null || v.LeaseUntil < now))
                .OrderBy(v => v.DueAt).Take(BatchSize);
        var rows = await due.ToListAsync(ct);
        var claims = new List<Claim>();
        foreach (var row in rows)
        {
            row.LeaseUntil = now.AddSeconds(options.Value.LeaseSeconds);
            // The first email, the reminder after the first window, expiry after the second; a partner's flow only expires.
            var step = row.State switch
            {
                ValidationStates.Queued => Step.Send,
                ValidationStates.Sent => Step.Remind,
                _ => Step.Expire,
            };
            string? token = null;
            if (step != Step.Expire)
            {
                // Stored before the email leaves, so the link works the moment it arrives.
                (token, var hash) = ValidationContent.NewToken();
                db.ValidationTokens.Add(new ValidationToken { Hash = hash, ValidationId = row.Id, CreatedAt = now });
            }
            claims.Add(new Claim(row.Id, step, token));
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return claims;
    }

    async Task SendAsync(Claim claim, CancellationToken ct)
    {
        var validation = await db.Validations.AsNoTracking().SingleAsync(v => v.Id == claim.Id, ct);
        var request = await db.ChangeRequests.AsNoTracking().SingleAsync(c => c.Id == validation.ChangeRequestId, ct);
        var reminder = claim.Step == Step.Remind;
        var link = $"{publicAddress.Value.PublicBaseUrl.TrimEnd('/')}/validation/{claim.Token}";
        // The address the change request carried, opened from its sealed row; gone once the person is erased.
        var address = (await vault.RequestContactAsync(request, ct))?.Email;
        SendResult? result;
        if (address is null)
            result = new SendResult.Permanent("the address is no longer available (erased)", null);
        else
        {
            var message = EmailRenderer.Render(address,
                await ValidationContent.BrandingAsync(db, validation.Context, ct),
                await ValidationContent.TextsAsync(db, validation.Context, validation.Language, ct),
                ValidationContent.ItemsOf(request), link, reminder, preferenceLinks?.For(address, validation.Language));
            result = await mail.SendAsync(message, ct);
        }

        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var row = await LockAsync(claim.Id, ct);
        var now = time.Now();
        row.LeaseUntil = null;
        // Confirmed (or ended) while the email was on its way: the email changes nothing any more.
        if (!ValidationStates.IsOpen(row.State)) result = null;
        switch (result)
        {
            case SendResult.Sent sent:
                var window = TimeSpan.FromHours(await WindowHoursAsync(row.Nmsc, ct));
                row.MessageId = sent.MessageId;
                row.Attempts = 0;
                row.LastError = null;
                row.WindowEndsAt = now + window;
                row.DueAt = now + window;
                await ledger.LockHeadAsync(ct);
                var entry = ledger.Append(reminder ? LedgerEvents.ValidationReminderSent : LedgerEvents.ValidationSent, new
                {
                    validationId = row.Id, changeRequestId = row.ChangeRequestId, messageId = sent.MessageId,
                    emailCommitment = PersonKeys.Commit(await personKeys.ForAsync(request.CustomerId, ct), MailAddresses.Key(address) ?? ""),
                windowEndsAt = row.WindowEndsAt,
                });
                if (reminder) { row.State = ValidationStates.Reminded; row.ReminderSentAt = now; row.ReminderLedgerIndex = entry.Index; }
                else { row.State = ValidationStates.Sent; row.SentAt = now; row.SentLedgerIndex = entry.Index; }
                break;
            case SendResult.Transient transient when row.Attempts + 1 < options.Value.MaxSendAttempts:
                row.Attempts++;
                row.LastError = Truncate(transient.Error);
                row.DueAt = now + Backoff[Math.Min(row.Attempts - 1, Backoff.Length - 1)];
                logger.LogWarning("Validation {ValidationId}: mail not sent ({Error}); attempt {Attempt} again at {DueAt}",
                    row.Id, transient.Error, row.Attempts + 1, row.DueAt);
                break;
            case null:
                break;
            default:
                var (error, smtpStatus) = result switch
                {
                    SendResult.Permanent permanent => (permanent.Error, permanent.SmtpStatus),
                    SendResult.Transient transient => ($"gave up after {row.Attempts + 1} attempts: {transient.Error}", (int?)null),
                    _ => ("unknown mail result", null),
                };
                await FailAsync(row, error, smtpStatus, now, ct);
                break;
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        if (result is SendResult.Sent) meters.Sent(row.Nmsc, reminder);
    }

    /// <summary>Code 525 is the seed's "error sending mail" (seed 003).</summary>
    async Task FailAsync(ValidationRequest row, string error, int? smtpStatus, DateTime now, CancellationToken ct)
    {
        var request = await db.ChangeRequests.SingleAsync(c => c.Id == row.ChangeRequestId, ct);
        row.State = ValidationStates.Failed;
        row.LastError = Truncate(error);
        row.EndedAt = now;
        request.Status = ChangeStatus.ValidationFailed;
        request.StatusReason = Truncate($"mail error (525): {error}");
        await ledger.LockHeadAsync(ct);
        row.EndLedgerIndex = request.OutcomeLedgerIndex = ledger.Append(LedgerEvents.ValidationFailed, new
        {
            validationId = row.Id, changeRequestId = row.ChangeRequestId, code = 525, smtpStatus,
        }).Index;
        logger.LogWarning("Validation {ValidationId} failed: {Error}", row.Id, error);
    }

    async Task ExpireAsync(Guid id, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var row = await LockAsync(id, ct);
        var now = time.Now();
        // Confirmed meanwhile, or (a partner's flow) given a new window.
        if (row.State is not (ValidationStates.Reminded or ValidationStates.AwaitingPartner) || row.WindowEndsAt > now) return;
        var request = await db.ChangeRequests.SingleAsync(c => c.Id == row.ChangeRequestId, ct);
        request.Status = ChangeStatus.Expired;
        request.StatusReason = row.State == ValidationStates.AwaitingPartner
            ? "the partner did not confirm it within the window"
            : "not confirmed within the window and the reminder's window";
        row.State = ValidationStates.Expired;
        row.LeaseUntil = null;
        row.EndedAt = now;
        await ledger.LockHeadAsync(ct);
        row.EndLedgerIndex = request.OutcomeLedgerIndex = ledger.Append(LedgerEvents.ValidationExpired, new
        {
            validationId = row.Id, changeRequestId = row.ChangeRequestId,
        }).Index;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        meters.Expired(row.Nmsc);
    }

    public enum ConfirmOutcome { Confirmed, Unknown, Expired, AlreadyUsed }

    /// <summary>The person pressed Confirm: apply the change as validated now, once.</summary>
    public Task<(ConfirmOutcome Outcome, ValidationRequest? Validation)> ConfirmAsync(
        string token, string? remoteAddress, string? userAgent, CancellationToken ct) =>
        RetryAsync(async () =>
        {
            var found = await db.ValidationTokens.AsNoTracking().SingleOrDefaultAsync(t => t.Hash == ValidationContent.HashOf(token), ct);
            return found?.ValidationId;
        }, remoteAddress, userAgent, ct);

    /// <summary>
    /// The partner that asked for a change confirms it for the person (seed 003's <c>?approval=true</c>): the same
    /// step as the person's click, for a validation that is <see cref="ValidationStates.AwaitingPartner"/>. The caller
    /// has checked that the partner owns it.
    /// </summary>
    public Task<(ConfirmOutcome Outcome, ValidationRequest? Validation)> ConfirmForPartnerAsync(
        Guid validationId, string? remoteAddress, string? userAgent, CancellationToken ct) =>
        RetryAsync(() => Task.FromResult<Guid?>(validationId), remoteAddress, userAgent, ct);

    /// <summary>Built-in matching may race another record of the same person: then the confirmation starts again.</summary>
    Task<(ConfirmOutcome Outcome, ValidationRequest? Validation)> RetryAsync(
        Func<Task<Guid?>> find, string? remoteAddress, string? userAgent, CancellationToken ct) =>
        ConflictRetry.RunAsync(db, () => TryConfirmAsync(find, remoteAddress, userAgent, ct), changes.Reset);

    async Task<(ConfirmOutcome Outcome, ValidationRequest? Validation)> TryConfirmAsync(
        Func<Task<Guid?>> find, string? remoteAddress, string? userAgent, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        if (await find() is not { } validationId) return (ConfirmOutcome.Unknown, null);
        // Locked, so two presses of the button cannot both apply the change.
        var validation = await LockAsync(validationId, ct);
        var now = time.Now();
        var outcome = Check(validation, now);
        if (outcome != ConfirmOutcome.Confirmed) return (outcome, validation);

        var request = await db.ChangeRequests.SingleAsync(c => c.Id == validation.ChangeRequestId, ct);
        await changes.ApplyConfirmedAsync(request, now, validation.Reference ?? validation.Id.ToString(), ct);
        var personKey = await personKeys.ForAsync(request.CustomerId, ct);
        var byPartner = validation.State == ValidationStates.AwaitingPartner;
        validation.State = ValidationStates.Confirmed;
        validation.EndedAt = now;
        validation.LeaseUntil = null;
        await ledger.LockHeadAsync(ct);
        validation.EndLedgerIndex = ledger.Append(LedgerEvents.ValidationConfirmed, new
        {
            validationId = validation.Id, changeRequestId = validation.ChangeRequestId, confirmedAt = now,
            confirmedBy = byPartner ? "partner" : "person",
            remoteAddressCommitment = remoteAddress is null ? null : PersonKeys.Commit(personKey, remoteAddress),
            userAgentCommitment = userAgent is null ? null : PersonKeys.Commit(personKey, userAgent),
        }).Index;
        changes.AppendApplied(request);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        // Wakes the dispatcher for the propagation, and this worker for a notification (notify: true) queued with it.
        changes.Committed();
        meters.Confirmed(validation.Nmsc, byPartner);
        return (ConfirmOutcome.Confirmed, validation);
    }

    /// <summary>
    /// Ends an unconfirmed validation whose change a newer one replaces, inside the caller's transaction and under the
    /// ledger lock it holds: its change never applies. Its links stay known, so that the person who opens the old
    /// email is told it has expired (410, as after the window) rather than that the link does not exist.
    /// </summary>
    public async Task SupersedeAsync(ValidationRequest validation, Guid replacedBy, DateTime now, CancellationToken ct)
    {
        var request = await db.ChangeRequests.SingleAsync(c => c.Id == validation.ChangeRequestId, ct);
        validation.State = ValidationStates.Superseded;
        validation.EndedAt = now;
        validation.LeaseUntil = null;
        request.Status = ChangeStatus.Superseded;
        request.StatusReason = $"replaced by change request {replacedBy} before it was confirmed";
        validation.EndLedgerIndex = request.OutcomeLedgerIndex = ledger.Append(LedgerEvents.ValidationSuperseded, new
        {
            validationId = validation.Id, changeRequestId = validation.ChangeRequestId, replacedBy,
        }).Index;
    }

    /// <summary>
    /// What a link to this validation may do now, without changing anything. A link exists only once its email
    /// is on its way; after the first window the reminder extends it, so only the reminder's window ends it.
    /// </summary>
    public static ConfirmOutcome Check(ValidationRequest validation, DateTime now) => validation.State switch
    {
        ValidationStates.Confirmed => ConfirmOutcome.AlreadyUsed,
        ValidationStates.Queued or ValidationStates.Sent => ConfirmOutcome.Confirmed,
        ValidationStates.Reminded or ValidationStates.AwaitingPartner when validation.WindowEndsAt > now => ConfirmOutcome.Confirmed,
        _ => ConfirmOutcome.Expired,
    };

    /// <summary>Reads a validation for update: on PostgreSQL with a row lock, on SQLite under the write lock.</summary>
    public Task<ValidationRequest> LockAsync(Guid id, CancellationToken ct) =>
        db.Validations.Where(v => v.Id == id).ForUpdate(db).SingleAsync(ct);

    async Task<int> WindowHoursAsync(string nmsc, CancellationToken ct) =>
        await db.Organisations.AsNoTracking().Where(o => o.Nmsc == nmsc).Select(o => (int?)o.ValidationWindowHours).SingleOrDefaultAsync(ct) ?? 24;

    static string Truncate(string text) => text.Length <= 1000 ? text : text[..1000];
}
