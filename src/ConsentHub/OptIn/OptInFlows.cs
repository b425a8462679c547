using System.Text.Json;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.OptOut;
using ConsentHub.Subscriptions;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptIn;

/// <summary>One item of a selection, as a flow keeps it: an opt-in type and the approval asked for.</summary>
public sealed record OptInItem(string Type, string Approval);

/// <summary>
/// The opt-in interface's operations on the consent core. Every creation, opt-out, new selection and confirmation is a
/// change of <see cref="SubscriptionChanges"/> (rules, ledger, clusters, propagation) or a step of
/// <see cref="ValidationService"/>; this class only translates the seed's types and approvals into categories and
/// flags, and keeps which change request each <c>extRefNo</c> names now.
/// </summary>
public sealed class OptInFlows(
    ConsentDb db, SubscriptionChanges changes, ValidationService validations, LedgerWriter ledger, TimeProvider time,
    PersonKeys keys, BlindIndex blindIndex, PersonalDataVault vault)
{
    public const string Success = "Success";
    public const string Confirmed = "OK";

    /// <summary>The selection is replaced or confirmed by another call while this one runs: the caller answers what it is now.</summary>
    sealed class FlowMovedOn(string state) : Exception($"The flow's validation is {state}.");

    /// <summary>Creates consent data: a single opt-in (<paramref name="doubleOptIn"/> false) or a double opt-in flow.</summary>
    /// <param name="types">The organisation's type map, as the items were checked against it.</param>
    public async Task<IResult> CreateAsync(
        SourceSystem system, string contactId, IReadOnlyList<OptInItem> items, IReadOnlyDictionary<string, string> types, bool doubleOptIn,
        string submittedBy, CancellationToken ct)
    {
        var organisation = await db.Organisations.AsNoTracking().SingleAsync(o => o.Nmsc == system.Nmsc, ct);
        var confirmation = doubleOptIn ? organisation.OptInConfirmation : null;
        var email = IsAddress(contactId) ? contactId : null;
        if (confirmation == OptInConfirmations.Hub && email is null)
        {
            // The hub asks the person at the address it knows for the record.
            email = (await CurrentSubscriptionData.ReadAsync(db, keys, system.Nmsc, system.Context, system.Name, contactId, ct))?.State.Communication?.Email;
            if (email is null)
                return OptInProblem.Invalid("contactId", "email-required",
                    "The hub confirms this organisation's double opt-ins by email, and no email address is known for this contact: " +
                    "use the address as contactId, or create the contact's data first.");
        }
        var kind = doubleOptIn ? OptInFlowKinds.DoubleOptIn : OptInFlowKinds.SingleOptIn;
        var (flow, problem) = await SubmitAsync(system, contactId, items, types, kind, confirmation, email, organisation, submittedBy, replacing: null, ct);
        if (problem is not null) return problem;
        var status = doubleOptIn ? OptInValues.Requested : OptInValues.Current;
        // A single opt-in answers as the seed's sample: no extRefNo; a double opt-in names its flow.
        var extRefNo = doubleOptIn ? flow!.ExtRefNo.ToString() : null;
        return Answer(extRefNo, [.. items.Select(i => Info(system, contactId, i.Type, status, i.Approval, extRefNo))], Success);
    }

    /// <summary>Withdraws consent for the given types at once (<c>?approval=false</c>), as a flow of its own.</summary>
    public async Task<IResult> OptOutAsync(
        SourceSystem system, string contactId, IReadOnlyList<string> typeNames, IReadOnlyDictionary<string, string> types, string submittedBy,
        CancellationToken ct)
    {
        var organisation = await db.Organisations.AsNoTracking().SingleAsync(o => o.Nmsc == system.Nmsc, ct);
        var items = typeNames.Select(t => new OptInItem(t, OptInValues.Refusal)).ToList();
        var email = IsAddress(contactId) ? contactId : null;
        var (flow, problem) = await SubmitAsync(system, contactId, items, types, OptInFlowKinds.OptOut, null, email, organisation, submittedBy, replacing: null, ct);
        if (problem is not null) return problem;
        var extRefNo = flow!.ExtRefNo.ToString();
        return Answer(extRefNo, [.. items.Select(i => Info(system, contactId, i.Type, OptInValues.Current, i.Approval, extRefNo))], Success);
    }

    /// <summary>The flow an extRefNo names, when this source system started it; otherwise null (521).</summary>
    public Task<OptInFlow?> FindAsync(SourceSystem system, Guid extRefNo, CancellationToken ct) =>
        db.OptInFlows.AsNoTracking().SingleOrDefaultAsync(f => f.ExtRefNo == extRefNo && f.SourceSystemId == system.Id, ct);

    /// <summary><c>GET /flows/{extRefNo}</c>: the flow's items, requested until confirmed.</summary>
    public async Task<IResult> ReadFlowAsync(SourceSystem system, OptInFlow flow, CancellationToken ct)
    {
        var (request, customer) = await RequestOfAsync(flow, ct);
        if (Ended(flow, request) is { } ended) return ended;
        var extRefNo = flow.ExtRefNo.ToString();
        var pending = request.Status == ChangeStatus.PendingValidation;
        // As the seed's sample: a requested item carries no approval yet.
        var items = ItemsOf(flow).Select(i => Info(system, customer.SourceCustomerId, i.Type,
            pending ? OptInValues.Requested : OptInValues.Current, pending ? null : i.Approval, extRefNo)).ToList();
        var current = await CurrentSubscriptionData.ReadAsync(db, keys, system.Nmsc, system.Context, system.Name, customer.SourceCustomerId, ct);
        return Results.Json(new OptInOverviewDTO(items, await PropertiesAsync(system, customer.SourceCustomerId, current, ct)), Hal.Json);
    }

    /// <summary><c>PUT /flows/{extRefNo}</c>: a new pending selection replaces the flow's pending one.</summary>
    public async Task<IResult> ReplaceAsync(
        SourceSystem system, OptInFlow flow, IReadOnlyList<OptInItem> items, IReadOnlyDictionary<string, string> types, string submittedBy,
        CancellationToken ct)
    {
        var (request, customer) = await RequestOfAsync(flow, ct);
        if (flow.Kind != OptInFlowKinds.DoubleOptIn || request.Status == ChangeStatus.Applied) return CurrentDataRefused(flow);
        if (Ended(flow, request) is { } ended) return ended;
        var organisation = await db.Organisations.AsNoTracking().SingleAsync(o => o.Nmsc == system.Nmsc, ct);
        // The person is asked (by the hub, or by the partner) at the address the flow began with.
        var email = (await vault.RequestContactAsync(request, ct))?.Email;
        try
        {
            var (_, problem) = await SubmitAsync(system, customer.SourceCustomerId, items, types, OptInFlowKinds.DoubleOptIn, flow.Confirmation,
                email, organisation, submittedBy, replacing: flow, ct);
            if (problem is not null) return problem;
        }
        catch (FlowMovedOn)
        {
            // Confirmed, expired or replaced while this call ran: answered as it is now.
            var now = await FindAsync(system, flow.ExtRefNo, ct);
            var (latest, _) = await RequestOfAsync(now!, ct);
            return latest.Status == ChangeStatus.Applied ? CurrentDataRefused(flow) : Ended(now!, latest) ?? CurrentDataRefused(flow);
        }
        var extRefNo = flow.ExtRefNo.ToString();
        return Answer(extRefNo, [.. items.Select(i => Info(system, customer.SourceCustomerId, i.Type, OptInValues.Requested, i.Approval, extRefNo))], Success);
    }

    /// <summary>
    /// <c>PUT /flows/{extRefNo}?approval=true</c>: the person clicked the partner's confirmation link; the pending selection
    /// becomes current, validated now with the extRefNo as its reference. Asking again answers the same.
    /// </summary>
    public async Task<IResult> ConfirmAsync(SourceSystem system, OptInFlow flow, string? remoteAddress, string? userAgent, CancellationToken ct)
    {
        var (request, customer) = await RequestOfAsync(flow, ct);
        if (flow.Kind != OptInFlowKinds.DoubleOptIn)
            return OptInProblem.Invalid("extRefNo", "not-double-opt-in",
                $"Flow {flow.ExtRefNo} is a {(flow.Kind == OptInFlowKinds.OptOut ? "opt-out" : "single opt-in")}: its data was current at once; there is nothing to confirm.");
        if (Ended(flow, request) is { } ended) return ended;
        // Never the partner's to confirm, before or after the person's click (a 200 afterwards would say it was).
        if (flow.Confirmation == OptInConfirmations.Hub)
            return OptInProblem.Invalid("approval", "confirmed-by-person",
                "This organisation's double opt-ins are confirmed by the person through the hub's email; the partner cannot confirm them.");
        if (request.Status != ChangeStatus.Applied)
        {
            var (outcome, _) = await validations.ConfirmForPartnerAsync(flow.ValidationId!.Value, remoteAddress, userAgent, ct);
            if (outcome is ValidationService.ConfirmOutcome.Expired or ValidationService.ConfirmOutcome.Unknown)
            {
                db.ChangeTracker.Clear();
                var (latest, _) = await RequestOfAsync(flow, ct);
                // Replaced meanwhile: the new selection is pending under the same extRefNo.
                var again = await FindAsync(system, flow.ExtRefNo, ct);
                if (again!.ValidationId != flow.ValidationId) return await ConfirmAsync(system, again, remoteAddress, userAgent, ct);
                return Ended(flow, latest) ?? Expired(flow);
            }
        }
        var current = await CurrentSubscriptionData.ReadAsync(db, keys, system.Nmsc, system.Context, system.Name, customer.SourceCustomerId, ct);
        var types = await OptInTypes.OfAsync(db, system.Nmsc, ct);
        var items = await CurrentItemsAsync(system, customer.SourceCustomerId, current!.State, types, withReferences: true, ct);
        return Answer(flow.ExtRefNo.ToString(), items, Confirmed);
    }

    /// <summary><c>GET /{contactId}</c>: the contact's consent records, one per mapped type that has data, and its properties.</summary>
    public async Task<IResult> OverviewAsync(SourceSystem system, string contactId, CancellationToken ct)
    {
        var current = await CurrentSubscriptionData.ReadAsync(db, keys, system.Nmsc, system.Context, system.Name, contactId, ct);
        if (current is null) return OptInProblem.NoContact(contactId);
        var types = await OptInTypes.OfAsync(db, system.Nmsc, ct);
        var items = await CurrentItemsAsync(system, contactId, current.State, types, withReferences: false, ct);
        // A type with no current data but a double opt-in waiting for it reads as requested, naming its flow.
        if (current.Customer.Id != 0)
        {
            var shown = items.Select(i => i.Type).ToHashSet();
            foreach (var (flow, item) in await PendingAsync(current.Customer.Id, ct))
            {
                if (!types.ContainsKey(item.Type) || !shown.Add(item.Type)) continue;
                items.Add(Info(system, contactId, item.Type, OptInValues.Requested, null, flow.ExtRefNo.ToString()));
            }
            items = [.. items.OrderBy(i => TypeOrder(types, i.Type))];
        }
        return Results.Json(new OptInOverviewDTO(items, await PropertiesAsync(system, contactId, current, ct)), Hal.Json);
    }

    async Task<(OptInFlow? Flow, IResult? Problem)> SubmitAsync(
        SourceSystem system, string contactId, IReadOnlyList<OptInItem> items, IReadOnlyDictionary<string, string> types, string kind,
        string? confirmation, string? email, Organisation organisation, string submittedBy, OptInFlow? replacing, CancellationToken ct)
    {
        var now = time.Now();
        var extRefNo = replacing?.ExtRefNo ?? Guid.NewGuid();
        var validated = kind != OptInFlowKinds.DoubleOptIn;
        var data = Data(items, types, validated, email, now, extRefNo);
        var catalogue = await CategoryCatalogue.ReadAsync(db, system.Nmsc, ct);
        var partner = confirmation == OptInConfirmations.Partner;
        var (change, violations) = SubscriptionDataRules.Check(data, catalogue, partnerConfirms: partner);
        if (change is null) return (null, OptInProblem.Invalid(Translate(violations)));

        OptInFlow? recorded = null;
        var stored = JsonSerializer.Serialize(items, Hal.Json);
        var extras = new SubmitExtras(
            // The partner's window is as long as the hub's email and reminder windows together.
            PartnerConfirmsUntil: !validated && partner ? now.AddHours(2 * organisation.ValidationWindowHours) : null,
            ValidationReference: validated ? null : extRefNo.ToString(),
            InTransaction: async (request, customer, token) =>
            {
                var validation = db.Validations.Local.SingleOrDefault(v => v.ChangeRequestId == request.Id);
                Guid? replaced = null;
                if (replacing is not null)
                {
                    var old = await validations.LockAsync(replacing.ValidationId!.Value, token);
                    if (!ValidationStates.IsOpen(old.State)) throw new FlowMovedOn(old.State);
                    replaced = old.ChangeRequestId;
                    await validations.SupersedeAsync(old, request.Id, now, token);
                    recorded = await db.OptInFlows.SingleAsync(f => f.ExtRefNo == extRefNo, token);
                    recorded.ChangeRequestId = request.Id;
                    recorded.ValidationId = validation?.Id;
                    recorded.Items = stored;
                    recorded.UpdatedAt = now;
                }
                else
                {
                    recorded = new OptInFlow
                    {
                        ExtRefNo = extRefNo, Nmsc = system.Nmsc, Context = system.Context, SourceSystemId = system.Id, CustomerId = customer.Id,
                        Kind = kind, Confirmation = confirmation, Items = stored, ChangeRequestId = request.Id, ValidationId = validation?.Id,
                        CreatedAt = now, UpdatedAt = now,
                    };
                    db.OptInFlows.Add(recorded);
                }
                ledger.Append(LedgerEvents.OptInFlowRecorded, new
                {
                    extRefNo, kind, confirmation, changeRequestId = request.Id, replacedChangeRequestId = replaced,
                    nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name,
                });
            });
        await changes.SubmitAsync(system, contactId, data, change, submittedBy, idempotency: null, propagate: true, ct, extras);
        return (recorded, null);
    }

    /// <summary>The change a selection stands for: each type's category with its approval's flag, validated now or pending.</summary>
    static SubscriptionData Data(
        IReadOnlyList<OptInItem> items, IReadOnlyDictionary<string, string> types, bool validated, string? email, DateTime now, Guid extRefNo)
    {
        var at = HubTime.Format(now);
        return new SubscriptionData
        {
            CommandType = CommandTypes.Requested,
            CommandTimestamp = at,
            Consent = new ConsentData
            {
                GdprCompliant = true,
                Validated = validated,
                CommunicationAttributes = email is null ? null : new CommunicationAttributes { Email = email },
                ConsentAttributes = [.. items.Select(i => new ConsentAttribute
                {
                    ConsentCode = types[i.Type],
                    ConsentFlag = OptInValues.Flag(i.Approval),
                    RequestedTimestamp = at,
                    ValidatedTimestamp = validated ? at : null,
                    ValidationReference = validated ? extRefNo.ToString() : null,
                })],
            },
        };
    }

    /// <summary>The core's rules name its own fields; the caller sent items: consentAttributes[i] is item [i].</summary>
    static List<Violation> Translate(IEnumerable<Violation> violations) => [.. violations.Select(v => v with
    {
        Field = v.Field
            .Replace("consent.consentAttributes", "body", StringComparison.Ordinal)
            .Replace(".consentCode", ".type", StringComparison.Ordinal)
            .Replace(".consentFlag", ".approval", StringComparison.Ordinal),
        Message = v.Message.Replace("consent categories", "opt-in types", StringComparison.Ordinal),
    })];

    async Task<List<OptInInfoDTO>> CurrentItemsAsync(
        SourceSystem system, string contactId, SubscriptionState state, IReadOnlyDictionary<string, string> types, bool withReferences, CancellationToken ct)
    {
        var entries = types.Where(t => state.Consents.ContainsKey(t.Value)).Select(t => (Type: t.Key, Entry: state.Consents[t.Value])).ToList();
        var flows = new HashSet<Guid>();
        if (withReferences)
        {
            // An item names the flow that set it: its validation reference, when that is a flow of the organisation.
            var references = entries.Select(e => Guid.TryParse(e.Entry.ValidationReference, out var id) ? id : Guid.Empty)
                .Where(id => id != Guid.Empty).Distinct().ToList();
            flows = [.. await db.OptInFlows.AsNoTracking().Where(f => f.Nmsc == system.Nmsc && references.Contains(f.ExtRefNo)).Select(f => f.ExtRefNo).ToListAsync(ct)];
        }
        return [.. entries.Select(e => Info(system, contactId, e.Type, OptInValues.Current, OptInValues.Approval(e.Entry.Flag),
            withReferences && Guid.TryParse(e.Entry.ValidationReference, out var id) && flows.Contains(id) ? id.ToString() : null))];
    }

    async Task<List<(OptInFlow Flow, OptInItem Item)>> PendingAsync(long customerId, CancellationToken ct)
    {
        var pending = await (
                from f in db.OptInFlows.AsNoTracking()
                join r in db.ChangeRequests.AsNoTracking() on f.ChangeRequestId equals r.Id
                where f.CustomerId == customerId && f.Kind == OptInFlowKinds.DoubleOptIn && r.Status == ChangeStatus.PendingValidation
                orderby f.CreatedAt descending
                select f)
            .ToListAsync(ct);
        return [.. pending.SelectMany(f => ItemsOf(f).Select(i => (f, i)))];
    }

    async Task<OptInPropertiesDTO> PropertiesAsync(SourceSystem system, string contactId, CurrentSubscriptionData.Answer? current, CancellationToken ct) =>
        new(contactId, ContactPk(system, contactId), await AdBlockedAsync(system.Nmsc, contactId, current?.State.Communication, ct));

    /// <summary>
    /// True when any of the contact's identifiers (its id when that is an address, its stored email and phone) is on the
    /// organisation's suppression list, or in the industry pool while the organisation takes part in it.
    /// </summary>
    async Task<bool> AdBlockedAsync(string nmsc, string contactId, CommunicationAttributes? communication, CancellationToken ct)
    {
        var identifiers = new List<HashedIdentifier>();
        foreach (var address in new[] { contactId, communication?.Email })
            if (SuppressionIdentifiers.Email(address) is { } email) identifiers.Add(new(email.Kind, email.Sha256));
        if (communication?.Phone is { } number)
        {
            var country = communication.Country
                ?? await db.Organisations.AsNoTracking().Where(o => o.Nmsc == nmsc).Select(o => o.DefaultCountry).SingleOrDefaultAsync(ct)
                ?? Organisation.DefaultPhoneCountry;
            if (SuppressionIdentifiers.Phone(number, country) is { } phone) identifiers.Add(new(phone.Kind, phone.Sha256));
        }
        if (identifiers.Count == 0) return false;
        var result = await SuppressionCheck.CheckAsync(db, nmsc, identifiers, ct);
        return result.Results.Any(r => r.Suppressed);
    }

    async Task<(ChangeRequest Request, Customer Customer)> RequestOfAsync(OptInFlow flow, CancellationToken ct)
    {
        var request = await db.ChangeRequests.AsNoTracking().SingleAsync(r => r.Id == flow.ChangeRequestId, ct);
        var customer = await db.Customers.AsNoTracking().SingleAsync(c => c.Id == flow.CustomerId, ct);
        return (request, customer);
    }

    /// <summary>A flow whose selection can no longer become current: expired (521: no records left) or its mail failed (525).</summary>
    static IResult? Ended(OptInFlow flow, ChangeRequest request) => request.Status switch
    {
        ChangeStatus.Expired => Expired(flow),
        ChangeStatus.ValidationFailed => OptInProblem.MailFailed(
            $"Flow {flow.ExtRefNo} ended unconfirmed: {request.StatusReason ?? "the confirmation mail could not be sent"}."),
        ChangeStatus.Rejected => OptInProblem.NoFlow($"Flow {flow.ExtRefNo} was rejected: {request.StatusReason}."),
        _ => null,
    };

    static IResult Expired(OptInFlow flow) =>
        OptInProblem.NoFlow($"Flow {flow.ExtRefNo} expired unconfirmed: it has no records any more; create consent data again.");

    static IResult CurrentDataRefused(OptInFlow flow) => OptInProblem.Invalid("extRefNo", "current-data",
        $"The consent data of flow {flow.ExtRefNo} is current (C0OPTINSTATUS_CURRENT). Current data is not changed, so that what the " +
        "person agreed to stays documented: create consent data with POST /rest/api/optin/v1/optins/{contactId} instead.");

    static IResult Answer(string? extRefNo, IReadOnlyList<OptInInfoDTO> items, string status) =>
        Results.Json(new OptInDTO(extRefNo, items, new OptInResultDTO(status, OptInCodes.Ok)), Hal.Json);

    OptInInfoDTO Info(SourceSystem system, string contactId, string type, string status, string? approval, string? extRefNo) =>
        new(RecordPk(system, contactId, type), type, status, approval, extRefNo);

    /// <summary>The contact's pk: opaque, and the same on every read.</summary>
    public string ContactPk(SourceSystem system, string contactId) =>
        blindIndex.Opaque($"opt-in-contact\n{system.Nmsc}\n{system.Context}\n{system.Name}\n{contactId}")[..20];

    /// <summary>The pk of one (contact, type) record, in the seed's form (ending in OpIn).</summary>
    public string RecordPk(SourceSystem system, string contactId, string type) =>
        blindIndex.Opaque($"opt-in-record\n{system.Nmsc}\n{system.Context}\n{system.Name}\n{contactId}\n{type}")[..20] + "OpIn";

    static IReadOnlyList<OptInItem> ItemsOf(OptInFlow flow) => JsonSerializer.Deserialize<List<OptInItem>>(flow.Items, Hal.Json) ?? [];

    static int TypeOrder(IReadOnlyDictionary<string, string> types, string type) => types.Keys.ToList().IndexOf(type);

    /// <summary>A contact id that is an email address (as in the seed's samples) is also the address the change carries.</summary>
    static bool IsAddress(string contactId) => SubscriptionDataRules.IsEmail(contactId);
}
