using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Inbound;

public static class EventStatuses
{
    /// <summary>The event became a change request (applied, or waiting for the person's validation).</summary>
    public const string Accepted = "accepted";
    /// <summary>A delivery of an event already taken in: nothing was applied; the earlier change request is named.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>The event could not be mapped or broke a consent rule: nothing was applied.</summary>
    public const string Rejected = "rejected";
}

/// <summary>What became of one event of a delivery, by its position in it.</summary>
public sealed record EventOutcome(
    int Index, string Status, Guid? ChangeRequestId, string? ChangeStatus,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Violation>? Violations,
    [property: JsonPropertyName("_links"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, HalLink>? Links);

/// <summary>An event type ready to take events: its row, its source system, its parsed mapping and the organisation's categories.</summary>
public sealed record EventIntakeTarget(EventType Type, SourceSystem System, EventMapping Mapping, CategoryCatalogue Catalogue);

/// <summary>
/// Takes inbound events (posted or polled) into the consent core: each is mapped, checked by the consent rules and
/// submitted through <see cref="SubscriptionChanges"/> as a change of the type's source system, in a transaction of its
/// own that also records its delivery key, seals its raw body with the record's key and appends a ledger entry
/// committing to that body. A second delivery of the same event is recognised and applied once.
/// </summary>
public sealed class EventIntake(ConsentDb db, SubscriptionChanges changes, LedgerWriter ledger, TimeProvider time, PersonKeys keys, PersonalDataVault vault, BlindIndex blindIndex)
{
    /// <summary>Events in one delivery: a JSON array of at most this many.</summary>
    public const int MaxEvents = 1000;
    /// <summary>How long the same body, from a type without an id pointer, counts as a second delivery.</summary>
    public static readonly TimeSpan BodyWindow = TimeSpan.FromHours(24);

    sealed class DuplicateDelivery : Exception;

    /// <summary>The event type <paramref name="name"/> of the organisation with its source system and parsed mapping; null when there is none.</summary>
    public async Task<EventIntakeTarget?> TargetAsync(string nmsc, string name, CancellationToken ct)
    {
        var type = await db.EventTypes.AsNoTracking().SingleOrDefaultAsync(t => t.Nmsc == nmsc && t.Name == name, ct);
        if (type is null) return null;
        var system = await db.SourceSystems.AsNoTracking().SingleAsync(s => s.Id == type.SourceSystemId, ct);
        var catalogue = await CategoryCatalogue.ReadAsync(db, nmsc, ct);
        using var document = JsonDocument.Parse(type.Mapping);
        // Checked when saved; a category hidden since then is refused per event by the consent rules, not here.
        var (mapping, _) = EventMapping.Parse(document.RootElement, CategoryCatalogue.Replay);
        return new EventIntakeTarget(type, system, mapping!, catalogue);
    }

    /// <summary>Maps and checks one event without applying anything (the <c>:try</c> bench).</summary>
    public static (string? SourceCustomerId, SubscriptionData? Data, IReadOnlyList<Violation> Violations) Try(EventIntakeTarget target, JsonElement ev, DateTime now)
    {
        var (sourceCustomerId, data, _, violations) = Check(target, ev, now);
        return (sourceCustomerId, data, violations);
    }

    /// <summary>The event mapped and checked by the consent rules: the change it stands for, or the violations, named by the event's pointers.</summary>
    static (string? SourceCustomerId, SubscriptionData? Data, NormalisedChange? Change, IReadOnlyList<Violation> Violations) Check(
        EventIntakeTarget target, JsonElement ev, DateTime now)
    {
        if (BrokenText(ev) is { } broken) return (null, null, null, [broken]);
        var mapped = target.Mapping.Map(ev, now, ValidationReference(target.Type));
        if (mapped.Data is null) return (mapped.SourceCustomerId, null, null, mapped.Violations);
        var (change, violations) = SubscriptionDataRules.Check(mapped.Data, target.Catalogue);
        return (mapped.SourceCustomerId, mapped.Data, change, target.Mapping.Translate(mapped.Data, violations));
    }

    /// <summary>Takes one event in. <paramref name="via"/> is <c>post</c> or <c>poller:{name}</c>.</summary>
    public async Task<EventOutcome> ApplyAsync(EventIntakeTarget target, JsonElement ev, int index, string via, CancellationToken ct)
    {
        var type = target.Type;
        if (BrokenText(ev) is { } broken) return new EventOutcome(index, EventStatuses.Rejected, null, null, [broken], null);
        var raw = ev.GetRawText();
        var (dedupKey, byEventId) = DeliveryKey(type, ev, raw);
        var now = time.Now();
        if (await EarlierAsync(type.Id, dedupKey, now, ct) is { } earlier) return await DuplicateAsync(index, earlier, ct);

        var (sourceCustomerId, data, change, violations) = Check(target, ev, now);
        if (violations.Count > 0) return new EventOutcome(index, EventStatuses.Rejected, null, null, violations, null);

        var extras = new SubmitExtras(InTransaction: async (request, customer, token) =>
        {
            // A concurrent delivery of the same event committed first: this one applies nothing.
            var row = await db.InboundEvents.SingleOrDefaultAsync(e => e.EventTypeId == type.Id && e.DedupKey == dedupKey, token);
            if (row is not null && (row.ByEventId || row.ReceivedAt > now - BodyWindow)) throw new DuplicateDelivery();
            if (row is null)
            {
                row = new InboundEvent { EventTypeId = type.Id, DedupKey = dedupKey, Via = via };
                db.InboundEvents.Add(row);
            }
            row.ByEventId = byEventId;
            row.Via = via;
            row.ReceivedAt = now;
            row.ChangeRequestId = request.Id;
            row.CustomerId = customer.Id;
            var personKey = await keys.ForAsync(customer.Id, token);
            var body = Encoding.UTF8.GetBytes(raw);
            await vault.SealAsync(customer.Id, PersonalDataKinds.InboundEvent, PersonalDataVault.Reference(request.Id), body, token, isNew: true, key: personKey);
            ledger.Append(LedgerEvents.InboundEventReceived, new
            {
                changeRequestId = request.Id, nmsc = type.Nmsc, eventType = type.Name, context = type.Context, sourceSystem = type.SourceSystem,
                via, bodyCommitment = PersonKeys.Commit(personKey, body),
            });
        });
        try
        {
            var outcome = await changes.SubmitAsync(target.System, sourceCustomerId!, data!, change!, SubmittedBy(type), idempotency: null, propagate: true, ct, extras);
            var accepted = (SubmitOutcome.Accepted)outcome;
            // Each event is a unit of work of its own: a delivery of a thousand does not keep a thousand changes tracked.
            db.ChangeTracker.Clear();
            return new EventOutcome(index, EventStatuses.Accepted, accepted.Change.Id, accepted.Change.Status, null, Links(accepted.Change.Id));
        }
        catch (DuplicateDelivery)
        {
            db.ChangeTracker.Clear();
            changes.Reset();
            var committed = await EarlierAsync(type.Id, dedupKey, now, ct)
                ?? throw new InvalidOperationException("A duplicate delivery was detected, and its first delivery is not found.");
            return await DuplicateAsync(index, committed, ct);
        }
    }

    /// <summary>
    /// The violation of the event's first string (a member's name or a value) that is no text: JSON may escape half a
    /// surrogate pair ("\ud800"), which parses but cannot be read as a string. Null when every string reads.
    /// </summary>
    static Violation? BrokenText(JsonElement element, string at = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                try { element.GetString(); }
                catch (InvalidOperationException) { return Broken(at); }
                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    if (BrokenText(item, $"{at}/{i++}") is { } broken) return broken;
                return null;
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    string name;
                    try { name = member.Name; }
                    catch (InvalidOperationException) { return Broken(at.Length == 0 ? "event" : at); }
                    if (BrokenText(member.Value, $"{at}/{name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}") is { } broken)
                        return broken;
                }
                return null;
            default:
                return null;
        }

        static Violation Broken(string at) => new(at, "json", $"{at} holds a string that is not valid Unicode (half of a surrogate pair).");
    }

    /// <summary>Who the change requests of a type's events are submitted by.</summary>
    public static string SubmittedBy(EventType type) => $"event-type:{type.Name}";

    /// <summary>What a validated event's consents carry as their validation reference.</summary>
    static string ValidationReference(EventType type) => $"event-type:{type.Name}";

    /// <summary>
    /// The key that recognises another delivery of the event: its id (keyed hash, so the id is not stored) when the type
    /// has an id pointer and the event has that member; otherwise its body.
    /// </summary>
    (string Key, bool ByEventId) DeliveryKey(EventType type, JsonElement ev, string raw)
    {
        if (type.IdPointer is { } pointer
            && JsonPointers.Parse(pointer).Tokens is { } tokens
            && JsonPointers.TryEvaluate(ev, tokens, out var id)
            && id.ValueKind is JsonValueKind.String or JsonValueKind.Number)
        {
            var text = id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();
            return (blindIndex.Opaque($"inbound-event-id\n{type.Id}\n{text}"), true);
        }
        return (blindIndex.Opaque($"inbound-event-body\n{type.Id}\n{raw}"), false);
    }

    /// <summary>The earlier delivery of the event, when it still counts as one.</summary>
    async Task<InboundEvent?> EarlierAsync(Guid eventTypeId, string dedupKey, DateTime now, CancellationToken ct)
    {
        var row = await db.InboundEvents.AsNoTracking().SingleOrDefaultAsync(e => e.EventTypeId == eventTypeId && e.DedupKey == dedupKey, ct);
        return row is not null && (row.ByEventId || row.ReceivedAt > now - BodyWindow) ? row : null;
    }

    async Task<EventOutcome> DuplicateAsync(int index, InboundEvent earlier, CancellationToken ct)
    {
        var status = await db.ChangeRequests.AsNoTracking().Where(r => r.Id == earlier.ChangeRequestId).Select(r => r.Status).SingleOrDefaultAsync(ct);
        return new EventOutcome(index, EventStatuses.Duplicate, earlier.ChangeRequestId, status, null, Links(earlier.ChangeRequestId));
    }

    static Dictionary<string, HalLink> Links(Guid changeRequestId) => new() { ["change-request"] = new(Paths.ChangeRequest(changeRequestId)) };
}
