using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Consents;

/// <summary>An Idempotency-Key with the hash of the body it first came with.</summary>
public sealed record IdempotencyKey(string Scope, string Key, string RequestHash);

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
public sealed class SubscriptionChanges(ConsentDb db, LedgerWriter ledger, TimeProvider time)
{
    public static readonly JsonSerializerOptions StoredJson = Hal.Json;

    public async Task<SubmitOutcome> SubmitAsync(
        SourceSystem sourceSystem, string sourceCustomerId, SubscriptionData data, NormalisedChange change,
        string submittedBy, IdempotencyKey? idempotency, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);

        // Checked under the ledger lock: a concurrent retry with the same key waits here and then replays.
        if (idempotency is not null)
        {
            var earlier = await db.IdempotencyRecords.AsNoTracking()
                .SingleOrDefaultAsync(r => r.Scope == idempotency.Scope && r.Key == idempotency.Key, ct);
            if (earlier is not null)
                return earlier.RequestHash == idempotency.RequestHash ? new SubmitOutcome.Replayed(earlier) : new SubmitOutcome.KeyReused();
        }

        var now = time.Now();
        var customer = await db.Customers.SingleOrDefaultAsync(
            c => c.SourceSystemId == sourceSystem.Id && c.SourceCustomerId == sourceCustomerId, ct);
        if (customer is null)
        {
            customer = new Customer
            {
                SourceSystemId = sourceSystem.Id, Nmsc = sourceSystem.Nmsc, Context = sourceSystem.Context,
                SourceSystem = sourceSystem.Name, SourceCustomerId = sourceCustomerId, CreatedAt = now,
            };
            db.Customers.Add(customer);
        }

        var stored = JsonSerializer.Serialize(data, StoredJson);
        var request = new ChangeRequest
        {
            Id = Guid.CreateVersion7(),
            Status = ChangeStatus.PendingValidation,
            Validated = change.Validated,
            CommandTimestamp = change.CommandTimestamp,
            Data = stored,
            SubmittedBy = submittedBy,
            ReceivedAt = now,
        };
        var requested = ledger.Append(LedgerEvents.ChangeRequested, new
        {
            changeRequestId = request.Id,
            nmsc = sourceSystem.Nmsc,
            context = sourceSystem.Context,
            sourceSystem = sourceSystem.Name,
            sourceCustomerId,
            validated = change.Validated,
            submittedBy,
            dataSha256 = Idempotency.Hash(System.Text.Encoding.UTF8.GetBytes(stored)),
        });
        request.Sequence = requested.Index;

        // A new customer row needs its key before the change request and entries can point at it.
        if (customer.Id == 0) await db.SaveChangesAsync(ct);
        request.CustomerId = customer.Id;
        db.ChangeRequests.Add(request);

        if (change.Validated)
            await ApplyAsync(request, customer, change, now, ct);

        var body = Hal.Serialize(Views.ChangeRequest(request, customer, data));
        if (idempotency is not null)
        {
            db.IdempotencyRecords.Add(new IdempotencyRecord
            {
                Scope = idempotency.Scope, Key = idempotency.Key, RequestHash = idempotency.RequestHash,
                StatusCode = change.Validated ? StatusCodes.Status201Created : StatusCodes.Status202Accepted,
                Location = Paths.ChangeRequest(request.Id), ResponseBody = body, CreatedAt = now,
            });
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return new SubmitOutcome.Accepted(request, customer, body);
    }

    /// <summary>Makes a change the current state. Runs inside the caller's ledger transaction.</summary>
    async Task ApplyAsync(ChangeRequest request, Customer customer, NormalisedChange change, DateTime now, CancellationToken ct)
    {
        var state = await CurrentStateAsync(db, customer, tracked: true, ct);
        var (newConsents, newChannels) = state.Apply(change, request.Id, request.Sequence, now, customer.SourceSystem);
        db.ConsentEntries.AddRange(newConsents);
        db.ChannelEntries.AddRange(newChannels);
        if (change.Communication is { } communication)
        {
            customer.Language = communication.Language ?? customer.Language;
            customer.Country = communication.Country ?? customer.Country;
            customer.Email = communication.Email ?? customer.Email;
        }

        request.Status = ChangeStatus.Applied;
        request.AppliedAt = now;
        var applied = ledger.Append(LedgerEvents.ChangeApplied, new
        {
            changeRequestId = request.Id,
            consents = change.Consents.Select(c => new { code = c.Code, flag = c.Flag }),
            channels = change.Channels.Select(c => new { code = c.Code, flag = c.Flag }),
        });
        request.OutcomeLedgerIndex = applied.Index;
    }

    public static async Task<SubscriptionState> CurrentStateAsync(ConsentDb db, Customer customer, bool tracked, CancellationToken ct)
    {
        var state = new SubscriptionState(customer.Id);
        IQueryable<ConsentEntry> consents = db.ConsentEntries.Where(e => e.CustomerId == customer.Id);
        IQueryable<ChannelEntry> channels = db.ChannelEntries.Where(e => e.CustomerId == customer.Id);
        if (!tracked)
        {
            consents = consents.AsNoTracking();
            channels = channels.AsNoTracking();
        }
        foreach (var entry in await consents.ToListAsync(ct)) state.Consents[entry.Code] = entry;
        foreach (var entry in await channels.ToListAsync(ct)) state.Channels[entry.Code] = entry;
        if (customer.Language is not null || customer.Country is not null || customer.Email is not null)
            state.Communication = new CommunicationAttributes { Language = customer.Language, Country = customer.Country, Email = customer.Email };
        return state;
    }

    /// <summary>Replays the changes applied up to <paramref name="at"/> (inclusive) to give the state of that instant.</summary>
    public static async Task<(SubscriptionState State, DateTime? CommandTimestamp)> StateAtAsync(
        ConsentDb db, Customer customer, DateTime at, CancellationToken ct)
    {
        var applied = await db.ChangeRequests.AsNoTracking()
            .Where(c => c.CustomerId == customer.Id && c.Status == ChangeStatus.Applied && c.AppliedAt <= at)
            .OrderBy(c => c.AppliedAt).ThenBy(c => c.Sequence)
            .ToListAsync(ct);
        var state = new SubscriptionState(customer.Id);
        DateTime? commandTimestamp = null;
        foreach (var request in applied)
        {
            var data = JsonSerializer.Deserialize<SubscriptionData>(request.Data, StoredJson)!;
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
