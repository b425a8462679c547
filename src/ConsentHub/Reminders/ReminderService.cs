using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Reminders;

public sealed class ReminderOptions
{
    public const string Section = "ConsentHub:Reminders";

    /// <summary>Run rules and deliver reminders in this instance (any number may: each slot and each reminder is taken by one).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often this instance looks for slots that have passed and reminders that are due.</summary>
    [Range(1, 3600)]
    public int SweepSeconds { get; set; } = 10;

    /// <summary>How long an instance holds a reminder it delivers; another instance takes it over after that.</summary>
    [Range(10, 3600)]
    public int LeaseSeconds { get; set; } = 120;

    /// <summary>Attempts of one reminder (mail or webhook) before it fails for good.</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>How long the link in a reminder email stays usable.</summary>
    [Range(1, 365)]
    public int LinkDays { get; set; } = 30;
}

/// <summary>Wakes the reminder worker when this instance has just queued reminders.</summary>
public sealed class ReminderSignal : WorkSignal;

/// <summary>
/// Consent reminders: each rule's slot becomes one run (one instance wins the slot), which selects the records whose
/// consents of the rule's categories have its flag and were validated longer ago than <c>olderThan</c>, and were not
/// reminded by the rule within its period; the run, its reminders and its ledger entry commit together. Reminders are
/// then delivered one by one under a lease: an email with a one-time link (the validation emails' pipeline and words),
/// or a signed <c>reminder-due</c> message to the communication system's webhook. A person who keeps or changes their
/// choices makes a validated change through the consent core.
/// </summary>
public sealed class ReminderService(
    ConsentDb db, LedgerWriter ledger, SubscriptionChanges changes, MailSender mail, PersonalDataVault vault, TimeProvider time,
    IOptions<ReminderOptions> options, IOptions<PublicAddressOptions> publicAddress, IDataProtectionProvider protection, IHttpClientFactory http,
    ILogger<ReminderService> logger, IPreferenceCentreLinks? preferenceLinks = null)
{
    const int DeliveryBatch = 50;

    // ---- runs ---------------------------------------------------------------------------------------------------------

    /// <summary>Runs every rule whose slot has passed; returns the records this instance selected.</summary>
    public async Task<int> RunDueAsync(CancellationToken ct)
    {
        var now = time.Now();
        var due = await db.ReminderRules.AsNoTracking().Where(r => r.NextRunAt != null && r.NextRunAt <= now).ToListAsync(ct);
        var selected = 0;
        foreach (var rule in due)
        {
            db.ChangeTracker.Clear();
            selected += await RunAsync(rule, $"schedule:{HubTime.Format(rule.NextRunAt!.Value)}", "schedule", now, moveSchedule: true, ct) ?? 0;
        }
        return selected;
    }

    /// <summary>
    /// One run of <paramref name="rule"/> for <paramref name="slot"/>: null when another instance has the slot. Moving the
    /// rule's next slot, the run, its reminders and the ledger entry commit in one transaction.
    /// </summary>
    public async Task<int?> RunAsync(ReminderRule rule, string slot, string trigger, DateTime now, bool moveSchedule, CancellationToken ct)
    {
        var spec = ReminderSpec.FromJson(rule.Spec);
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        if (moveSchedule)
        {
            var next = CronSchedule.Next(rule.Schedule, now);
            var moved = await db.ReminderRules.Where(r => r.Id == rule.Id && r.NextRunAt == rule.NextRunAt)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.NextRunAt, next), ct);
            if (moved == 0) return null;
        }
        var run = new ReminderRun
        {
            Id = Guid.CreateVersion7(), RuleId = rule.Id, Nmsc = rule.Nmsc, Name = rule.Name, Slot = slot, Trigger = trigger,
            State = ReminderRunStates.Completed, StartedAt = now, CompletedAt = now,
        };
        db.ReminderRuns.Add(run);

        var threshold = IsoDuration.Parse(spec.OlderThan)!.Before(now);
        var again = spec.Period.Before(now);
        var categories = spec.Categories.ToList();
        var contexts = spec.Contexts.ToList();
        var records = db.Customers.AsNoTracking().Where(c => c.Nmsc == rule.Nmsc
            && db.ConsentEntries.Any(e => e.CustomerId == c.Id && categories.Contains(e.Code) && e.Flag == spec.Flag && e.ValidatedAt < threshold)
            && !db.Reminders.Any(r => r.RuleId == rule.Id && r.CustomerId == c.Id && r.CreatedAt > again));
        if (contexts.Count > 0) records = records.Where(c => contexts.Contains(c.Context));
        if (spec.Language is { } language) records = records.Where(c => c.Language != null && (c.Language.ToLower() == language || c.Language.ToLower().StartsWith(language + "-")));
        var chosen = await records.OrderBy(c => c.Id)
            .Select(c => new { c.Id, c.Context, c.SourceSystem, c.SourceCustomerId, c.Language })
            .ToListAsync(ct);
        foreach (var record in chosen)
        {
            // The categories of this record the rule is about, as they stand now.
            db.Reminders.Add(new Reminder
            {
                Id = Guid.CreateVersion7(), RuleId = rule.Id, RunId = run.Id, Nmsc = rule.Nmsc, CustomerId = record.Id, Context = record.Context,
                SourceSystem = record.SourceSystem, SourceCustomerId = record.SourceCustomerId, Language = record.Language,
                Categories = string.Join(',', categories), Channel = spec.Channel, State = ReminderStates.Queued, DueAt = now, CreatedAt = now,
            });
        }
        run.Selected = chosen.Count;
        await db.SaveChangesAsync(ct);
        await ledger.LockHeadAsync(ct);
        run.LedgerIndex = ledger.Append(ReminderEvents.RunCompleted, new
        {
            runId = run.Id, nmsc = run.Nmsc, rule = run.Name, slot, selected = run.Selected, categories, channel = spec.Channel,
        }).Index;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
        logger.LogInformation("Reminder rule {Nmsc}/{Name} ran for {Slot}: {Selected} records", rule.Nmsc, rule.Name, slot, run.Selected);
        return run.Selected;
    }

    // ---- delivery -----------------------------------------------------------------------------------------------------

    /// <summary>Delivers every reminder that is due; returns how many it tried.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var tried = 0;
        while (true)
        {
            var now = time.Now();
            var candidates = await db.Reminders.AsNoTracking()
                .Where(r => r.State == ReminderStates.Queued && r.DueAt <= now && (r.LeaseUntil == null || r.LeaseUntil < now))
                .OrderBy(r => r.DueAt).Take(DeliveryBatch).Select(r => new { r.Id, r.LeaseUntil }).ToListAsync(ct);
            if (candidates.Count == 0) return tried;
            foreach (var candidate in candidates)
            {
                var lease = now.AddSeconds(options.Value.LeaseSeconds);
                var claimed = await db.Reminders.Where(r => r.Id == candidate.Id && r.State == ReminderStates.Queued && r.LeaseUntil == candidate.LeaseUntil)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseUntil, lease), ct);
                if (claimed == 0) continue;
                tried++;
                try
                {
                    await DeliverAsync(candidate.Id, lease, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The lease runs out and a later pass takes the reminder again.
                    logger.LogError(e, "Reminder {ReminderId} could not be delivered", candidate.Id);
                }
                db.ChangeTracker.Clear();
            }
        }
    }

    abstract record Delivery
    {
        public sealed record Done(string? MessageId) : Delivery;
        public sealed record Retry(string Error) : Delivery;
        public sealed record GiveUp(string Error) : Delivery;
    }

    async Task DeliverAsync(Guid id, DateTime lease, CancellationToken ct)
    {
        var reminder = await db.Reminders.AsNoTracking().SingleAsync(r => r.Id == id, ct);
        var rule = await db.ReminderRules.AsNoTracking().SingleOrDefaultAsync(r => r.Id == reminder.RuleId, ct);
        string? tokenHash = null;
        Delivery outcome;
        if (rule is null)
        {
            outcome = new Delivery.GiveUp("the rule was deleted before the reminder was delivered");
        }
        else if (reminder.Channel == ReminderChannels.Email)
        {
            (outcome, tokenHash) = await EmailAsync(reminder, ct);
        }
        else
        {
            outcome = await WebhookAsync(reminder, ReminderSpec.FromJson(rule.Spec), ct);
        }

        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var row = await db.Reminders.SingleAsync(r => r.Id == id, ct);
        // Another instance took the reminder over after this one's lease ran out: its outcome stands.
        if (row.State != ReminderStates.Queued || row.LeaseUntil != lease) return;
        var now = time.Now();
        row.LeaseUntil = null;
        row.Attempts++;
        switch (outcome)
        {
            case Delivery.Done done:
                row.State = ReminderStates.Sent;
                row.SentAt = now;
                row.LastError = null;
                row.TokenHash = tokenHash;
                row.TokenExpiresAt = tokenHash is null ? null : now.AddDays(options.Value.LinkDays);
                await ledger.LockHeadAsync(ct);
                ledger.Append(ReminderEvents.Sent, Entry(row, new { messageId = done.MessageId, attempts = row.Attempts }));
                break;
            case Delivery.Retry retry when row.Attempts < options.Value.MaxAttempts:
                row.LastError = Truncate(retry.Error);
                row.DueAt = now + ValidationService.Backoff[Math.Min(row.Attempts - 1, ValidationService.Backoff.Length - 1)];
                logger.LogWarning("Reminder {ReminderId}: not delivered ({Error}); attempt {Attempt} at {DueAt}", row.Id, retry.Error, row.Attempts + 1, row.DueAt);
                break;
            default:
                var error = outcome switch
                {
                    Delivery.Retry retry => $"gave up after {row.Attempts} attempts: {retry.Error}",
                    Delivery.GiveUp giveUp => giveUp.Error,
                    _ => "unknown outcome",
                };
                row.State = ReminderStates.Failed;
                row.LastError = Truncate(error);
                row.OutcomeAt = now;
                await ledger.LockHeadAsync(ct);
                ledger.Append(ReminderEvents.Failed, Entry(row, new { error = row.LastError, attempts = row.Attempts }));
                logger.LogWarning("Reminder {ReminderId} failed: {Error}", row.Id, error);
                break;
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }

    async Task<(Delivery, string? TokenHash)> EmailAsync(Reminder reminder, CancellationToken ct)
    {
        var address = (await vault.ContactAsync(reminder.CustomerId, ct))?.Email;
        if (address is null) return (new Delivery.GiveUp("no email address is known for the record"), null);
        var items = await ItemsAsync(db, reminder, ct);
        if (items.Count == 0) return (new Delivery.GiveUp("the record no longer holds the rule's categories"), null);
        var (token, hash) = ValidationContent.NewToken();
        var link = $"{publicAddress.Value.PublicBaseUrl.TrimEnd('/')}{ReminderPages.PathPrefix}{token}";
        var texts = Revisit(await ValidationContent.TextsAsync(db, reminder.Context, reminder.Language, ct));
        var message = EmailRenderer.Render(address, await ValidationContent.BrandingAsync(db, reminder.Context, ct), texts, items, link, reminder: false,
            preferenceLinks?.For(address, reminder.Language));
        return await mail.SendAsync(message, ct) switch
        {
            SendResult.Sent sent => (new Delivery.Done(sent.MessageId), hash),
            SendResult.Transient transient => (new Delivery.Retry(transient.Error), null),
            SendResult.Permanent permanent => (new Delivery.GiveUp(permanent.Error), null),
            _ => (new Delivery.Retry("unknown mail result"), null),
        };
    }

    /// <summary>The validation email's words, with the reminder's heading, introduction and button.</summary>
    public static ValidationTexts Revisit(ValidationTexts texts) => texts with
    {
        Subject = texts.RevisitSubject, Heading = texts.RevisitHeading, Intro = texts.RevisitIntro, ConfirmLabel = texts.RevisitKeepLabel,
    };

    /// <summary>The record's current consents of the reminder's categories, in the words they were given.</summary>
    public static async Task<List<ValidationItem>> ItemsAsync(ConsentDb db, Reminder reminder, CancellationToken ct)
    {
        var categories = reminder.Categories.Split(',');
        var entries = await db.ConsentEntries.AsNoTracking().Where(e => e.CustomerId == reminder.CustomerId && categories.Contains(e.Code))
            .OrderBy(e => e.Code).ToListAsync(ct);
        return [.. entries.Select(e => new ValidationItem(ValidationItemKind.Consent, e.Code, e.Flag, e.Description, e.LongDescription))];
    }

    /// <summary>The signed <c>reminder-due</c> message to the communication system (Standard Webhooks, as propagation sends).</summary>
    async Task<Delivery> WebhookAsync(Reminder reminder, ReminderSpec spec, CancellationToken ct)
    {
        var now = time.Now();
        var destination = await db.SourceSystems.AsNoTracking().Where(s => s.Nmsc == reminder.Nmsc && s.Name == spec.SourceSystem)
            .Join(db.Destinations.AsNoTracking(), s => s.Id, d => d.SourceSystemId, (s, d) => d).FirstOrDefaultAsync(d => d.Enabled, ct);
        if (destination is null) return new Delivery.Retry($"the source system '{spec.SourceSystem}' has no enabled webhook");
        var protector = protection.CreateProtector(DestinationSecrets.Purpose);
        List<string> secrets = [protector.Unprotect(destination.ProtectedSigningSecret)];
        if (destination.ProtectedPreviousSigningSecret is { } previous && destination.PreviousSecretUntil > now) secrets.Add(protector.Unprotect(previous));
        var categories = reminder.Categories.Split(',');
        var entries = await db.ConsentEntries.AsNoTracking()
            .Where(e => e.CustomerId == reminder.CustomerId && categories.Contains(e.Code)).OrderBy(e => e.Code).ToListAsync(ct);
        var payload = JsonSerializer.Serialize(new
        {
            type = "reminder-due",
            reminderId = reminder.Id,
            nmsc = reminder.Nmsc,
            context = reminder.Context,
            sourceSystemName = reminder.SourceSystem,
            sourceCustomerId = reminder.SourceCustomerId,
            language = reminder.Language,
            consentAttributes = entries.Select(e => new
            {
                consentCode = e.Code, consentFlag = e.Flag, consentDescription = e.Description,
                requestedTimestamp = HubTime.Format(e.RequestedAt), validatedTimestamp = HubTime.Format(e.ValidatedAt),
            }),
            outcome = $"/nmscs/{Uri.EscapeDataString(reminder.Nmsc)}/reminders/{reminder.Id}:outcome",
        }, Hal.Json);
        var messageId = reminder.Id.ToString();
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, destination.Uri) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Id, messageId);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Timestamp, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Signature, WebhookSigner.SignatureHeader(secrets, messageId, timestamp, payload));
        request.Headers.TryAddWithoutValidation(WebhookHeaders.ApiKey, protector.Unprotect(destination.ProtectedApiKey));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            using var response = await http.CreateClient(PropagationDispatcher.ClientName).SendAsync(request, timeout.Token);
            return response.IsSuccessStatusCode ? new Delivery.Done(null) : new Delivery.Retry($"the webhook answered {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new Delivery.Retry($"the webhook could not be reached: {e.GetType().Name}");
        }
    }

    // ---- what the person (or the communication system) answers ------------------------------------------------------------

    /// <summary>
    /// Keeps (<paramref name="chosen"/> null) or changes the record's consents of the reminder: a validated change through
    /// the consent core, with the reminder's outcome and its ledger entry in the same transaction. False when the reminder
    /// already has an outcome.
    /// </summary>
    public async Task<bool> AnswerAsync(Guid reminderId, IReadOnlySet<string>? chosen, string by, CancellationToken ct)
    {
        var reminder = await db.Reminders.AsNoTracking().SingleAsync(r => r.Id == reminderId, ct);
        if (reminder.State is not (ReminderStates.Sent or ReminderStates.Delivered)) return false;
        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.Id == reminder.CustomerId, ct);
        var system = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == customer.SourceSystemId, ct);
        var items = await ItemsAsync(db, reminder, ct);
        var now = time.Now();
        var at = now.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var changed = chosen is not null && items.Any(i => i.Flag != chosen.Contains(i.Code));
        var state = changed ? ReminderStates.Changed : ReminderStates.Confirmed;
        var data = new SubscriptionData
        {
            CommandType = CommandTypes.Requested,
            CommandTimestamp = at,
            Consent = new ConsentData
            {
                GdprCompliant = true, Validated = true, Notify = false,
                ConsentAttributes =
                [
                    .. items.Select(i => new ConsentAttribute
                    {
                        ConsentCode = i.Code, ConsentFlag = chosen is null ? i.Flag : chosen.Contains(i.Code), ConsentDescription = i.Description,
                        ConsentLongDescription = i.LongDescription, RequestedTimestamp = at, ValidatedTimestamp = at,
                        ValidationReference = $"reminder:{reminder.Id}", OriginSourceSystem = system.Name,
                    }),
                ],
            },
        };
        var (change, violations) = SubscriptionDataRules.Check(data, CategoryCatalogue.Replay);
        if (change is null) throw new InvalidOperationException($"The answer to reminder {reminder.Id} breaks a rule: {violations[0].Field} {violations[0].Message}");
        var answered = false;
        var outcome = await changes.SubmitAsync(system, customer.SourceCustomerId, data, change, $"reminder:{reminder.Id}",
            new IdempotencyKey($"reminder:{reminder.Id}", "answer", state), propagate: true, ct,
            new SubmitExtras(InTransaction: async (request, _, token) =>
            {
                var row = await db.Reminders.SingleAsync(r => r.Id == reminder.Id, token);
                if (row.State is not (ReminderStates.Sent or ReminderStates.Delivered)) return;
                row.State = state;
                row.OutcomeAt = now;
                ledger.Append(changed ? ReminderEvents.Changed : ReminderEvents.Confirmed,
                    Entry(row, new { changeRequestId = request.Id, by, flags = data.Consent.ConsentAttributes.ToDictionary(c => c.ConsentCode!, c => c.ConsentFlag) }));
                answered = true;
            }));
        return answered && outcome is SubmitOutcome.Accepted;
    }

    /// <summary>Records what the communication system reports of a reminder it was sent.</summary>
    public async Task<string?> ReportAsync(Guid reminderId, string reported, string? detail, string by, CancellationToken ct)
    {
        if (reported == ReminderStates.Confirmed)
            return await AnswerAsync(reminderId, chosen: null, by, ct) ? null : "The reminder already has an outcome.";
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await db.Reminders.SingleAsync(r => r.Id == reminderId, ct);
        var allowed = reported == ReminderStates.Delivered ? row.State == ReminderStates.Sent : row.State is ReminderStates.Sent or ReminderStates.Delivered;
        if (!allowed) return $"The reminder is {row.State}; {reported} can no longer be reported.";
        row.State = reported;
        row.OutcomeAt = time.Now();
        if (detail is not null) row.LastError = Truncate(detail);
        ledger.Append(reported == ReminderStates.Delivered ? ReminderEvents.Delivered : ReminderEvents.Failed,
            Entry(row, new { reportedBy = by, detail = reported == ReminderStates.Failed ? row.LastError : null }));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return null;
    }

    static object Entry(Reminder row, object extra) => new
    {
        reminderId = row.Id, runId = row.RunId, nmsc = row.Nmsc, customerId = row.CustomerId, context = row.Context, sourceSystem = row.SourceSystem,
        categories = row.Categories.Split(','), channel = row.Channel, details = extra,
    };

    static string Truncate(string text) => text.Length <= 1000 ? text : text[..1000];
}

/// <summary>Runs due rules and delivers due reminders in this instance; woken at once when reminders were queued here.</summary>
sealed class ReminderWorker(IServiceScopeFactory scopes, ReminderSignal signal, IOptions<ReminderOptions> options, ILogger<ReminderWorker> logger)
    : SignalledWorker(scopes, signal, logger)
{
    protected override bool Enabled => options.Value.Enabled;
    protected override TimeSpan Poll => TimeSpan.FromSeconds(options.Value.SweepSeconds);
    protected override string Failure => "Reminder worker pass failed";

    protected override async Task PassAsync(IServiceProvider services, CancellationToken ct)
    {
        var service = services.GetRequiredService<ReminderService>();
        await service.RunDueAsync(ct);
        await service.DeliverDueAsync(ct);
    }
}
