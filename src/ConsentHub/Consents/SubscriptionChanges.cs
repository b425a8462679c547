using System.Text.Json;
using ConsentHub.Clusters;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
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
public sealed record SubmitExtras(
    DateTime? PartnerConfirmsUntil = null, string? ValidationReference = null,
    Func<ChangeRequest, Customer, CancellationToken, Task>? InTransaction = null);

public abstract record SubmitOutcome
{
    public sealed record Accepted(ChangeRequest Change, Customer Customer, string Body) : SubmitOutcome;
    public sealed record Replayed(IdempotencyRecord Record) : SubmitOutcome;
    public sealed record KeyReused : SubmitOutcome;
}

/// <summary>
/// Records a REQUESTED change: the change request, its ledger entries, the new current state and the
/// idempotency record all commit in one transaction, so a 2xx answer means all of it is durable.
/// </summary>
public sealed class SubscriptionChanges(
    ConsentDb db, LedgerWriter ledger, TimeProvider time, ValidationSignal signal, PropagationPlanner planner, PropagationSignal propagation,
    PersonKeys personKeys, PersonalDataVault vault, BlindIndex blindIndex, TenancyCache tenancy)
{
    public static readonly JsonSerializerOptions StoredJson = Hal.Json;

    /// <summary>Built-in matching's change to the clusters in the current unit of work, recorded with the applied change.</summary>
    MatchResult? matched;

    /// <summary>The applied change's record images, for the change log row written with its ledger entry.</summary>
    Outbound.ChangeLog.Pending? logged;

    /// <param name="propagate">
    /// False records the change without planning any propagation (an initial upload that only bootstraps the hub):
    /// no system is sent it now, and a later change propagates the consolidated data as usual.
    /// </param>
    public async Task<SubmitOutcome> SubmitAsync(
        SourceSystem sourceSystem, string sourceCustomerId, SubscriptionData data, NormalisedChange change,
        string submittedBy, IdempotencyKey? idempotency, bool propagate, CancellationToken ct, SubmitExtras? extras = null)
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
            return await ConflictRetry.RunAsync(db,
                () => TrySubmitAsync(sourceSystem, sourceCustomerId, data, change, submittedBy, idempotency, propagate, extras, ct), Reset);
        }
        finally
        {
            db.Database.AutoSavepointsEnabled = savepoints;
        }
    }

    async Task<SubmitOutcome> TrySubmitAsync(
        SourceSystem sourceSystem, string sourceCustomerId, SubscriptionData data, NormalisedChange change,
        string submittedBy, IdempotencyKey? idempotency, bool propagate, SubmitExtras? extras, CancellationToken ct)
    {
        // The ledger lock is taken last and held only for the final statements; until then concurrent
        // changes of other customers proceed side by side, and the customer's own row lock orders its changes.
        await using var transaction = await ledger.BeginUnlockedAsync(ct);

        if (idempotency is not null)
        {
            var earlier = await db.IdempotencyRecords.AsNoTracking()
                .SingleOrDefaultAsync(r => r.Scope == idempotency.Scope && r.Key == idempotency.Key, ct);
            if (earlier is not null)
            {
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
        }

        var now = time.Now();
        var customer = await LockCustomerAsync(sourceSystem.Id, sourceCustomerId, ct);
        var known = customer is not null;
        if (customer is null)
        {
            customer = new Customer
            {
                SourceSystemId = sourceSystem.Id, Nmsc = sourceSystem.Nmsc, Context = sourceSystem.Context,
                SourceSystem = sourceSystem.Name, SourceCustomerId = sourceCustomerId, CreatedAt = now,
            };
            db.Customers.Add(customer);
            // Its key is needed below; a concurrent insert of the same customer fails here and is retried.
            await db.SaveChangesAsync(ct);
        }

        var stored = JsonSerializer.Serialize(data, StoredJson);
        // The record's key seals the request and its answer and keys the commitment: fetched (or made) once.
        // An erased record has no key: it gets a new one here.
        var personKey = await personKeys.ForAsync(customer.Id, ct, dropUnreadable: known);
        var requestId = Guid.CreateVersion7();
        var request = new ChangeRequest
        {
            Id = requestId,
            CustomerId = customer.Id,
            Status = ChangeStatus.PendingValidation,
            Validated = change.Validated,
            Notify = data.Consent?.Notify == true,
            CommandTimestamp = change.CommandTimestamp,
            Data = await vault.SealRequestAsync(customer.Id, requestId, data, ct, personKey),
            SubmittedBy = submittedBy,
            ReceivedAt = now,
        };
        db.ChangeRequests.Add(request);
        var state = change.Validated ? await ApplyAsync(request, customer, change, now, long.MaxValue, propagate, ct) : null;
        if (!change.Validated)
        {
            // The rules guarantee an address: the person is asked by email (the worker sends it to the request's address),
            // unless the partner that asked confirms it, and the worker only expires it when its window ends.
            var partnerUntil = extras?.PartnerConfirmsUntil;
            db.Validations.Add(new ValidationRequest
            {
                Id = Guid.CreateVersion7(), ChangeRequestId = request.Id, Nmsc = sourceSystem.Nmsc, Context = sourceSystem.Context,
                Language = change.Communication?.Language,
                State = partnerUntil is null ? ValidationStates.Queued : ValidationStates.AwaitingPartner,
                CreatedAt = now, DueAt = partnerUntil ?? now, WindowEndsAt = partnerUntil, Reference = extras?.ValidationReference,
            });
        }

        // A keyed commitment to the request as sent (which may carry an email address), never a plain hash of it.
        var dataCommitment = PersonKeys.Commit(personKey, stored);
        await ledger.LockHeadAsync(ct);
        var requested = ledger.Append(LedgerEvents.ChangeRequested,
            ChangeRecording.Requested(request.Id, sourceSystem, sourceCustomerId, change.Validated, submittedBy, dataCommitment));
        request.Sequence = requested.Index;
        if (state is not null)
        {
            state.Renumber(request.Id, request.Sequence);
            AppendApplied(request, change);
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
                Location = Paths.ChangeRequest(request.Id), ChangeRequestId = request.Id, CreatedAt = now,
            });
            await vault.SealAsync(customer.Id, PersonalDataKinds.Response, PersonalDataVault.Reference(request.Id),
                System.Text.Encoding.UTF8.GetBytes(body), ct, isNew: true, personKey);
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        if ((!change.Validated && extras?.PartnerConfirmsUntil is null) || request.Notify) signal.Notify();
        if (change.Validated) propagation.Notify();
        return new SubmitOutcome.Accepted(request, customer, body);
    }

    /// <summary>Forgets what the current unit of work staged, for a unit of work that starts again.</summary>
    public void Reset()
    {
        matched = null;
        logged = null;
        planner.Reset();
    }

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

    /// <summary>Records that a change became the current state. Needs the ledger lock.</summary>
    public void AppendApplied(ChangeRequest request, NormalisedChange change)
    {
        var applied = ledger.Append(LedgerEvents.ChangeApplied, ChangeRecording.Applied(request.Id, change, planner.StagedTargets()));
        request.OutcomeLedgerIndex = applied.Index;
        var images = logged;
        logged = null;
        if (images is not null) Outbound.ChangeLog.Add(db, images, applied);
        if (matched is { } match)
        {
            var entry = ledger.Append(ClusterEvents.ClusterMatched, new
            {
                changeRequestId = request.Id, clusterId = match.ClusterId, mergedClusters = match.MergedClusters, linkedRecords = match.LinkedRecords,
            });
            if (images is not null) Outbound.ChangeLog.AddMatched(db, entry, images.Customer, match, images.At);
            matched = null;
        }
        planner.Stamp(applied);
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
    async Task<SubscriptionState> ApplyAsync(
        ChangeRequest request, Customer customer, NormalisedChange change, DateTime now, long sequence, bool propagate, CancellationToken ct)
    {
        // The stored email and phone are needed only to keep what a change with communication attributes does not resend:
        // the state is read without them, and the contact row is read below, once, when it is needed.
        var state = await CurrentStateAsync(db, vault: null, customer, tracked: true, ct);
        var before = Outbound.ChangeLog.Image(state, customer);
        var (newConsents, newChannels) = state.Apply(change, request.Id, sequence, now, customer.SourceSystem);
        db.ConsentEntries.AddRange(newConsents);
        db.ChannelEntries.AddRange(newChannels);
        if (change.Communication is { } communication)
        {
            var (stored, hasRow) = await StoredContactAsync(customer.Id, ct);
            var contact = ChangeRecording.TakeCommunication(customer, communication, stored, blindIndex);
            // Nobody else writes the record's contact while its row lock is held: without a row now, the seal inserts one.
            if (!contact.IsEmpty)
                await vault.SealJsonAsync(customer.Id, PersonalDataKinds.Contact, PersonalDataVault.Reference(customer.Id), contact, ct, isNew: !hasRow);
            // Built-in matching links by email or phone, when the organisation has switched it on.
            matched = null;
            if (customer.EmailKey is not null || customer.PhoneKey is not null)
            {
                var settings = await tenancy.SettingsAsync(db, customer.Nmsc, ct)
                    ?? throw new InvalidOperationException($"Organisation '{customer.Nmsc}' of customer {customer.Id} is missing.");
                if (settings.BuiltInMatching) matched = await ClusterMatching.LinkAsync(db, customer, now, ct);
            }
        }
        var after = Outbound.ChangeLog.Image(state, customer);
        logged = new Outbound.ChangeLog.Pending(customer, request.Id, before, after, now);
        await OptOut.Supersession.SupersedeAsync(db, customer, change, now, ct);
        request.Status = ChangeStatus.Applied;
        request.AppliedAt = now;
        // notify: true: the person hears of the change once it is applied, from the worker, after this commits.
        if (request.Notify) NotificationService.Queue(db, request, customer, now);
        if (propagate) await PlanPropagationAsync(request, customer, state, now, ct);
        return state;
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
        var row = db.PersonalData.Local.FirstOrDefault(p => p.Kind == PersonalDataKinds.Contact && p.Reference == reference)
            ?? await TrackedContact.For(db)(db, reference, ct);
        if (row is null) return (new Contact(null, null), false);
        // An erased record's row may outlive its key: it opens to nothing and is replaced like any other.
        return (await vault.ContactAsync(customerId, ct) ?? new Contact(null, null), true);
    }

    /// <summary>
    /// Stages a PROPAGATED message for every record of the customer's cluster (in its context) whose system is
    /// registered and whose consolidated data changed. The other records are locked first, so a concurrent change of one of them or of the cluster
    /// is either seen here or sees this one.
    /// </summary>
    async Task PlanPropagationAsync(ChangeRequest request, Customer customer, SubscriptionState state, DateTime now, CancellationToken ct)
    {
        // Built-in matching staged its cluster change; the membership read below must see it.
        if (matched is not null) await db.SaveChangesAsync(ct);
        var own = new MemberKey(customer.Context, customer.SourceSystem, customer.SourceCustomerId);
        // Every registered system of the cluster is told: by webhook, or through its pull feed when it has no destination.
        var group = await ClusterMembership.ContextGroupAsync(db, customer.Nmsc, own, ct);
        var targets = await planner.TargetSystemsAsync(customer.Nmsc, customer.Context, group, ct);
        if (targets.Count > 0)
        {
            if (group.Count > 1) await ClusterMembership.LockRecordsAsync(db, customer.Nmsc, group.Where(m => m != own).ToList(), ct);
            await planner.PlanContextAsync(customer.Nmsc, customer.Context, group, targets, PropagationCause.Change(request),
                new Dictionary<MemberKey, SubscriptionState> { [own] = state }, now, ct);
        }
        // Matching may have merged clusters that reach into other contexts: their records' consolidation changed too.
        if (matched is { } match)
        {
            var elsewhere = (await ClusterMembership.MembersAsync(db, customer.Nmsc, match.ClusterId, context: null, ct))
                .Where(m => m.Context != customer.Context).ToList();
            if (elsewhere.Count > 0) await planner.PlanAsync(customer.Nmsc, elsewhere, PropagationCause.Cluster, null, now, ct);
        }
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

/// <summary>What a single submission and a batch of the initial upload both record for a change, so the two cannot drift apart.</summary>
static class ChangeRecording
{
    /// <summary>The payload of a "change-requested" entry: identifiers and a keyed commitment to the data, no personal data.</summary>
    public static object Requested(Guid changeRequestId, SourceSystem system, string sourceCustomerId, bool validated, string submittedBy, string dataCommitment) => new
    {
        changeRequestId,
        nmsc = system.Nmsc,
        context = system.Context,
        sourceSystem = system.Name,
        sourceCustomerId,
        validated,
        submittedBy,
        dataCommitment,
    };

    /// <summary>
    /// The payload of a "change-applied" entry: the codes and flags that became current, and, when it was propagated,
    /// the records (ids only) its PROPAGATED messages went to.
    /// </summary>
    public static object Applied(Guid changeRequestId, NormalisedChange change, IReadOnlyList<PropagationTarget>? propagatedTo = null)
    {
        var consents = change.Consents.Select(c => new { code = c.Code, flag = c.Flag });
        var channels = change.Channels.Select(c => new { code = c.Code, flag = c.Flag });
        return propagatedTo is null or { Count: 0 }
            ? new { changeRequestId, consents, channels }
            : new { changeRequestId, consents, channels, propagatedTo };
    }

    /// <summary>
    /// Takes an applied change's communication attributes into its record: language and country, and the blind indexes
    /// of what it sent. Returns the record's contact as it now is, for the caller to seal.
    /// </summary>
    public static Contact TakeCommunication(Customer customer, CommunicationAttributes communication, Contact contact, BlindIndex blindIndex)
    {
        customer.Language = communication.Language ?? customer.Language;
        customer.Country = communication.Country ?? customer.Country;
        if (communication.Email is { } email)
        {
            contact = contact with { Email = email };
            customer.EmailKey = blindIndex.Email(email);
        }
        if (communication.Phone is { } phone)
        {
            // Read with the country sent beside it, as the rules did: a later country alone does not reinterpret it.
            contact = contact with { Phone = phone };
            customer.PhoneKey = blindIndex.Phone(phone, communication.Country);
        }
        return contact;
    }
}
