using System.Text;
using ConsentHub.Consents;
using ConsentHub.Hosting;
using ConsentHub.Propagation;
using ConsentHub.Subscriptions;
using static ConsentHub.OperatorConsole.ConsoleHtml;

namespace ConsentHub.OperatorConsole;

/// <summary>The console's customer pages: the search form with what it found, and one record's page.</summary>
public static class CustomerHtml
{
    public static string Search(Operator who, SignedIn signedIn, SearchForm form, IReadOnlyList<Customer>? found, IReadOnlyList<Violation> errors)
    {
        var body = new StringBuilder();
        body.Append($"""
            <h1>Customers</h1>
            <p class="lead">Find a customer record by its email address, its phone number, or its ids in its source system. The console never lists people: it shows the records that carry what you give, in {E(who.Scope)}.</p>

            """);
        if (errors.Count > 0)
        {
            body.Append("""<div class="error" role="alert" id="search-errors"><p>Nothing was found yet:</p><ul>""");
            foreach (var error in errors) body.Append($"<li>{E(Label(error.Field))}: {E(error.Message)}</li>");
            body.Append("</ul></div>\n");
        }
        body.Append($"""
            <form method="post" action="{CustomerPages.SearchPath}" class="narrow">
            <input type="hidden" name="{E(signedIn.AntiforgeryFieldName)}" value="{E(signedIn.AntiforgeryToken)}">
            <fieldset><legend>By email or phone</legend>
            <label for="email">Email address</label>
            <input id="email" name="email" type="email" autocomplete="off" spellcheck="false" maxlength="320" value="{E(form.Email ?? "")}">
            <label for="phone">Phone number</label>
            <input id="phone" name="phone" type="tel" autocomplete="off" maxlength="40" value="{E(form.Phone ?? "")}" aria-describedby="phone-hint">
            <p class="hint" id="phone-hint">International (+44 7700 900123), or national with its country below.</p>
            <label for="country">Country of a national number</label>
            <input id="country" name="country" type="text" autocomplete="off" maxlength="2" value="{E(form.Country ?? "")}">
            </fieldset>
            <fieldset><legend>Or by its source ids</legend>
            {(who.Role == Auth.Roles.Dpo ? "" : $"""
            <label for="nmsc">Organisation</label>
            <input id="nmsc" name="nmsc" type="text" autocomplete="off" maxlength="100" value="{E(form.Nmsc ?? "")}">
            """)}
            <label for="context">Context</label>
            <input id="context" name="context" type="text" autocomplete="off" maxlength="100" value="{E(form.Context ?? "")}">
            <label for="sourceSystem">Source system</label>
            <input id="sourceSystem" name="sourceSystem" type="text" autocomplete="off" maxlength="100" value="{E(form.SourceSystem ?? "")}">
            <label for="sourceCustomerId">Source customer id</label>
            <input id="sourceCustomerId" name="sourceCustomerId" type="text" autocomplete="off" maxlength="200" value="{E(form.SourceCustomerId ?? "")}">
            </fieldset>
            <button type="submit">Find</button>
            </form>

            """);
        if (found is not null)
        {
            body.Append("""<section aria-labelledby="found-heading"><h2 id="found-heading">Records found</h2>""");
            if (found.Count == 0)
            {
                body.Append("""<p id="found-none">No record in your organisations carries this.</p>""");
            }
            else
            {
                body.Append("""<table id="found"><caption>Records that carry what you gave</caption><thead><tr><th scope="col">Organisation</th><th scope="col">Context</th><th scope="col">Source system</th><th scope="col">Source customer id</th></tr></thead><tbody>""");
                foreach (var c in found.Take(CustomerPages.MaxFound))
                    body.Append($"""<tr><td>{E(c.Nmsc)}</td><td>{E(c.Context)}</td><td>{E(c.SourceSystem)}</td><td><a href="{CustomerPages.RecordPath(c.Id)}">{E(c.SourceCustomerId)}</a></td></tr>""");
                body.Append("</tbody></table>");
                if (found.Count > CustomerPages.MaxFound)
                    body.Append($"""<p class="note">Only the first {CustomerPages.MaxFound} records are shown: name the record by its source ids to find one of the others.</p>""");
            }
            body.Append("</section>\n");
        }
        return Page("Customers", signedIn, body.ToString());
    }

    public static string NotFound(SignedIn signedIn) => Page("Customer not found", signedIn, $"""
        <h1>Customer not found</h1>
        <p>No such record in your organisations. <a href="{CustomerPages.SearchPath}">Find a customer</a>.</p>
        """);

    public static string Record(
        SignedIn signedIn, Customer customer, CurrentSubscriptionData.Answer? current, string? clusterId, IReadOnlyList<RecordKey> cluster,
        IReadOnlyList<ChangeRequest> changes, IReadOnlyList<PropagationMessage> messages, VerificationReport? report = null, string? error = null)
    {
        var state = current?.State;
        var contact = state?.Communication;
        var body = new StringBuilder();
        body.Append($"""
            <h1>Customer {E(customer.SourceCustomerId)}</h1>
            {(error is null ? "" : $"""<p class="error" role="alert">{E(error)}</p>""")}
            <dl class="facts" id="record">
            <dt>Organisation</dt><dd>{E(customer.Nmsc)}</dd>
            <dt>Context</dt><dd>{E(customer.Context)}</dd>
            <dt>Source system</dt><dd>{E(customer.SourceSystem)}</dd>
            <dt>Source customer id</dt><dd>{E(customer.SourceCustomerId)}</dd>
            <dt>Email</dt><dd id="record-email">{E(contact?.Email ?? "none")}</dd>
            <dt>Phone</dt><dd id="record-phone">{E(contact?.Phone ?? "none")}</dd>
            <dt>Language, country</dt><dd>{E(contact?.Language ?? "none")}, {E(contact?.Country ?? "none")}</dd>
            <dt>Latest change sent at</dt><dd>{E(HubTime.Format(current?.CommandTimestamp) ?? "no change applied")}</dd>
            </dl>
            <section aria-labelledby="consents-heading">
            <h2 id="consents-heading">Consents and channels now</h2>
            <p>Consolidated across the record's cluster within its context, as <code>GET …/subscription-data</code> answers.</p>

            """);
        var consents = state?.Consents.Values.OrderBy(c => c.Code, StringComparer.Ordinal).ToList() ?? [];
        var channels = state?.Channels.Values.OrderBy(c => c.Code, StringComparer.Ordinal).ToList() ?? [];
        if (consents.Count == 0) body.Append("<p>No consent is recorded.</p>");
        else
        {
            body.Append("""<table id="consents"><caption>Consents</caption><thead><tr><th scope="col">Consent</th><th scope="col">Given</th><th scope="col">In the words</th><th scope="col">Requested</th><th scope="col">Validated</th><th scope="col">From</th></tr></thead><tbody>""");
            foreach (var c in consents)
                body.Append($"""<tr><th scope="row">{E(c.Code)}</th><td>{(c.Flag ? "yes" : "no")}</td><td>{E(c.Description ?? "")}</td><td>{E(HubTime.Format(c.RequestedAt))}</td><td>{E(HubTime.Format(c.ValidatedAt) ?? "not validated")}</td><td>{E(c.OriginSourceSystem ?? "")}</td></tr>""");
            body.Append("</tbody></table>");
        }
        if (channels.Count == 0) body.Append("<p>No channel is recorded.</p>");
        else
        {
            body.Append("""<table id="channels"><caption>Channels</caption><thead><tr><th scope="col">Channel</th><th scope="col">Allowed</th><th scope="col">Requested</th><th scope="col">From</th></tr></thead><tbody>""");
            foreach (var c in channels)
                body.Append($"""<tr><th scope="row">{E(c.Code)}</th><td>{(c.Flag ? "yes" : "no")}</td><td>{E(HubTime.Format(c.RequestedAt))}</td><td>{E(c.OriginSourceSystem ?? "")}</td></tr>""");
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");

        body.Append("""<section aria-labelledby="cluster-heading"><h2 id="cluster-heading">Cluster</h2>""");
        if (clusterId is null) body.Append("<p>This record is in no cluster: no other record is known to be the same person.</p>");
        else
        {
            body.Append($"""<p>Cluster <code>{E(clusterId)}</code>: the records known to be the same person.</p><ul id="cluster">""");
            foreach (var member in cluster) body.Append($"<li>{E(member.Context)} / {E(member.SourceSystem)} / {E(member.SourceCustomerId)}</li>");
            body.Append("</ul>");
        }
        body.Append("</section>\n");

        body.Append("""<section aria-labelledby="changes-heading"><h2 id="changes-heading">Changes and their ledger entries</h2>""");
        if (changes.Count == 0) body.Append("<p>No change was received for this record.</p>");
        else
        {
            body.Append($"""<table id="changes"><caption>Changes received, newest first{(changes.Count == CustomerPages.MaxShown ? $" (the latest {CustomerPages.MaxShown})" : "")}</caption><thead><tr><th scope="col">Received</th><th scope="col">Status</th><th scope="col">Sent by</th><th scope="col">Requested, ledger index</th><th scope="col">Outcome, ledger index</th></tr></thead><tbody>""");
            foreach (var r in changes)
                body.Append($"""<tr><td>{E(HubTime.Format(r.ReceivedAt))}</td><td>{E(r.Status)}</td><td>{E(r.SubmittedBy)}</td><td>{r.Sequence}</td><td>{(r.OutcomeLedgerIndex is { } outcome ? outcome.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none yet")}</td></tr>""");
            body.Append("</tbody></table>");
            body.Append($"""
                <form method="post" action="{CustomerPages.RecordPath(customer.Id)}/verify">
                <input type="hidden" name="{E(signedIn.AntiforgeryFieldName)}" value="{E(signedIn.AntiforgeryToken)}">
                <button type="submit">Verify ledger entries</button>
                </form>
                """);
            if (report is not null) body.Append(Verification(report));
        }
        body.Append("</section>\n");

        body.Append("""<section aria-labelledby="messages-heading"><h2 id="messages-heading">Messages to its source system</h2>""");
        if (messages.Count == 0) body.Append("<p>No message was sent to this record's system for it.</p>");
        else
        {
            body.Append($"""<table id="messages"><caption>PROPAGATED messages, newest first{(messages.Count == CustomerPages.MaxShown ? $" (the latest {CustomerPages.MaxShown})" : "")}</caption><thead><tr><th scope="col">Planned</th><th scope="col">Status</th><th scope="col">Cause</th><th scope="col">Attempts</th><th scope="col">Last answer</th></tr></thead><tbody>""");
            foreach (var m in messages)
                body.Append($"""<tr><td>{E(HubTime.Format(m.CreatedAt))}</td><td>{E(m.State)}</td><td>{E(m.Cause)}</td><td>{m.Attempts}</td><td>{(m.LastStatusCode is { } code ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")}</td></tr>""");
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");
        return Page($"Customer {customer.SourceCustomerId}", signedIn, body.ToString());
    }

    /// <summary>What the verify button found, announced to screen readers as it appears.</summary>
    static string Verification(VerificationReport report)
    {
        var body = new StringBuilder();
        var summary = report.AllIncluded
            ? $"All {report.Entries.Count} entries are included in the ledger's signed checkpoint of {report.TreeSize} entries."
            : report.CheckpointSigned
                ? $"{report.Entries.Count(e => !e.Included)} of {report.Entries.Count} entries failed the check against the signed checkpoint of {report.TreeSize} entries."
                : $"The checkpoint failed its check: {report.CheckpointProblem}.";
        body.Append($"""<div id="verification" role="status"><p class="{(report.AllIncluded ? "note" : "error")}">{E(summary)}</p>""");
        body.Append($"""<p class="hint">Checked from the proofs <code>?proof=true</code> gives anyone: each entry's text hashed to its leaf, its audit path folded to the root, the root signed by the hub's checkpoint key. Root <code>{E(report.RootHash)}</code>.</p>""");
        body.Append("""<table id="verified"><caption>Ledger entries checked</caption><thead><tr><th scope="col">Ledger index</th><th scope="col">Entry</th><th scope="col">Result</th></tr></thead><tbody>""");
        foreach (var entry in report.Entries)
            body.Append($"""<tr><td>{entry.Index}</td><td>{E(entry.Type)}</td><td>{(entry.Included ? "verified" : "FAILED")}: {E(entry.Detail)}</td></tr>""");
        body.Append("</tbody></table></div>");
        return body.ToString();
    }

    /// <summary>The form's label for a rule's field, so an error names what the operator sees.</summary>
    static string Label(string field) => field switch
    {
        "email" => "Email address",
        "phone" => "Phone number",
        "country" => "Country",
        "nmsc" => "Organisation",
        "context" => "Context",
        "sourceSystem" => "Source system",
        "sourceCustomerId" => "Source customer id",
        _ => "The form",
    };
}
