using ConsentHub.Hosting;

namespace ConsentHub.OptIn;

/// <summary>The rules of a request body of the opt-in interface: a JSON array of <c>{ "type", "approval", "status"? }</c>.</summary>
public static class OptInRequest
{
    public enum Use
    {
        /// <summary><c>POST /{contactId}</c>: type and approval; status CURRENT (or none) or REQUESTED, the same for every item.</summary>
        Create,
        /// <summary><c>POST /{contactId}?approval=false</c>: types only (an approval, if sent, must be the refusal).</summary>
        OptOut,
        /// <summary><c>PUT /flows/{extRefNo}</c>: a new pending selection; status, if sent, REQUESTED.</summary>
        Replace,
    }

    /// <returns>The items; whether they ask for a double opt-in (status REQUESTED); the rules broken, by field.</returns>
    public static (List<OptInItem> Items, bool Requested, List<Violation> Violations) Read(
        List<OptInItemInput?> body, IReadOnlyDictionary<string, string> types, Use use)
    {
        var violations = new List<Violation>();
        var items = new List<OptInItem>();
        if (body.Count == 0) violations.Add(new("body", "required", "Send at least one item, like [{ \"type\": \"C0INFOTYPE_NEWSLETTER\", \"approval\": \"Zus_C0Approval\" }]."));
        if (body.Count > OptInTypes.MaxTypes) violations.Add(new("body", "max-items", $"At most {OptInTypes.MaxTypes} items; got {body.Count}."));
        var seen = new HashSet<string>();
        var statuses = new HashSet<string>();
        for (var i = 0; i < body.Count && i < OptInTypes.MaxTypes; i++)
        {
            var at = $"body[{i}]";
            if (body[i] is not { } item) { violations.Add(new(at, "required", "An item may not be null.")); continue; }

            var typeOk = false;
            if (string.IsNullOrEmpty(item.Type))
                violations.Add(new($"{at}.type", "required", "type is required, like C0INFOTYPE_NEWSLETTER."));
            else if (!types.ContainsKey(item.Type))
                violations.Add(new($"{at}.type", "unknown-type",
                    $"'{Shorten(item.Type)}' is not an opt-in type of this organisation; its types are {string.Join(", ", types.Keys)}."));
            else if (!seen.Add(item.Type))
                violations.Add(new($"{at}.type", "duplicate-type", $"'{item.Type}' appears more than once."));
            else
                typeOk = true;

            var approval = item.Approval;
            if (use == Use.OptOut)
            {
                if (approval is not null && approval != OptInValues.Refusal)
                    violations.Add(new($"{at}.approval", "opt-out-approval", $"An opt-out sets {OptInValues.Refusal}; leave approval out or send that."));
                approval = OptInValues.Refusal;
            }
            else if (approval is null)
                violations.Add(new($"{at}.approval", "required", $"approval is required: {OptInValues.Consent} (consent) or {OptInValues.Refusal} (refusal)."));
            else if (OptInValues.Flag(approval) is null)
                violations.Add(new($"{at}.approval", "approval-value", $"'{Shorten(approval)}' is not an approval: send {OptInValues.Consent} or {OptInValues.Refusal}."));

            var status = item.Status ?? (use == Use.Replace ? OptInValues.Requested : OptInValues.Current);
            if (status is not (OptInValues.Current or OptInValues.Requested))
                violations.Add(new($"{at}.status", "status-value", $"'{Shorten(status)}' is not a status: send {OptInValues.Current} or {OptInValues.Requested}, or leave it out."));
            else if (use == Use.OptOut && status != OptInValues.Current)
                violations.Add(new($"{at}.status", "opt-out-status", "An opt-out is current at once: leave status out or send C0OPTINSTATUS_CURRENT."));
            else if (use == Use.Replace && status != OptInValues.Requested)
                violations.Add(new($"{at}.status", "current-data",
                    "A flow's selection stays requested until confirmed (?approval=true); current data is not changed, so that what the person " +
                    "agreed to stays documented: create consent data instead."));
            else
                statuses.Add(status);

            if (typeOk && approval is not null && OptInValues.Flag(approval) is not null) items.Add(new(item.Type!, approval));
        }
        if (statuses.Count > 1)
            violations.Add(new("body", "mixed-status",
                "All items of one request are a single opt-in (C0OPTINSTATUS_CURRENT or no status) or all a double opt-in (C0OPTINSTATUS_REQUESTED)."));
        return (items, statuses.Contains(OptInValues.Requested) && use == Use.Create, violations);
    }

    static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
