using System.Text.Json;
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
/// every record of the cluster (within one context) whose source system is registered, the originator included
/// (seed FAQ 8), gets exactly the consents and channels of the consolidated data whose flag or requestedTimestamp
/// differs from what it was last sent (FAQ 7); nothing differs, no message. A system with a destination is sent the
/// message; one without finds it in its pull feed. Messages are staged until the ledger entry that causes them has
/// its index, then written by <see cref="Stamp"/> in the same transaction.
/// </summary>
public sealed class PropagationPlanner(ConsentDb db, TenancyCache tenancy, PushedSystems pushedSystems)
{
    static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    readonly List<PlannedMessage> staged = [];
    /// <summary>
    /// The records whose sent values <see cref="PreloadSentAsync"/> read for the unit of work, by system id, with those
    /// values and the ones this unit has added for them since: planning one of them looks there, not through every
    /// value the unit has staged.
    /// </summary>
    readonly Dictionary<(long SystemId, string SourceCustomerId), List<PropagatedValue>> preloaded = [];
    /// <summary>The merge policy last read, with its organisation: a group commit runs changes of several in one unit of work.</summary>
    (string Nmsc, string Policy)? policy;

    /// <summary>Forgets what was staged (a unit of work that starts again).</summary>
    public void Reset()
    {
        staged.Clear();
        preloaded.Clear();
        policy = null;
    }

    /// <summary>
    /// Reads at once what was last sent to these records (a batch's), so that planning each of them in this unit of
    /// work reads nothing more.
    /// </summary>
    public async Task PreloadSentAsync(IReadOnlyCollection<(long SystemId, string SourceCustomerId)> records, CancellationToken ct)
    {
        var systemIds = records.Select(r => r.SystemId).Distinct().ToList();
        var ids = records.Select(r => r.SourceCustomerId).Distinct().ToList();
        if (ids.Count == 0) return;
        var rows = await db.PropagatedValues.Where(v => systemIds.Contains(v.SourceSystemId) && ids.Contains(v.SourceCustomerId)).ToListAsync(ct);
        var fresh = records.Where(r => preloaded.TryAdd(r, [])).ToHashSet();
        foreach (var row in rows)
            if (fresh.Contains((row.SourceSystemId, row.SourceCustomerId))) preloaded[(row.SourceSystemId, row.SourceCustomerId)].Add(row);
    }

    /// <summary>
    /// The source systems, by name, that the records of one cluster within one context belong to and that can be told
    /// anything: every registered one (by webhook when it has a destination, through its pull feed otherwise).
    /// </summary>
    public Task<Dictionary<string, long>> TargetSystemsAsync(string nmsc, string context, IEnumerable<RecordKey> members, CancellationToken ct) =>
        tenancy.SourceSystemIdsAsync(db, nmsc, context, members.Where(m => m.Context == context).Select(m => m.SourceSystem).Distinct().ToList(), ct);

    /// <summary>
    /// The ids of the source systems of one organisation and context that have a destination, read again from the
    /// database (<see cref="PushedSystems.FreshOfContextAsync"/>) for a unit of work that must not miss one registered
    /// a moment ago.
    /// </summary>
    public Task<IReadOnlySet<long>> FreshPushedSystemsAsync(string nmsc, string context, CancellationToken ct) =>
        pushedSystems.FreshOfContextAsync(db, nmsc, context, ct);

    /// <summary>
    /// Stages a message for each record of <paramref name="members"/> (one cluster, any contexts) whose consolidated
    /// data differs from what its system was last sent. <paramref name="known"/> supplies states not yet saved.
    /// </summary>
    public async Task PlanAsync(
        string nmsc, IReadOnlyCollection<RecordKey> members, PropagationCause cause,
        IReadOnlyDictionary<RecordKey, SubscriptionState>? known, DateTime now, CancellationToken ct)
    {
        foreach (var group in members.Distinct().GroupBy(m => m.Context))
        {
            var targets = await TargetSystemsAsync(nmsc, group.Key, group, ct);
            if (targets.Count > 0) await PlanContextAsync(nmsc, group.Key, [.. group], targets, cause, known, now, ct);
        }
    }

    /// <summary>As <see cref="PlanAsync"/>, for the records of one context whose <paramref name="targets"/> are known.</summary>
    public async Task PlanContextAsync(
        string nmsc, string context, IReadOnlyCollection<RecordKey> members, Dictionary<string, long> targets, PropagationCause cause,
        IReadOnlyDictionary<RecordKey, SubscriptionState>? known, DateTime now, CancellationToken ct)
    {
        var ids = members.Select(m => m.SourceCustomerId).Distinct().ToList();
        var wanted = members.ToHashSet();
        var states = new List<SubscriptionState>();
        if (known is not null && wanted.All(known.ContainsKey))
        {
            // A change of a record alone (the most common case): its state is at hand, and nothing else is read.
            states.AddRange(wanted.Select(m => known[m]));
        }
        else
        {
            var customers = (await db.Customers.AsNoTracking()
                    .Where(c => c.Nmsc == nmsc && c.Context == context && ids.Contains(c.SourceCustomerId))
                    .ToListAsync(ct))
                .Where(c => wanted.Contains(RecordKey.Of(c)))
                .ToList();
            foreach (var customer in customers)
            {
                states.Add(known?.GetValueOrDefault(RecordKey.Of(customer))
                    ?? await SubscriptionChanges.CurrentStateAsync(db, vault: null, customer, tracked: false, ct));
            }
        }
        if (states.Count == 0) return;
        if (policy?.Nmsc != nmsc)
            policy = (nmsc, (await tenancy.SettingsAsync(db, nmsc, ct))?.MergePolicy ?? throw new InvalidOperationException($"Organisation '{nmsc}' is missing."));
        var consolidated = SubscriptionState.Merge(states[0], states.Skip(1), states.Count == 1 ? MergePolicies.LatestWins : policy.Value.Policy);

        var systemIds = targets.Values.ToList();
        // Those without a destination keep their messages in the feed: nothing to send, so nothing to retry.
        var pushed = await pushedSystems.OfContextAsync(db, nmsc, context, ct);
        IEnumerable<PropagatedValue> lastSent;
        if (systemIds.All(system => ids.All(id => preloaded.ContainsKey((system, id)))))
        {
            lastSent = systemIds.SelectMany(system => ids.SelectMany(id => preloaded[(system, id)]));
        }
        else
        {
            // One record of one system (a change of a record alone) is looked up by its key: PostgreSQL's generic plan for
            // two array parameters uses only the first key column and filters the system's every row.
            var values = systemIds.Count == 1 && ids.Count == 1 && (systemIds[0], ids[0]) is var (onlySystem, onlyRecord)
                ? db.PropagatedValues.Where(v => v.SourceSystemId == onlySystem && v.SourceCustomerId == onlyRecord)
                : db.PropagatedValues.Where(v => systemIds.Contains(v.SourceSystemId) && ids.Contains(v.SourceCustomerId));
            await values.LoadAsync(ct);
            lastSent = db.Staged<PropagatedValue>().Where(v => systemIds.Contains(v.SourceSystemId) && ids.Contains(v.SourceCustomerId));
        }
        var sent = lastSent.ToDictionary(v => (v.SourceSystemId, v.SourceCustomerId, v.Kind, v.Code));

        foreach (var member in members.Where(m => targets.ContainsKey(m.SourceSystem)).OrderBy(m => m.SourceSystem, StringComparer.Ordinal).ThenBy(m => m.SourceCustomerId, StringComparer.Ordinal))
        {
            var systemId = targets[member.SourceSystem];
            var consents = new List<ConsentEntry>();
            var channels = new List<ChannelEntry>();
            foreach (var entry in consolidated.Consents.Values.OrderBy(e => e.Code, StringComparer.Ordinal))
            {
                if (Record(sent, systemId, member.SourceCustomerId, ValueKinds.Consent, entry.Code, entry.Flag, entry.RequestedAt, entry.ChangeRequestId))
                    consents.Add(entry);
            }
            foreach (var entry in consolidated.Channels.Values.OrderBy(e => e.Code, StringComparer.Ordinal))
            {
                if (Record(sent, systemId, member.SourceCustomerId, ValueKinds.Channel, entry.Code, entry.Flag, entry.RequestedAt, entry.ChangeRequestId))
                    channels.Add(entry);
            }
            if (consents.Count == 0 && channels.Count == 0) continue;
            staged.Add(new PlannedMessage(new PropagationMessage
            {
                Id = Guid.CreateVersion7(),
                SourceSystemId = systemId, Nmsc = nmsc, Context = context, SourceSystem = member.SourceSystem,
                SourceCustomerId = member.SourceCustomerId,
                Cause = cause.Kind, ChangeRequestId = cause.ChangeRequestId, TraceParent = HubTracing.CurrentTraceParent(),
                Payload = "", State = pushed.Contains(systemId) ? PropagationStates.Pending : PropagationStates.Feed,
                NextAttemptAt = now, CreatedAt = now,
            }, cause, consents, channels));
        }
    }

    /// <summary>
    /// Remembers the value as sent; true when it differs from what was sent before. The same flag requested at the same
    /// instant is the same value, whichever change carried it: re-posting unchanged data tells nobody anything.
    /// </summary>
    bool Record(Dictionary<(long, string, string, string), PropagatedValue> sent, long systemId, string customerId,
        string kind, string code, bool flag, DateTime requestedAt, Guid changeRequestId)
    {
        if (sent.TryGetValue((systemId, customerId, kind, code), out var last))
        {
            var same = last.Flag == flag && (last.RequestedAt is null || last.RequestedAt == requestedAt);
            last.ChangeRequestId = changeRequestId;
            if (same) return false;
            last.Flag = flag;
            last.RequestedAt = requestedAt;
            return true;
        }
        var value = new PropagatedValue
        {
            SourceSystemId = systemId, SourceCustomerId = customerId, Kind = kind, Code = code, Flag = flag, RequestedAt = requestedAt,
            ChangeRequestId = changeRequestId,
        };
        db.Insert(value);
        sent[(systemId, customerId, kind, code)] = value;
        if (preloaded.TryGetValue((systemId, customerId), out var list)) list.Add(value);
        return true;
    }

    /// <summary>
    /// Hands over the messages staged so far, to be stamped later with the entry of the change that caused them
    /// (<see cref="Stamp(StagedMessages, Ledger.LedgerEntry)"/>): a group of changes plans each before any has its entry.
    /// </summary>
    public StagedMessages TakeStaged()
    {
        var taken = new StagedMessages([.. staged]);
        staged.Clear();
        return taken;
    }

    /// <summary>
    /// Writes the staged messages, now that the ledger entry causing them has its index; returns how many.
    /// Entries of the change being applied are read here, after their final renumbering.
    /// </summary>
    public int Stamp(Ledger.LedgerEntry cause) => Stamp(TakeStaged(), cause);

    /// <summary>Writes messages taken earlier (<see cref="TakeStaged"/>) with the index of the entry causing them; returns how many.</summary>
    public int Stamp(StagedMessages messages, Ledger.LedgerEntry cause)
    {
        var ledgerIndex = cause.Index;
        var leafHash = Ledger.LeafHashes.Format(cause.LeafHash);
        var position = 0;
        foreach (var planned in messages.Planned)
        {
            var message = planned.Message;
            message.LedgerIndex = ledgerIndex;
            message.Position = position++;
            message.Payload = JsonSerializer.Serialize(new PropagatedPayload(
                CommandTypes.Propagated, HubTime.Format(planned.Cause.CommandTimestamp), message.SourceCustomerId,
                planned.Consents.Count == 0 ? null : new ConsentView(true, [.. planned.Consents.Select(Views.ConsentAttribute)], true, planned.Cause.Notify, null),
                planned.Channels.Count == 0 ? null : new ChannelView([.. planned.Channels.Select(Views.ChannelAttribute)]),
                message.Id, ledgerIndex, leafHash), PayloadJson);
            db.Insert(message);
        }
        return messages.Planned.Count;
    }

    /// <summary>
    /// The records the staged messages go to, for the ledger entry that causes them (seed 004 §2.4: the cluster used for
    /// propagation is part of the record). Ids only; empty when nobody is to be told.
    /// </summary>
    public IReadOnlyList<PropagationTarget> StagedTargets() => StagedMessages.TargetsOf(staged);

    /// <summary>
    /// Writes a message telling a record's system to erase the person (Rights/): PROPAGATED with <c>"erased": true</c> and
    /// neither consent nor channel, so a client that ignores unknown members sees a message with nothing to apply. The
    /// erasure's ledger entry already has its index, so the message is written at once, in the erasure's transaction.
    /// </summary>
    /// A system without a destination finds the message in its pull feed, as any other.
    public void AddErasure(long systemId, bool pushed, int position, string nmsc, RecordKey member, Ledger.LedgerEntry erasure, DateTime now)
    {
        var message = new PropagationMessage
        {
            Id = Guid.CreateVersion7(),
            SourceSystemId = systemId, Nmsc = nmsc, Context = member.Context, SourceSystem = member.SourceSystem,
            SourceCustomerId = member.SourceCustomerId, LedgerIndex = erasure.Index, Position = position,
            Cause = PropagationCauses.Erasure, Payload = "", State = pushed ? PropagationStates.Pending : PropagationStates.Feed,
            NextAttemptAt = now, CreatedAt = now, TraceParent = HubTracing.CurrentTraceParent(),
        };
        message.Payload = JsonSerializer.Serialize(new PropagatedPayload(
            CommandTypes.Propagated, null, member.SourceCustomerId, null, null, message.Id, erasure.Index,
            Ledger.LeafHashes.Format(erasure.LeafHash), Erased: true), PayloadJson);
        db.Propagations.Add(message);
    }
}

/// <summary>
/// The body of a PROPAGATED call: seed 004 §7 member for member, then the hub's propagationId, and the index and Merkle
/// leaf hash of the ledger entry that caused it (provable with GET /ledger/proofs/inclusion). <c>erased</c> is present
/// (true) only on the message that tells a system the person was erased.
/// </summary>
public sealed record PropagatedPayload(
    string CommandType, string? CommandTimestamp, string SourceCustomerId, ConsentView? Consent, ChannelView? Channel,
    Guid PropagationId, long LedgerIndex, string? LeafHash,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? Erased = null);

/// <summary>One record a ledger entry's propagation was planned for, and the message it got.</summary>
public sealed record PropagationTarget(string Context, string SourceSystem, string SourceCustomerId, Guid PropagationId);
