using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Consents;

/// <summary>One validated REQUESTED change of a batch, with the idempotency key that makes it apply once.</summary>
public sealed record BulkChange(string SourceCustomerId, SubscriptionData Data, NormalisedChange Change, string Key);

/// <summary>
/// The write pipeline run on a batch: applies validated changes of one source system in one transaction, with the same
/// rows, ledger entries and reactions (<see cref="IChangeReaction"/>) as <see cref="SubscriptionChanges.SubmitAsync"/>
/// for each, read and written set by set instead of one round trip after another. Its changes notify nobody (an upload),
/// and each reaction stages for the whole batch at once, under the ledger lock. Propagated, each change is planned
/// against the state its record has in the batch; a change that would need another record's state (a record in a
/// cluster), or a record changed twice in the batch, refuses the whole batch with <see cref="UnitOfWorkOverlap"/>,
/// and its caller submits its changes through the single-change pipeline. A caller whose records must see each other
/// committed (built-in matching) submits them that way from the start.
/// </summary>
public sealed class BulkChanges(
    ConsentDb db, LedgerWriter ledger, TimeProvider time, ChangeReactions reactions, PersonKeys personKeys, PersonalDataVault vault,
    BlindIndex blindIndex)
{
    /// <summary>
    /// Applies the changes in order; true for each applied, false for each skipped because a change with its key was
    /// applied before (by an earlier batch, or earlier in this one).
    /// </summary>
    /// <param name="propagate">False records the changes without planning any propagation (a bootstrap).</param>
    /// <remarks>A concurrent upload of the same records, or a single change of one of them, may get there first: then it starts again.</remarks>
    /// <exception cref="UnitOfWorkOverlap">Propagated, a change needs what another of the batch staged; nothing is committed.</exception>
    public Task<bool[]> ApplyAsync(
        SourceSystem system, IReadOnlyList<BulkChange> changes, string submittedBy, string scope, bool propagate, CancellationToken ct) =>
        ConflictRetry.RunAsync(db, () => TryApplyAsync(system, changes, submittedBy, scope, propagate, ct), reactions.Reset);

    async Task<bool[]> TryApplyAsync(
        SourceSystem system, IReadOnlyList<BulkChange> changes, string submittedBy, string scope, bool propagate, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        // The batch's new rows are held untracked and copied at the end (InsertBuffer).
        using var inserts = db.BufferInserts();
        var now = time.Now();
        var keys = changes.Select(c => c.Key).Distinct().ToList();
        var done = await db.IdempotencyRecords.AsNoTracking()
            .Where(r => r.Scope == scope && keys.Contains(r.Key)).Select(r => r.Key).ToHashSetAsync(StringComparer.Ordinal, ct);
        var applied = new bool[changes.Count];
        var todo = Enumerable.Range(0, changes.Count).Where(i => done.Add(changes[i].Key)).ToList();
        if (todo.Count == 0) return applied;

        // The records, locked in id order as a single change locks its one (PostgreSQL), then those still missing created.
        var ids = todo.Select(i => changes[i].SourceCustomerId).Distinct(StringComparer.Ordinal).ToArray();
        // Each change's message is planned after the whole batch is staged, from its record's state then: a record's
        // first change would carry its second.
        if (propagate && ids.Length < todo.Count) throw new UnitOfWorkOverlap("A record is changed twice in one propagated batch.");
        var customers = (await db.Customers.Where(c => c.SourceSystemId == system.Id && ids.Contains(c.SourceCustomerId))
                .OrderBy(c => c.Id).ForUpdate(db).ToListAsync(ct))
            .ToDictionary(c => c.SourceCustomerId, StringComparer.Ordinal);
        var existing = customers.Values.Select(c => c.Id).ToList();
        var missing = ids.Where(id => !customers.ContainsKey(id)).ToList();
        // On PostgreSQL the new records take ids from their sequence now and are written with the rest of the batch,
        // language and blind indexes included; on SQLite they are inserted at once for their ids.
        var reserved = db.Provider == DatabaseProvider.Postgres ? await ReserveCustomerIdsAsync(missing.Count) : null;
        for (var n = 0; n < missing.Count; n++)
        {
            var customer = new Customer
            {
                SourceSystemId = system.Id, Nmsc = system.Nmsc, Context = system.Context, SourceSystem = system.Name,
                SourceCustomerId = missing[n], CreatedAt = now,
            };
            customers[missing[n]] = customer;
            if (reserved is null)
            {
                db.Customers.Add(customer);
                continue;
            }
            customer.Id = reserved[n];
            db.Insert(customer);
        }
        if (reserved is null) await db.SaveChangesAsync(ct);

        // Their current state, contact rows and keys, a query each for the whole batch. Contacts are opened before
        // missing keys are made, so a record whose key was destroyed reads as having none rather than failing to open.
        var states = customers.Values.ToDictionary(c => c.Id, c => new SubscriptionState(c.Id));
        foreach (var entry in await db.ConsentEntries.Where(e => existing.Contains(e.CustomerId)).ToListAsync(ct)) states[entry.CustomerId].Consents[entry.Code] = entry;
        foreach (var entry in await db.ChannelEntries.Where(e => existing.Contains(e.CustomerId)).ToListAsync(ct)) states[entry.CustomerId].Channels[entry.Code] = entry;
        var contactReferences = existing.Select(PersonalDataVault.Reference).ToList();
        await db.PersonalData.Where(p => p.Kind == PersonalDataKinds.Contact && contactReferences.Contains(p.Reference)).LoadAsync(ct);
        var contacts = await vault.ContactsAsync(existing, ct);
        var sealedContacts = db.Staged<SealedPersonalData>().Where(p => p.Kind == PersonalDataKinds.Contact).Select(p => p.CustomerId).ToHashSet();
        var recordKeys = await personKeys.ForManyAsync(customers.Values.Select(c => c.Id).ToList(), ct);

        await ledger.LockHeadAsync(ct);
        // Thousands of entities are staged below, and the reactions query once a change (propagation); detecting changes
        // on every query or lookup of the local view would make the batch quadratic. Nothing tracked is modified behind
        // the context's back, so detection runs once, before the rows are written.
        var appliedChanges = new List<AppliedChange>(todo.Count);
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        try
        {
            foreach (var i in todo) appliedChanges.Add(await StageAsync(i));
            await reactions.StageAsync(appliedChanges, ct);
            foreach (var change in appliedChanges)
            {
                var appliedEntry = ledger.Append(LedgerEvents.ChangeApplied, reactions.Describe(change));
                change.Request.OutcomeLedgerIndex = appliedEntry.Index;
                reactions.Ledgered(change, appliedEntry);
            }
        }
        finally
        {
            db.ChangeTracker.AutoDetectChangesEnabled = true;
        }
        // The batch's new rows (most of what it writes) go by COPY on PostgreSQL; the save writes what was modified.
        await CopyInsert.WriteAddedAsync(db, ct);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        reactions.Committed();
        return applied;

        async Task<List<long>> ReserveCustomerIdsAsync(int count) => count == 0 ? [] :
            await db.Database.SqlQuery<long>(
                $"""SELECT nextval(pg_get_serial_sequence('customers', 'Id')) AS "Value" FROM generate_series(1, {count})""").ToListAsync(ct);

        async Task<AppliedChange> StageAsync(int i)
        {
            var (sourceCustomerId, data, normalised, key) = changes[i];
            var customer = customers[sourceCustomerId];
            var requestId = Guid.CreateVersion7();
            var request = new ChangeRequest
            {
                Id = requestId, CustomerId = customer.Id, Status = ChangeStatus.Applied, Validated = true,
                CommandTimestamp = normalised.CommandTimestamp, SubmittedBy = submittedBy, ReceivedAt = now, AppliedAt = now,
                Data = await vault.SealRequestAsync(customer.Id, requestId, data, ct, recordKeys[customer.Id]),
            };
            var dataCommitment = PersonKeys.Commit(recordKeys[customer.Id], JsonSerializer.Serialize(data, SubscriptionChanges.StoredJson));
            var requested = ledger.Append(LedgerEvents.ChangeRequested,
                ChangeRecording.Requested(request.Id, system, sourceCustomerId, validated: true, submittedBy, dataCommitment));
            request.Sequence = requested.Index;

            // Nothing the batch staged is saved before its reactions stage: each reads other records as of before the batch.
            var change = new AppliedChange(request, customer, normalised, states[customer.Id], now, propagate) { SharesUnitOfWork = true };
            reactions.Applying(change);
            var (newConsents, newChannels) = states[customer.Id].Apply(normalised, request.Id, request.Sequence, now, customer.SourceSystem);
            foreach (var entry in newConsents) db.Insert(entry);
            foreach (var entry in newChannels) db.Insert(entry);
            if (normalised.Communication is { } communication)
            {
                var contact = ChangeRecording.TakeCommunication(customer, communication, contacts.GetValueOrDefault(customer.Id) ?? new Contact(null, null), blindIndex);
                if (!contact.IsEmpty)
                {
                    contacts[customer.Id] = contact;
                    await vault.SealJsonAsync(customer.Id, PersonalDataKinds.Contact, PersonalDataVault.Reference(customer.Id), contact, ct,
                        isNew: sealedContacts.Add(customer.Id), key: recordKeys[customer.Id]);
                }
            }
            reactions.Applied(change);
            db.Insert(request);
            db.Insert(new IdempotencyRecord
            {
                Scope = scope, Key = key, RequestHash = key, StatusCode = StatusCodes.Status201Created,
                Location = Paths.ChangeRequest(request.Id), ChangeRequestId = request.Id, CreatedAt = now,
            });
            applied[i] = true;
            return change;
        }
    }
}
