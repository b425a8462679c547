using System.Security.Claims;
using System.Text.Json;
using ConsentHub.Auth;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Subscriptions;

/// <summary>The published API of seed 004: submit subscription data, read it consolidated, its history and its past.</summary>
public static class SubscriptionDataApi
{
    const int DefaultPageSize = 50;
    const int MaxPageSize = 200;

    public static IEndpointRouteBuilder MapSubscriptionData(this IEndpointRouteBuilder app)
    {
        var customer = app.MapGroup("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/customers/{sourceCustomerId}")
            .WithTags("Subscription data")
            .RequireAuthorization();

        customer.MapPost("/subscription-data", Submit)
            .RequireAuthorization(AuthSetup.WriteScope)
            .WithName("SubmitSubscriptionData")
            .WithSummary("Send a REQUESTED change of consents and channel preferences for one customer.")
            .Accepts<SubscriptionData>("application/json")
            .Produces<ChangeRequestView>(StatusCodes.Status201Created, Hal.MediaType)
            .Produces<ChangeRequestView>(StatusCodes.Status202Accepted, Hal.MediaType)
            .Produces<PropagationView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        customer.MapGet("/subscription-data", Read)
            .RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetSubscriptionData")
            .WithSummary("The consolidated, applied subscription data of a customer, now or at a past instant (?at=).")
            .Produces<ConsolidatedView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        customer.MapGet("/subscription-data/history", History)
            .RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetSubscriptionDataHistory")
            .WithSummary("Every change of a customer in ledger order, with status, who, when and what; paginated.")
            .Produces<HistoryPage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        customer.MapGet("/cluster", Cluster)
            .RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetCustomerCluster")
            .WithSummary("The records known to be the same person, within the customer's context. A record in no cluster is a cluster of one.")
            .Produces<ClusterView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/change-requests/{id}", ChangeRequestStatus)
            .WithTags("Subscription data")
            .RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetChangeRequest")
            .WithSummary("The status of one change request: PENDING_VALIDATION, APPLIED, EXPIRED, VALIDATION_FAILED, REJECTED or SUPERSEDED, with its timeline.")
            .Produces<ChangeRequestView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> Submit(
        string context, string nmsc, string sourceSystem, string sourceCustomerId,
        HttpRequest http, ClaimsPrincipal user, ConsentDb db, SubscriptionChanges changes, LedgerWriter ledger, TimeProvider time,
        TenancyCache tenancy, CancellationToken ct)
    {
        context = Names.Normalise(context);
        nmsc = Names.Normalise(nmsc);
        var caller = Caller.From(user);
        if (!caller.IsSourceSystem(nmsc, context, sourceSystem))
            return Problems.Forbidden("A source system sends subscription data only as itself, for its own organisation and context.");
        if (!Names.IsSourceCustomerId(sourceCustomerId))
            return Problems.Invalid("sourceCustomerId", "source-customer-id",
                $"sourceCustomerId must be 1 to {Names.MaxSourceCustomerIdLength} characters without control characters or surrounding spaces.");

        var (key, keyError) = Idempotency.ReadKey(http);
        if (keyError is not null) return keyError;

        var body = await JsonBody.ReadAsync<SubscriptionData>(http, ct);
        if (body.Error is not null) return body.Error;

        var system = await tenancy.SourceSystemAsync(db, nmsc, context, sourceSystem, ct);
        if (system is null) return Problems.Forbidden("This source system is no longer registered.");

        if (body.Value!.CommandType == CommandTypes.Processed)
            return await PropagationApi.AcknowledgeAsync(db, ledger, time, system, sourceCustomerId, body.Value, ct);

        var (change, violations) = SubscriptionDataRules.Check(body.Value!, await tenancy.CatalogueAsync(db, nmsc, ct));
        // Refused by the kept catalogue: checked once more against the stored one (a category added a moment ago elsewhere).
        if (change is null) (change, violations) = SubscriptionDataRules.Check(body.Value!, await tenancy.FreshCatalogueAsync(db, nmsc, ct));
        if (change is null) return Problems.Invalid(violations);

        // The fingerprint covers the customer as well as the body: the same key and body sent for another
        // customer is a different request (422), never a replay of the first customer's answer.
        // Keys belong to the source system, whichever grant its token came from.
        var idempotency = key is null ? null : new IdempotencyKey($"source-system:{system.Id}", key, Idempotency.Hash(
            [.. System.Text.Encoding.UTF8.GetBytes(Paths.SubscriptionData(context, nmsc, sourceSystem, sourceCustomerId) + "\n"), .. body.Bytes]));
        var outcome = await changes.SubmitAsync(system, sourceCustomerId, body.Value!, change, caller.Subject, idempotency, propagate: true, ct);
        return outcome switch
        {
            SubmitOutcome.Accepted accepted => Hal.Raw(
                accepted.Change.Status == ChangeStatus.Applied ? StatusCodes.Status201Created : StatusCodes.Status202Accepted,
                accepted.Body, Paths.ChangeRequest(accepted.Change.Id)),
            SubmitOutcome.Replayed replayed => Idempotency.Replay(replayed.Record),
            _ => Idempotency.KeyReused(),
        };
    }

    static async Task<IResult> Read(
        string context, string nmsc, string sourceSystem, string sourceCustomerId, string? at, string? proof,
        ClaimsPrincipal user, ConsentDb db, PersonKeys keys, PersonalDataVault vault, Checkpoints checkpoints, CancellationToken ct)
    {
        if (at is null)
        {
            // Consolidated across the customer's cluster within its context, under the organisation's merge policy.
            context = Names.Normalise(context);
            nmsc = Names.Normalise(nmsc);
            var current = Caller.From(user).MayRead(nmsc, context)
                ? await CurrentSubscriptionData.ReadAsync(db, keys, nmsc, context, sourceSystem, sourceCustomerId, ct)
                : null;
            if (current is null) return UnknownCustomer();
            if (ProofError(proof, at) is { } error) return error;
            return Hal.Ok(Views.Consolidated(current.Customer, current.State, current.CommandTimestamp));
        }

        var (customer, notFound) = await FindCustomerAsync(context, nmsc, sourceSystem, sourceCustomerId, user, db, ct);
        if (customer is null) return notFound!;
        if (ProofError(proof, at) is { } proofError) return proofError;

        // An unencoded '+' in a query string arrives as a space; the format has no other spaces.
        at = at.Replace(' ', '+');
        if (!Timestamps.TryParse(at, out var instant))
            return Problems.Invalid("at", "timestamp-format", $"at must be {Timestamps.Rule}.");

        // The past of the cluster as it was at that instant, under the organisation's merge policy.
        var record = RecordKey.Of(customer);
        var clusterId = await ClusterHistory.ClusterAtAsync(db, customer.Nmsc, record, instant, ct);
        var members = clusterId is null ? [] : await ClusterHistory.MembersAtAsync(db, customer.Nmsc, clusterId, customer.Context, instant, ct);
        var others = (await ClusterMembership.CustomersAsync(db, customer.Nmsc, customer.Context, members, ct)).Where(c => c.Id != customer.Id).ToList();
        var policy = others.Count == 0 ? MergePolicies.LatestWins
            : await db.Organisations.AsNoTracking().Where(o => o.Nmsc == customer.Nmsc).Select(o => o.MergePolicy).SingleAsync(ct);
        var (past, commandTimestamp) = await SubscriptionChanges.StateAtAsync(db, vault, customer, instant, ct);
        var pasts = new List<SubscriptionState>();
        foreach (var other in others) pasts.Add((await SubscriptionChanges.StateAtAsync(db, vault, other, instant, ct)).State);
        past = SubscriptionState.Merge(past, pasts, policy);
        var answer = Views.Consolidated(customer, past, commandTimestamp, "?at=" + Uri.EscapeDataString(at));
        if (proof == "true")
        {
            var recordIds = others.Select(o => o.Id).Append(customer.Id).ToList();
            var indices = await db.ChangeRequests.AsNoTracking()
                .Where(c => recordIds.Contains(c.CustomerId) && c.Status == ChangeStatus.Applied && c.AppliedAt <= instant && c.OutcomeLedgerIndex != null)
                .OrderBy(c => c.OutcomeLedgerIndex).Select(c => c.OutcomeLedgerIndex!.Value).ToListAsync(ct);
            answer = answer with { Proof = await ProveAsync(db, checkpoints, indices, ct) };
        }
        return Hal.Ok(answer);
    }

    static async Task<IResult> History(
        string context, string nmsc, string sourceSystem, string sourceCustomerId, string? after, string? limit,
        ClaimsPrincipal user, ConsentDb db, PersonalDataVault vault, CancellationToken ct)
    {
        var (customer, notFound) = await FindCustomerAsync(context, nmsc, sourceSystem, sourceCustomerId, user, db, ct);
        if (customer is null) return notFound!;
        var (afterIndex, size, pageError) = Paging.Read(after, limit, DefaultPageSize, MaxPageSize);
        if (pageError is not null) return pageError;

        var page = await db.ChangeRequests.AsNoTracking()
            .Where(c => c.CustomerId == customer.Id && c.Sequence > afterIndex)
            .OrderBy(c => c.Sequence)
            .Take(size + 1)
            .ToListAsync(ct);
        var ids = page.Select(c => c.Id).ToList();
        var validations = await db.Validations.AsNoTracking().Where(v => ids.Contains(v.ChangeRequestId)).ToDictionaryAsync(v => v.ChangeRequestId, ct);
        var notifications = await db.Notifications.AsNoTracking().Where(n => ids.Contains(n.ChangeRequestId)).ToDictionaryAsync(n => n.ChangeRequestId, ct);
        var leaves = await LeafHashes.OfAsync(db, page.Select(c => c.Sequence), ct);
        var sent = await vault.RequestDataAsync(page.Take(size).ToList(), ct);
        var views = page.Take(size)
            .Select(c => Views.ChangeRequest(c, customer, sent[c.Id],
                leaves.GetValueOrDefault(c.Sequence),
                ValidationTimeline.Of(validations.GetValueOrDefault(c.Id), notifications.GetValueOrDefault(c.Id))))
            .ToList();
        var path = Paths.SubscriptionData(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId) + "/history";
        var links = new Dictionary<string, HalLink>
        {
            ["self"] = Paging.Link(path, afterIndex, size),
            ["subscription-data"] = new(Paths.SubscriptionData(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId)),
        };
        if (page.Count > size) links["next"] = new($"{path}?after={views[^1].LedgerIndex}&limit={size}");
        return Hal.Ok(new HistoryPage(views.Count, views, links));
    }

    static async Task<IResult> Cluster(
        string context, string nmsc, string sourceSystem, string sourceCustomerId,
        ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        var (customer, notFound) = await FindCustomerAsync(context, nmsc, sourceSystem, sourceCustomerId, user, db, ct);
        if (customer is null) return notFound!;
        var self = Paths.Customer(customer.Context, customer.Nmsc, customer.SourceSystem, customer.SourceCustomerId) + "/cluster";
        var clusterId = await ClusterMembership.ClusterIdAsync(db, customer.Nmsc, RecordKey.Of(customer), ct);
        // Consolidation never crosses contexts, so neither does the cluster as a customer's reader sees it.
        var members = clusterId is null
            ? [RecordKey.Of(customer)]
            : await ClusterMembership.MembersAsync(db, customer.Nmsc, clusterId, customer.Context, ct);
        return Hal.Ok(new ClusterView(clusterId, customer.Nmsc,
            members.Select(m => new ClusterMemberView(m.Context, m.SourceSystem, m.SourceCustomerId)).ToList(),
            new Dictionary<string, HalLink> { ["self"] = new(self) }));
    }

    static async Task<IResult> ChangeRequestStatus(string id, ClaimsPrincipal user, ConsentDb db, PersonalDataVault vault, CancellationToken ct)
    {
        var notFound = Problems.NotFound("No such change request.");
        if (!Guid.TryParse(id, out var changeId)) return notFound;
        var change = await db.ChangeRequests.AsNoTracking().SingleOrDefaultAsync(c => c.Id == changeId, ct);
        if (change is null) return notFound;
        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.Id == change.CustomerId, ct);
        if (!Caller.From(user).MayRead(customer.Nmsc, customer.Context)) return notFound;
        var validation = await db.Validations.AsNoTracking().SingleOrDefaultAsync(v => v.ChangeRequestId == change.Id, ct);
        var notification = await db.Notifications.AsNoTracking().SingleOrDefaultAsync(n => n.ChangeRequestId == change.Id, ct);
        var leaf = (await LeafHashes.OfAsync(db, [change.Sequence], ct)).GetValueOrDefault(change.Sequence);
        return Hal.Ok(Views.ChangeRequest(change, customer, await vault.RequestDataAsync(change, ct), leaf, ValidationTimeline.Of(validation, notification)));
    }

    /// <summary>
    /// The entries with their inclusion proofs in the latest checkpoint's tree; when they are newer than it, a checkpoint
    /// is signed first, so the answer is always provable at once.
    /// </summary>
    /// <summary>
    /// The inclusion proofs of these ledger entries (ascending indices) in the latest checkpoint, one issued first when
    /// none covers them; what <c>?proof=true</c> answers, and what the console's record page verifies.
    /// </summary>
    internal static async Task<AnswerProof> ProveAsync(ConsentDb db, Checkpoints checkpoints, List<long> indices, CancellationToken ct)
    {
        var checkpoint = await Checkpoints.LatestAsync(db, ct);
        if (checkpoint is null || (indices.Count > 0 && checkpoint.Size <= indices[^1]))
            checkpoint = await checkpoints.IssueAsync(ct) ?? throw new InvalidOperationException("The ledger is empty.");
        var nodes = new StoredMerkleNodes(db);
        var entries = await db.LedgerEntries.AsNoTracking().Where(e => indices.Contains(e.Index)).OrderBy(e => e.Index).ToListAsync(ct);
        var proven = new List<ProvenEntry>();
        foreach (var entry in entries)
        {
            var canonical = LedgerHash.Canonical(entry);
            var path = await Merkle.InclusionProofAsync(nodes, entry.Index, checkpoint.Size, ct);
            proven.Add(new ProvenEntry(entry.Index, System.Text.Encoding.UTF8.GetString(canonical), Convert.ToBase64String(Merkle.LeafHash(canonical)),
                [.. path.Select(Convert.ToBase64String)]));
        }
        return new AnswerProof(checkpoint.Note, checkpoint.Size, Convert.ToBase64String(checkpoint.RootHash), proven);
    }

    static IResult? ProofError(string? proof, string? at)
    {
        if (proof is not (null or "true" or "false"))
            return Problems.Invalid("proof", "boolean", "proof must be true or false.");
        if (proof == "true" && at is null)
            return Problems.Invalid("proof", "requires-at", "proof=true answers a point in time: give at= as well.");
        return null;
    }

    /// <summary>
    /// The record, or, for a record a cluster names but that never sent a change of its own, a stand-in without data
    /// (id 0): it reads as its cluster. Other organisations' and contexts' customers are answered exactly like unknown ones.
    /// </summary>
    static async Task<(Customer?, IResult?)> FindCustomerAsync(
        string context, string nmsc, string sourceSystem, string sourceCustomerId, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        context = Names.Normalise(context);
        nmsc = Names.Normalise(nmsc);
        if (!Caller.From(user).MayRead(nmsc, context)) return (null, UnknownCustomer());
        var customer = await db.Customers.AsNoTracking().SingleOrDefaultAsync(c =>
                c.Nmsc == nmsc && c.Context == context && c.SourceSystem == sourceSystem && c.SourceCustomerId == sourceCustomerId, ct)
            ?? await CurrentSubscriptionData.ClusterOnlyRecordAsync(db, nmsc, context, sourceSystem, sourceCustomerId, ct);
        return customer is null ? (null, UnknownCustomer()) : (customer, null);
    }

    static IResult UnknownCustomer() => Problems.NotFound("No subscription data is known for this customer.");

}
