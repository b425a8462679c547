using System.Text.Json;
using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Propagation;

/// <summary>Why messages are planned: an applied change (with its request) or a change of the cluster.</summary>
/// <param name="Notify">The change asked for the person to be notified: the messages say so in <c>consent.notify</c>.</param>
public sealed record PropagationCause(string Kind, Guid? ChangeRequestId, DateTime? CommandTimestamp, bool Notify = false)
{
    public static PropagationCause Cluster { get; } = new(PropagationCauses.ClusterChanged, null, null);

    public static PropagationCause Change(ChangeRequest request) =>
        new(PropagationCauses.ChangeApplied, request.Id, request.CommandTimestamp, request.Notify);
}

/// <summary>
/// Decides, inside the unit of work that changed subscription data or a cluster, which records must hear of it:
/// every record of the cluster (within one context) whose source system has a destination, the originator included
/// (seed FAQ 8), gets exactly the consents and channels of the consolidated data that differ from what it was last
/// sent (FAQ 7). Messages are staged until the ledger entry that causes them has its index, then written by
/// <see cref="Stamp"/> in the same transaction.
/// </summary>
public sealed class PropagationPlanner(ConsentDb db)
{
    static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    sealed record Draft(PropagationMessage Message, PropagationCause Cause, List<ConsentEntry> Consents, List<ChannelEntry> Channels);

    readonly List<Draft> staged = [];
    string? policy;

    /// <summary>Forgets what was staged (a unit of work that starts again).</summary>
    public void Reset()
    {
        staged.Clear();
        policy = null;
    }

    /// <summary>
    /// The records of one cluster within one context that can be sent anything: those whose system has a destination.
    /// Empty when none has; the caller then needs no further work (and no locks).
    /// </summary>
    public async Task<Dictionary<string, long>> TargetSystemsAsync(string nmsc, string context, IEnumerable<MemberKey> members, CancellationToken ct)
    {
        var names = members.Where(m => m.Context == context).Select(m => m.SourceSystem).ToHashSet(StringComparer.Ordinal);
        var all = await DestinationsOfContextAsync(nmsc, context, ct);
        return all.Where(d => names.Contains(d.Key)).ToDictionary(StringComparer.Ordinal);
    }

    /// <summary>The source systems of one organisation and context that have a destination, by name.</summary>
    public async Task<Dictionary<string, long>> DestinationsOfContextAsync(string nmsc, string context, CancellationToken ct) =>
        await (
                from s in db.SourceSystems.AsNoTracking()
                where s.Nmsc == nmsc && s.Context == context
                join d in db.Destinations.AsNoTracking() on s.Id equals d.SourceSystemId
                select new { s.Name, s.Id })
            .ToDictionaryAsync(x => x.Name, x => x.Id, StringComparer.Ordinal, ct);

    /// <summary>
    /// Stages a message for each record of <paramref name="members"/> (one cluster, any contexts) whose consolidated
    /// data differs from what its system was last sent. <paramref name="known"/> supplies states not yet saved.
    /// </summary>
    public async Task PlanAsync(
        string nmsc, IReadOnlyCollection<MemberKey> members, PropagationCause cause,
        IReadOnlyDictionary<MemberKey, SubscriptionState>? known, DateTime now, CancellationToken ct)
    {
        foreach (var group in members.Distinct().GroupBy(m => m.Context))
        {
            var targets = await TargetSystemsAsync(nmsc, group.Key, group, ct);
            if (targets.Count > 0) await PlanContextAsync(nmsc, group.Key, [.. group], targets, cause, known, now, ct);
        }
    }

    /// <summary>As <see cref="PlanAsync"/>, for the records of one context whose <paramref name="targets"/> are known.</summary>
    public async Task PlanContextAsync(
        string nmsc, string context, IReadOnlyCollection<MemberKey> members, Dictionary<string, long> targets, PropagationCause cause,
        IReadOnlyDictionary<MemberKey, SubscriptionState>? known, DateTime now, CancellationToken ct)
    {
        var ids = members.Select(m => m.SourceCustomerId).Distinct().ToList();
        var wanted = members.ToHashSet();
        var customers = (await db.Customers.AsNoTracking()
                .Where(c => c.Nmsc == nmsc && c.Context == context && ids.Contains(c.SourceCustomerId))
                .ToListAsync(ct))
            .Where(c => wanted.Contains(KeyOf(c)))
            .ToList();
        var states = new List<SubscriptionState>();
        foreach (var customer in customers)
        {
            states.Add(known?.GetValueOrDefault(KeyOf(customer))
                ?? await SubscriptionChanges.CurrentStateAsync(db, vault: null, customer, tracked: false, ct));
        }
        if (states.Count == 0) return;
        policy ??= await db.Organisations.AsNoTracking().Where(o => o.Nmsc == nmsc).Select(o => o.MergePolicy).SingleAsync(ct);
        var consolidated = SubscriptionState.Merge(states[0], states.Skip(1), states.Count == 1 ? MergePolicies.LatestWins : policy);

        var systemIds = targets.Values.ToList();
        await db.PropagatedValues.Where(v => systemIds.Contains(v.SourceSystemId) && ids.Contains(v.SourceCustomerId)).LoadAsync(ct);
        var sent = db.PropagatedValues.Local
            .Where(v => systemIds.Contains(v.SourceSystemId))
            .ToDictionary(v => (v.SourceSystemId, v.SourceCustomerId, v.Kind, v.Code));

        foreach (var member in members.Where(m => targets.ContainsKey(m.SourceSystem)).OrderBy(m => m.SourceSystem, StringComparer.Ordinal).ThenBy(m => m.SourceCustomerId, StringComparer.Ordinal))
        {
            var systemId = targets[member.SourceSystem];
            var consents = new List<ConsentEntry>();
            var channels = new List<ChannelEntry>();
            foreach (var entry in consolidated.Consents.Values.OrderBy(e => e.Code, StringComparer.Ordinal))
            {
                if (Record(sent, systemId, member.SourceCustomerId, ValueKinds.Consent, entry.Code, entry.Flag, entry.ChangeRequestId))
                    consents.Add(entry);
            }
            foreach (var entry in consolidated.Channels.Values.OrderBy(e => e.Code, StringComparer.Ordinal))
            {
                if (Record(sent, systemId, member.SourceCustomerId, ValueKinds.Channel, entry.Code, entry.Flag, entry.ChangeRequestId))
                    channels.Add(entry);
            }
            if (consents.Count == 0 && channels.Count == 0) continue;
            staged.Add(new Draft(new PropagationMessage
            {
                Id = Guid.CreateVersion7(),
                SourceSystemId = systemId, Nmsc = nmsc, Context = context, SourceSystem = member.SourceSystem,
                SourceCustomerId = member.SourceCustomerId,
                Cause = cause.Kind, ChangeRequestId = cause.ChangeRequestId,
                Payload = "", State = PropagationStates.Pending, NextAttemptAt = now, CreatedAt = now,
            }, cause, consents, channels));
        }
    }

    /// <summary>Remembers the value as sent; true when it differs from what was sent before.</summary>
    bool Record(Dictionary<(long, string, string, string), PropagatedValue> sent, long systemId, string customerId,
        string kind, string code, bool flag, Guid changeRequestId)
    {
        if (sent.TryGetValue((systemId, customerId, kind, code), out var last))
        {
            if (last.Flag == flag && last.ChangeRequestId == changeRequestId) return false;
            last.Flag = flag;
            last.ChangeRequestId = changeRequestId;
            return true;
        }
        var value = new PropagatedValue
        {
            SourceSystemId = systemId, SourceCustomerId = customerId, Kind = kind, Code = code, Flag = flag, ChangeRequestId = changeRequestId,
        };
        db.PropagatedValues.Add(value);
        sent[(systemId, customerId, kind, code)] = value;
        return true;
    }

    /// <summary>
    /// Writes the staged messages, now that the ledger entry causing them has its index; returns how many.
    /// Entries of the change being applied are read here, after their final renumbering.
    /// </summary>
    public int Stamp(Ledger.LedgerEntry cause)
    {
        var ledgerIndex = cause.Index;
        var leafHash = Ledger.LeafHashes.Format(cause.LeafHash);
        foreach (var draft in staged)
        {
            var message = draft.Message;
            message.LedgerIndex = ledgerIndex;
            message.Payload = JsonSerializer.Serialize(new PropagatedPayload(
                CommandTypes.Propagated, HubTime.Format(draft.Cause.CommandTimestamp), message.SourceCustomerId,
                draft.Consents.Count == 0 ? null : new ConsentView(true, [.. draft.Consents.Select(Views.ConsentAttribute)], true, draft.Cause.Notify, null),
                draft.Channels.Count == 0 ? null : new ChannelView([.. draft.Channels.Select(Views.ChannelAttribute)]),
                message.Id, ledgerIndex, leafHash), PayloadJson);
            db.Propagations.Add(message);
        }
        var count = staged.Count;
        staged.Clear();
        return count;
    }

    static MemberKey KeyOf(Customer c) => new(c.Context, c.SourceSystem, c.SourceCustomerId);
}

/// <summary>
/// The body of a PROPAGATED call: seed 004 §7 member for member, then the hub's propagationId, and the index and Merkle
/// leaf hash of the ledger entry that caused it (provable with GET /ledger/proofs/inclusion).
/// </summary>
public sealed record PropagatedPayload(
    string CommandType, string? CommandTimestamp, string SourceCustomerId, ConsentView? Consent, ChannelView? Channel,
    Guid PropagationId, long LedgerIndex, string? LeafHash);
