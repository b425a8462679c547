using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Consents;

/// <summary>An Idempotency-Key with the hash of the body it first came with.</summary>
public sealed record IdempotencyKey(string Scope, string Key, string RequestHash);

/// <summary>
/// What a door into the hub adds to one submission, all inside its transaction (seed 003's opt-in flows).
/// </summary>
/// <param name="PartnerConfirmsUntil">
/// For an unvalidated change: the hub sends no email; the partner that asked confirms it for the person until then
/// (<see cref="ValidationStates.AwaitingPartner"/>), after which it expires.
/// </param>
/// <param name="ValidationReference">For an unvalidated change: the reference its confirmation gives the consents.</param>
/// <param name="InTransaction">
/// Called with the recorded change and its customer after the ledger entries are appended, under the ledger lock and
/// before the commit: what it stages or appends commits with the change or not at all. Called again if the unit of work
/// starts again.
/// </param>
/// <param name="NeverNotify">
/// The person is not told of the change even when it says <c>notify: true</c> (kept in its data as sent): an initial
/// upload never notifies.
/// </param>
public sealed record SubmitExtras(
    DateTime? PartnerConfirmsUntil = null, string? ValidationReference = null,
    Func<ChangeRequest, Customer, CancellationToken, Task>? InTransaction = null, bool NeverNotify = false);

/// <summary>One change as a door hands it to the write pipeline (the arguments of <see cref="SubscriptionChanges.SubmitAsync"/>).</summary>
public sealed record Submission(
    SourceSystem SourceSystem, string SourceCustomerId, SubscriptionData Data, NormalisedChange Change, string SubmittedBy,
    IdempotencyKey? Idempotency, bool Propagate, SubmitExtras? Extras)
{
    /// <summary>
    /// The trace of the request that submitted it, taken when the door makes the submission: a group commits it on a
    /// committer's own thread (<see cref="GroupCommit"/>), outside that request.
    /// </summary>
    public string? TraceParent { get; init; } = HubTracing.CurrentTraceParent();
}

public abstract record SubmitOutcome
{
    public sealed record Accepted(ChangeRequest Change, Customer Customer, string Body) : SubmitOutcome;
    public sealed record Replayed(IdempotencyRecord Record) : SubmitOutcome;
    public sealed record KeyReused : SubmitOutcome;
}

/// <summary>
/// The write pipeline of one change: check, stage, commit, answer. Records a REQUESTED change: the change request, its
/// ledger entries, the new current state, the idempotency record and whatever the features' reactions stage
/// (<see cref="IChangeReaction"/>: the validation request, built-in matching, the messages that propagate it, the change
/// log) all commit in one transaction, so a 2xx answer means all of it is durable.
/// </summary>
public sealed class SubscriptionChanges(
    ConsentDb db, LedgerWriter ledger, TimeProvider time, ChangeReactions reactions, PersonKeys personKeys, PersonalDataVault vault,
    BlindIndex blindIndex, GroupCommit groups)
{
    public static readonly JsonSerializerOptions StoredJson = Hal.Json;

    /// <summary>The change the current unit of work applied and has not yet recorded in the ledger.</summary>
    AppliedChange? applying;

    /// <param name="propagate">
    /// False records the change without planning any propagation (an initial upload that only bootstraps the hub):
    /// no system is sent it now, and a later change propagates the consolidated data as usual.
    /// </param>
    /// <remarks>
    /// A change that needs nothing of its caller's unit of work (no <see cref="SubmitExtras.InTransaction"/>, no open
    /// transaction) is committed with the others arriving at the same moment (<see cref="GroupCommit"/>), and answered
    /// once its group is durable.
    /// </remarks>
    public Task<SubmitOutcome> SubmitAsync(
        SourceSystem sourceSystem, string sourceCustomerId, SubscriptionData data, NormalisedChange change,
        string submittedBy, IdempotencyKey? idempotency, bool propagate, CancellationToken ct, SubmitExtras? extras = null)
    {
        var submission = new Submission(sourceSystem, sourceCustomerId, data, change, submittedBy, idempotency, propagate, extras);
        return extras?.InTransaction is null && db.Database.CurrentTransaction is null && groups.TryQueue(submission) is { } answer
            ? answer
            : SubmitAloneAsync(submission, ct);
    }

    /// <summary>
    /// Submits changes that need nothing of their caller's unit of work, in order, and answers each in the same order:
    /// they are queued to the group committers all at once (<see cref="GroupCommit"/>), which commit them many to a
    /// transaction with the same checks, reactions and ledger entries as one <see cref="SubmitAsync"/> each; a record's
    /// changes keep their order. When the committers are off or stopping, the rest commit one by one on this unit of work.
    /// </summary>
    /// <remarks>Queued changes are committed whatever becomes of <paramref name="ct"/>, as a group's are.</remarks>
    public async Task<SubmitOutcome[]> SubmitManyAsync(IReadOnlyList<Submission> submissions, CancellationToken ct)
    {
        if (submissions.Any(s => s.Extras?.InTransaction is not null))
            throw new ArgumentException("A change that runs code in its caller's transaction is submitted alone.", nameof(submissions));
        var answers = new SubmitOutcome[submissions.Count];
        var queued = new List<Task<SubmitOutcome>>(submissions.Count);
        if (db.Database.CurrentTransaction is null)
        {
            foreach (var submission in submissions)
            {
                if (groups.TryQueue(submission) is not { } answer) break;
                queued.Add(answer);
            }
        }
        // Those queued are all answered before any follows alone (so a record's later change never overtakes its earlier
        // one) and before a failure is thrown (so none is still in flight when the caller moves on); the first failure in
        // order is thrown.
        await ((Task)Task.WhenAll(queued)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        for (var i = 0; i < queued.Count; i++) answers[i] = await queued[i];
        for (var i = queued.Count; i < submissions.Count; i++)
        {
            answers[i] = await SubmitAloneAsync(submissions[i], ct);
            // What was committed need not be tracked: a long run would otherwise slow down with every change.
            db.ChangeTracker.Clear();
            Reset();
        }
        return answers;
    }

    /// <summary>Commits one change in a transaction of its own.</summary>
    public async Task<SubmitOutcome> SubmitAloneAsync(Submission submission, CancellationToken ct)
    {
        // A failed save abandons the whole transaction (it is retried from the start or the error is answered), so the
        // savepoint EF Core would set around each save is never rolled back to; releasing it costs a round trip, and the
        // last save happens under the ledger lock that every writer waits for.
        var savepoints = db.Database.AutoSavepointsEnabled;
        db.Database.AutoSavepointsEnabled = false;
        try
        {
            // A concurrent request may create the same customer, use the same key or link the same person first: then
            // the submission starts again, and this time sees what it committed.
            return await ConflictRetry.RunAsync(db, async () =>
            {
                // The ledger lock is taken last and held only for the final statements; until then concurrent
                // changes of other customers proceed side by side, and the customer's own row lock orders its changes.
                await using var transaction = await ledger.BeginUnlockedAsync(ct);
                var outcome = await StageAsync(submission, ct);
                if (outcome is not SubmitOutcome.Accepted) return outcome;
                await transaction.CommitAsync(ct);
                reactions.Committed();
                return outcome;
            }, Reset);
        }
        finally
        {
            db.Database.AutoSavepointsEnabled = savepoints;
        }
    }

    /// <summary>
    /// Stages a group's changes in the open transaction (<see cref="GroupCommit"/>) as the lone path stages one: each
    /// checked and applied in arrival order, then what their reactions stage, for all of them at once, then the ledger
    /// lock, then each change's entries and answer, then one save. A group never holds two changes of one record
    /// (<see cref="GroupCommit"/>): each record is read once. Not committed. Returns the answers, or the position of the
    /// first change that must start a group of its own (<see cref="UnitOfWorkOverlap"/>), in which case nothing staged
    /// may be committed.
    /// </summary>
    /// <param name="beforeLedgerLock">Runs once every change holds its row locks, just before the ledger lock is taken.</param>
    internal async Task<(List<SubmitOutcome>? Outcomes, int SplitAt)> StageGroupAsync(
        IReadOnlyList<Submission> group, Func<Task> beforeLedgerLock, CancellationToken ct)
    {
        db.Database.AutoSavepointsEnabled = false;
        // On PostgreSQL the group's records are locked and read in one round trip, where each change would read its own.
        var records = db.Provider == DatabaseProvider.Postgres
            ? await LockedRecord.ReadManyAsync(db, [.. group.Select(s => (s.SourceSystem.Id, s.SourceCustomerId)).Distinct()], ct)
            : null;
        var prepared = new List<Prepared>(group.Count);
        for (var i = 0; i < group.Count; i++) prepared.Add(await PrepareAsync(group[i], sharesUnitOfWork: i > 0, ct, stageReactions: false, records));
        // What follows from the applied changes is staged for the group at once, as for an upload's batch: each reaction
        // reads what it needs of all of them in one query, where it would read once a change.
        var applied = prepared.OfType<Prepared.Staged>().Select(p => p.Applied).OfType<AppliedChange>().ToList();
        try
        {
            await reactions.StageAsync(applied, ct);
        }
        catch (UnitOfWorkOverlap overlap)
        {
            // The first change never shares the unit of work, so the one to blame is a later one; unnamed, the first
            // commits without the others.
            var at = prepared.FindIndex(p => p is Prepared.Staged staged && staged.Request.Id == overlap.RequestId);
            return (null, at > 0 ? at : 1);
        }
        await beforeLedgerLock();
        await ledger.LockHeadAsync(ct);
        var outcomes = new List<SubmitOutcome>(group.Count);
        foreach (var change in prepared)
            outcomes.Add(change is Prepared.Staged staged ? await FinishAsync(staged, ct) : ((Prepared.Answered)change).Earlier);
        await TrackedWrites.SaveAsync(db, ct);
        return (outcomes, group.Count);
    }

    /// <summary>
    /// Check, stage and save one change in the open transaction: the request, the change applied (with what its reactions
    /// stage) or left to be confirmed, its ledger entries and the answer. Not committed.
    /// </summary>
    async Task<SubmitOutcome> StageAsync(Submission submission, CancellationToken ct)
    {
        var prepared = await PrepareAsync(submission, sharesUnitOfWork: false, ct);
        if (prepared is Prepared.Answered answered) return answered.Earlier;
        // Under the ledger lock: its entries.
        await ledger.LockHeadAsync(ct);
        var outcome = await FinishAsync((Prepared.Staged)prepared, ct);
        await TrackedWrites.SaveAsync(db, ct);
        return outcome;
    }

    /// <summary>A change once checked: answered before (<see cref="Answered"/>) or staged up to its ledger entries (<see cref="Staged"/>).</summary>
    abstract record Prepared
    {
        /// <summary>Its idempotency key was seen before: the earlier answer, with nothing staged.</summary>
        public sealed record Answered(SubmitOutcome Earlier) : Prepared;

        /// <summary>Checked and staged up to its ledger entries, which need the ledger lock.</summary>
        public sealed record Staged(
            Submission Submission, ChangeRequest Request, Customer Customer, AppliedChange? Applied, byte[] PersonKey, string Stored) : Prepared;
    }

    /// <summary>Check and stage one change: the request, and the change applied (with what its reactions stage) or left to be confirmed.</summary>
    /// <param name="sharesUnitOfWork">Changes staged before it in this unit of work are not saved yet (a group).</param>
    /// <param name="stageReactions">False when the caller stages the reactions of a group's changes together.</param>
    /// <param name="records">The group's records, locked and read by the caller (PostgreSQL): one missing here is new.</param>
    async Task<Prepared> PrepareAsync(
        Submission submission, bool sharesUnitOfWork, CancellationToken ct, bool stageReactions = true,
        IReadOnlyDictionary<(long, string), LockedRecord>? records = null)
    {
        var (sourceSystem, sourceCustomerId, data, change, submittedBy, idempotency, propagate, extras) = submission;
        // Check: a key seen before answers as it did then.
        if (idempotency is not null && await EarlierAnswerAsync(idempotency, ct) is { } earlier) return new Prepared.Answered(earlier);

        var now = time.Now();
        var (customer, known, locked) = await LockOrCreateCustomerAsync(sourceSystem, sourceCustomerId, now, records, ct);
        var stored = JsonSerializer.Serialize(data, StoredJson);
        // The record's key seals the request and its answer and keys the commitment: fetched (or made) once.
        // An erased record has no key: it gets a new one here.
        (var personKey, locked) = await RecordKeyAsync(customer, known, locked, ct);
        var requestId = Guid.CreateVersion7();
        var request = new ChangeRequest
        {
            Id = requestId,
            CustomerId = customer.Id,
            Status = ChangeStatus.PendingValidation,
            Validated = change.Validated,
            Notify = data.Consent?.Notify == true && extras?.NeverNotify != true,
            CommandTimestamp = change.CommandTimestamp,
            Data = await vault.SealRequestAsync(customer.Id, requestId, data, ct, personKey),
            SubmittedBy = submittedBy,
            ReceivedAt = now,
        };
        db.ChangeRequests.Add(request);
        var applied = change.Validated
            ? await ApplyAsync(request, customer, change, now, long.MaxValue, propagate, ct, locked is null ? null : (locked, personKey), sharesUnitOfWork, stageReactions,
                submission.TraceParent)
            : null;
        // Unvalidated: the person is asked to confirm it (the validation feature stages its request).
        if (!change.Validated) await reactions.RequestedAsync(new RequestedChange(request, customer, change, now, extras), ct);
        return new Prepared.Staged(submission, request, customer, applied, personKey, stored);
    }

    /// <summary>
    /// Under the ledger lock: the change's entries, what its door adds in the transaction, and the answer, kept for a
    /// retry with the same key. Staged, not saved.
    /// </summary>
    async Task<SubmitOutcome> FinishAsync(Prepared.Staged staged, CancellationToken ct)
    {
        var (submission, request, customer, applied, personKey, stored) = staged;
        var (sourceSystem, sourceCustomerId, data, change, submittedBy, idempotency, _, extras) = submission;
        // A keyed commitment to the request as sent (which may carry an email address), never a plain hash of it.
        var dataCommitment = PersonKeys.Commit(personKey, stored);
        var requested = ledger.Append(LedgerEvents.ChangeRequested,
            ChangeRecording.Requested(request.Id, sourceSystem, sourceCustomerId, change.Validated, submittedBy, dataCommitment));
        request.Sequence = requested.Index;
        if (applied is not null)
        {
            applied.State.Renumber(request.Id, request.Sequence);
            AppendApplied(applied);
        }
        if (extras?.InTransaction is { } inTransaction) await inTransaction(request, customer, ct);

        var body = Hal.Serialize(Views.ChangeRequest(request, customer, data, LeafHashes.Format(requested.LeafHash)));
        if (idempotency is not null)
        {
            // The answer repeats the request's email: it is kept sealed like the request itself.
            db.IdempotencyRecords.Add(new IdempotencyRecord
            {
                Scope = idempotency.Scope, Key = idempotency.Key, RequestHash = idempotency.RequestHash,
                StatusCode = change.Validated ? StatusCodes.Status201Created : StatusCodes.Status202Accepted,
                Location = Paths.ChangeRequest(request.Id), ChangeRequestId = request.Id, CreatedAt = request.ReceivedAt,
            });
            await vault.SealAsync(customer.Id, PersonalDataKinds.Response, PersonalDataVault.Reference(request.Id),
                System.Text.Encoding.UTF8.GetBytes(body), ct, isNew: true, personKey);
        }
        return new SubmitOutcome.Accepted(request, customer, body);
    }

    /// <summary>The answer given to an earlier request with the key, or that the key came with another body; null if unseen.</summary>
    async Task<SubmitOutcome?> EarlierAnswerAsync(IdempotencyKey idempotency, CancellationToken ct)
    {
        var earlier = await db.IdempotencyRecords.AsNoTracking()
            .SingleOrDefaultAsync(r => r.Scope == idempotency.Scope && r.Key == idempotency.Key, ct);
        if (earlier is null) return null;
        if (earlier.RequestHash != idempotency.RequestHash) return new SubmitOutcome.KeyReused();
        if (earlier.ResponseBody is null && earlier.ChangeRequestId is { } answered)
        {
            // Sealed with the change request's record key; once the person is erased only an empty body is left.
            var reference = PersonalDataVault.Reference(answered);
            var opened = await vault.OpenAsync(PersonalDataKinds.Response, [reference], ct);
            earlier.ResponseBody = opened.TryGetValue(reference, out var bytes) ? System.Text.Encoding.UTF8.GetString(bytes) : "{}";
        }
        return new SubmitOutcome.Replayed(earlier);
    }

    /// <summary>
    /// The customer record, locked for update, or created; whether it existed; and, when they were read with it or it is
    /// new, its rows (<see cref="LockedRecord"/>: on PostgreSQL, in the same round trip as the lock). A group's records were
    /// locked and read by the caller (<paramref name="read"/>).
    /// </summary>
    async Task<(Customer Customer, bool Known, LockedRecord? Locked)> LockOrCreateCustomerAsync(
        SourceSystem sourceSystem, string sourceCustomerId, DateTime now, IReadOnlyDictionary<(long, string), LockedRecord>? read, CancellationToken ct)
    {
        if (read is not null)
        {
            if (read.TryGetValue((sourceSystem.Id, sourceCustomerId), out var record)) return (record.Customer, true, record);
        }
        else if (db.Provider == DatabaseProvider.Postgres)
        {
            if (await LockedRecord.ReadAsync(db, sourceSystem.Id, sourceCustomerId, ct) is { } locked) return (locked.Customer, true, locked);
        }
        else if (await LockCustomerAsync(sourceSystem.Id, sourceCustomerId, ct) is { } customer)
        {
            return (customer, true, null);
        }
        var created = new Customer
        {
            SourceSystemId = sourceSystem.Id, Nmsc = sourceSystem.Nmsc, Context = sourceSystem.Context,
            SourceSystem = sourceSystem.Name, SourceCustomerId = sourceCustomerId, CreatedAt = now,
        };
        db.Customers.Add(created);
        // Its key is needed by the caller; a concurrent insert of the same customer fails here and is retried.
        await db.SaveChangesAsync(ct);
        return (created, false, LockedRecord.New(created));
    }

    /// <summary>
    /// The record's person key: as read with the record, made for a new one, or fetched. A known record without a key
    /// was erased: its sealed rows go with the key (<see cref="PersonKeys.ForAsync"/>), so the contact read with it
    /// is no longer there either.
    /// </summary>
    async Task<(byte[] Key, LockedRecord? Locked)> RecordKeyAsync(Customer customer, bool known, LockedRecord? locked, CancellationToken ct)
    {
        if (locked is null) return (await personKeys.ForAsync(customer.Id, ct, dropUnreadable: known), null);
        if (locked.ProtectedKey is { } stored) return (personKeys.Remember(customer.Id, stored), locked);
        if (!known) return (personKeys.Create(customer.Id), locked);
        if (locked.Contact is { } contact) db.Entry(contact).State = EntityState.Detached;
        return (await personKeys.ForAsync(customer.Id, ct, dropUnreadable: true), locked with { Contact = null });
    }

    /// <summary>Forgets what the current unit of work staged, for a unit of work that starts again.</summary>
    public void Reset()
    {
        applying = null;
        reactions.Reset();
    }

    /// <summary>Tells the reactions that the caller's unit of work committed (after <see cref="ApplyConfirmedAsync"/>).</summary>
    public void Committed() => reactions.Committed();

    /// <summary>
    /// Applies a pending change the person has just confirmed, inside the caller's transaction and before it takes
    /// the ledger lock: each consent is marked validated now, with the validation as its reference.
    /// </summary>
    public async Task<NormalisedChange> ApplyConfirmedAsync(ChangeRequest request, DateTime confirmedAt, string validationReference, CancellationToken ct)
    {
        var data = await vault.RequestDataAsync(request, ct);
        var (parsed, violations) = SubscriptionDataRules.Check(data, CategoryCatalogue.Replay);
        if (parsed is null)
            throw new InvalidOperationException($"Stored change request {request.Id} no longer parses: {violations[0].Message}");
        var change = parsed with
        {
            Consents = [.. parsed.Consents.Select(c => c with { ValidatedAt = confirmedAt, ValidationReference = validationReference })],
        };
        var customer = await db.Customers.FindAsync([request.CustomerId], ct)
            ?? throw new InvalidOperationException($"Customer {request.CustomerId} of change request {request.Id} is missing.");
        await LockCustomerAsync(customer.SourceSystemId, customer.SourceCustomerId, ct);
        // Its arrival order is its own "change-requested" index, known since it arrived.
        await ApplyAsync(request, customer, change, confirmedAt, request.Sequence, propagate: true, ct);
        return change;
    }

    /// <summary>Records that the change this unit of work applied became the current state. Needs the ledger lock.</summary>
    public void AppendApplied(ChangeRequest request)
    {
        var change = applying is { } pending && pending.Request == request
            ? pending
            : throw new InvalidOperationException($"Change request {request.Id} was not applied in this unit of work.");
        AppendApplied(change);
    }

    void AppendApplied(AppliedChange change)
    {
        if (applying == change) applying = null;
        var applied = ledger.Append(LedgerEvents.ChangeApplied, reactions.Describe(change));
        change.Request.OutcomeLedgerIndex = applied.Index;
        reactions.Ledgered(change, applied);
    }

    static readonly ProviderQuery<Func<ConsentDb, long, string, CancellationToken, Task<Customer?>>> CustomerForUpdate = new(() =>
        EF.CompileAsyncQuery((ConsentDb db, long sourceSystemId, string sourceCustomerId, CancellationToken ct) =>
            db.Customers.TagWith(RowLocks.Tag).SingleOrDefault(c => c.SourceSystemId == sourceSystemId && c.SourceCustomerId == sourceCustomerId)));

    /// <summary>Reads the customer row for update (<see cref="RowLocks"/>), so one customer's changes apply one at a time.</summary>
    Task<Customer?> LockCustomerAsync(long sourceSystemId, string sourceCustomerId, CancellationToken ct) =>
        CustomerForUpdate.For(db)(db, sourceSystemId, sourceCustomerId, ct);

    /// <summary>
    /// Makes a change the current state. Its ledger index is not known yet: it sorts after every applied change
    /// (all committed earlier, under the customer's lock) until <see cref="SubscriptionState.Renumber"/>.
    /// </summary>
    /// <param name="locked">The record's rows and key when the caller read them with its lock: nothing is read again.</param>
    async Task<AppliedChange> ApplyAsync(
        ChangeRequest request, Customer customer, NormalisedChange change, DateTime now, long sequence, bool propagate, CancellationToken ct,
        (LockedRecord Record, byte[] Key)? locked = null, bool sharesUnitOfWork = false, bool stageReactions = true, string? traceParent = null)
    {
        // The stored email and phone are needed only to keep what a change with communication attributes does not resend:
        // the state is read without them, and the contact row is read below, once, when it is needed.
        var state = locked is { Record: var record }
            ? SubscriptionState.Of(customer, record.Consents, record.Channels, contact: null)
            : await CurrentStateAsync(db, vault: null, customer, tracked: true, ct);
        var applied = new AppliedChange(request, customer, change, state, now, propagate)
        {
            SharesUnitOfWork = sharesUnitOfWork, TraceParent = traceParent ?? HubTracing.CurrentTraceParent(),
        };
        reactions.Applying(applied);
        var (newConsents, newChannels) = state.Apply(change, request.Id, sequence, now, customer.SourceSystem);
        db.ConsentEntries.AddRange(newConsents);
        db.ChannelEntries.AddRange(newChannels);
        if (change.Communication is { } communication)
        {
            var (stored, hasRow) = locked is { Record: var read, Key: var key }
                ? (read.Contact is { } row ? PersonalDataVault.OpenContact(row, key) : new Contact(null, null), read.Contact is not null)
                : await StoredContactAsync(customer.Id, ct);
            var contact = ChangeRecording.TakeCommunication(customer, communication, stored, blindIndex);
            // Nobody else writes the record's contact while its row lock is held: without a row now, the seal inserts one.
            if (!contact.IsEmpty)
                await vault.SealJsonAsync(customer.Id, PersonalDataKinds.Contact, PersonalDataVault.Reference(customer.Id), contact, ct,
                    isNew: !hasRow, key: locked?.Key);
        }
        request.Status = ChangeStatus.Applied;
        request.AppliedAt = now;
        reactions.Applied(applied);
        // What follows from it: built-in matching, opt-outs it outdates, the person's notification, the messages that
        // propagate it (for a group, once all its changes are applied). The ledger entries come later, under the lock.
        if (stageReactions) await reactions.StageAsync([applied], ct);
        applying = applied;
        return applied;
    }

    static readonly ProviderQuery<Func<ConsentDb, string, CancellationToken, Task<SealedPersonalData?>>> TrackedContact = new(() =>
        EF.CompileAsyncQuery((ConsentDb db, string reference, CancellationToken ct) =>
            db.PersonalData.SingleOrDefault(p => p.Kind == PersonalDataKinds.Contact && p.Reference == reference)));

    /// <summary>
    /// The record's stored email and phone, and whether it has a contact row. The row is read tracked, so opening it
    /// needs no second query and sealing the new contact replaces it in place.
    /// </summary>
    async Task<(Contact Stored, bool HasRow)> StoredContactAsync(long customerId, CancellationToken ct)
    {
        var reference = PersonalDataVault.Reference(customerId);
        var row = db.Staged<SealedPersonalData>().FirstOrDefault(p => p.Kind == PersonalDataKinds.Contact && p.Reference == reference)
            ?? await TrackedContact.For(db)(db, reference, ct);
        if (row is null) return (new Contact(null, null), false);
        // An erased record's row may outlive its key: it opens to nothing and is replaced like any other.
        return (await vault.ContactAsync(customerId, ct) ?? new Contact(null, null), true);
    }

    /// <summary>The record's current state; its email and phone are opened only when a <paramref name="vault"/> is given.</summary>
    public static async Task<SubscriptionState> CurrentStateAsync(ConsentDb db, PersonalDataVault? vault, Customer customer, bool tracked, CancellationToken ct)
    {
        var consentList = await (tracked ? TrackedConsents : Consents).For(db)(db, customer.Id).ToListAsync(ct);
        var channelList = await (tracked ? TrackedChannels : Channels).For(db)(db, customer.Id).ToListAsync(ct);
        var contact = vault is null ? null : await vault.ContactAsync(customer.Id, ct);
        return SubscriptionState.Of(customer, consentList, channelList, contact);
    }

    static readonly ProviderQuery<Func<ConsentDb, long, IAsyncEnumerable<ConsentEntry>>> TrackedConsents =
        new(() => EF.CompileAsyncQuery((ConsentDb db, long customerId) => db.ConsentEntries.Where(e => e.CustomerId == customerId)));

    static readonly ProviderQuery<Func<ConsentDb, long, IAsyncEnumerable<ConsentEntry>>> Consents =
        new(() => EF.CompileAsyncQuery((ConsentDb db, long customerId) => db.ConsentEntries.AsNoTracking().Where(e => e.CustomerId == customerId)));

    static readonly ProviderQuery<Func<ConsentDb, long, IAsyncEnumerable<ChannelEntry>>> TrackedChannels =
        new(() => EF.CompileAsyncQuery((ConsentDb db, long customerId) => db.ChannelEntries.Where(e => e.CustomerId == customerId)));

    static readonly ProviderQuery<Func<ConsentDb, long, IAsyncEnumerable<ChannelEntry>>> Channels =
        new(() => EF.CompileAsyncQuery((ConsentDb db, long customerId) => db.ChannelEntries.AsNoTracking().Where(e => e.CustomerId == customerId)));

    /// <summary>Replays the changes applied up to <paramref name="at"/> (inclusive) to give the state of that instant.</summary>
    public static async Task<(SubscriptionState State, DateTime? CommandTimestamp)> StateAtAsync(
        ConsentDb db, PersonalDataVault vault, Customer customer, DateTime at, CancellationToken ct)
    {
        var applied = await db.ChangeRequests.AsNoTracking()
            .Where(c => c.CustomerId == customer.Id && c.Status == ChangeStatus.Applied && c.AppliedAt <= at)
            .OrderBy(c => c.AppliedAt).ThenBy(c => c.Sequence)
            .ToListAsync(ct);
        var state = new SubscriptionState(customer.Id);
        DateTime? commandTimestamp = null;
        var sent = await vault.RequestDataAsync(applied, ct);
        foreach (var request in applied)
        {
            var data = sent[request.Id];
            // The change passed the rules when it arrived; categories hidden since then must not hide the past.
            var (change, violations) = SubscriptionDataRules.Check(data, CategoryCatalogue.Replay);
            if (change is null)
                throw new InvalidOperationException($"Stored change request {request.Id} no longer parses: {violations[0].Message}");
            state.Apply(change, request.Id, request.Sequence, request.AppliedAt!.Value, customer.SourceSystem);
            commandTimestamp = request.CommandTimestamp ?? commandTimestamp;
        }
        return (state, commandTimestamp);
    }
}
