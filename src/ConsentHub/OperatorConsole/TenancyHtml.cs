using System.Globalization;
using System.Text;
using static ConsentHub.OperatorConsole.ConsoleHtml;

namespace ConsentHub.OperatorConsole;

/// <summary>The tenancy page's HTML (<see cref="TenancyPages"/>): tables of what the operator sees, and the admin's forms.</summary>
static class TenancyHtml
{
    /// <param name="acts">Whether the operator is the admin, who gets the forms and buttons.</param>
    /// <param name="credentials">Credentials the API has just shown, shown here once.</param>
    public static string Page(SignedIn signedIn, bool acts, TenancyPages.Tenancy tenancy, string? notice, string? error, ShownOnce? credentials)
    {
        var body = new StringBuilder();
        body.Append($"""
            <h1>Tenancy</h1>
            <p class="lead">{(acts
                ? "The organisations, contexts, source systems and cluster feeds. You can register source systems and cluster feeds, deactivate systems, rotate their credentials, and disable, enable or re-key their destinations: each action goes through the administration API and into the ledger with your name."
                : "The organisations, contexts, source systems and cluster feeds you see. Only the admin changes them.")}</p>

            """);
        if (error is not null) body.Append($"""<p class="error" role="alert">{E(error)}</p>""");
        if (notice is not null) body.Append($"""<p class="note" role="status">{E(notice)}</p>""");
        if (credentials is not null) body.Append(ShownOnce(credentials));
        body.Append(Organisations(tenancy.Organisations));
        body.Append(Contexts(tenancy.Contexts));
        body.Append(Systems(tenancy, acts ? signedIn : null));
        body.Append(Feeds(tenancy, acts ? signedIn : null));
        return ConsoleHtml.Page("Tenancy", signedIn, body.ToString());
    }

    static string ShownOnce(ShownOnce credentials)
    {
        var values = new StringBuilder();
        foreach (var (name, value) in credentials.Values) values.Append($"<dt>{E(name)}</dt><dd><code>{E(value)}</code></dd>");
        return $"""
            <section aria-labelledby="shown-once-heading" id="shown-once">
            <h2 id="shown-once-heading">New credentials of {E(credentials.For)}</h2>
            <p><strong>Copy them now: they are shown on this page only.</strong> The hub keeps only their hash and cannot show them again; if they are lost, rotate them.</p>
            <dl class="facts">{values}</dl>
            </section>

            """;
    }

    static string Organisations(IReadOnlyList<OrganisationRow> organisations)
    {
        var body = new StringBuilder("""
            <section aria-labelledby="organisations-heading">
            <h2 id="organisations-heading">Organisations</h2>

            """);
        if (organisations.Count == 0) body.Append("<p>No organisation is registered.</p>");
        else
        {
            body.Append("""<table id="organisations"><caption>Organisations, their settings and the consent categories they may use</caption><thead><tr><th scope="col">Organisation</th><th scope="col">Name</th><th scope="col">Merge policy</th><th scope="col">Built-in matching</th><th scope="col">Validation window</th><th scope="col">Source systems</th><th scope="col">Categories</th></tr></thead><tbody>""");
            foreach (var o in organisations)
            {
                var hidden = o.Hidden.Count == 0 ? "" : $"; hidden: {string.Join(", ", o.Hidden)}";
                var categories = $"""<details><summary>{Count(o.Categories.Count)} in use{E(o.Hidden.Count == 0 ? "" : $", {o.Hidden.Count} hidden")}</summary>{E(string.Join(", ", o.Categories) + hidden)}</details>""";
                body.Append($"""<tr><th scope="row">{E(o.Nmsc)}</th><td>{E(o.Name ?? "")}</td><td>{E(o.MergePolicy)}</td><td>{(o.BuiltInMatching ? "on" : "off")}</td><td>{Count(o.ValidationWindowHours)} h</td><td>{Count(o.SourceSystems)}</td><td>{categories}</td></tr>""");
            }
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");
        return body.ToString();
    }

    static string Contexts(IReadOnlyList<ContextRow> contexts)
    {
        var body = new StringBuilder("""
            <section aria-labelledby="contexts-heading">
            <h2 id="contexts-heading">Contexts</h2>

            """);
        if (contexts.Count == 0) body.Append("<p>No context is registered.</p>");
        else
        {
            body.Append("""<table id="contexts"><caption>Contexts (brands) and the names their emails and pages carry</caption><thead><tr><th scope="col">Context</th><th scope="col">Display name</th><th scope="col">Sender name</th></tr></thead><tbody>""");
            foreach (var c in contexts)
                body.Append($"""<tr><th scope="row">{E(c.Name)}</th><td>{E(c.DisplayName ?? "")}</td><td>{E(c.SenderName ?? "")}</td></tr>""");
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");
        return body.ToString();
    }

    /// <param name="actions">The admin's session: each row gets its buttons, and the registration form is shown.</param>
    static string Systems(TenancyPages.Tenancy tenancy, SignedIn? actions)
    {
        var body = new StringBuilder("""
            <section aria-labelledby="systems-heading">
            <h2 id="systems-heading">Source systems</h2>

            """);
        if (tenancy.Systems.Count == 0) body.Append("<p>No source system is registered.</p>");
        else
        {
            body.Append($"""<table id="systems"><caption>Source systems, their OAuth client and their destination</caption><thead><tr><th scope="col">Source system</th><th scope="col">Client id</th><th scope="col">Registered (UTC)</th><th scope="col">State</th><th scope="col">Destination</th>{(actions is null ? "" : """<th scope="col">Actions</th>""")}</tr></thead><tbody>""");
            foreach (var s in tenancy.Systems)
            {
                var name = $"{s.Nmsc} / {s.Context} / {s.Name}";
                var state = s.DeactivatedAt is { } at ? $"deactivated {Minute(at)}" : "active";
                var destination = s.DestinationHost is null ? "none"
                    : s.DestinationEnabled == true ? $"{s.DestinationHost}, enabled"
                    : $"{s.DestinationHost}, disabled{(s.DisabledReason is { Length: > 0 } why ? $": {why}" : "")}";
                body.Append($"""<tr><th scope="row">{E(name)}</th><td><code>{E(s.ClientId)}</code></td><td>{E(Minute(s.CreatedAt))}</td><td>{E(state)}</td><td>{E(destination)}</td>""");
                if (actions is not null)
                {
                    body.Append("<td class=\"actions\">");
                    if (s.DeactivatedAt is null)
                    {
                        body.Append(SystemButton(actions, s.Id, "deactivate", "Deactivate", $"Deactivate {name}"));
                        body.Append(SystemButton(actions, s.Id, "rotate-client-secret", "Rotate client secret", $"Rotate client secret of {name}"));
                        body.Append(SystemButton(actions, s.Id, "rotate-password", "Rotate password", $"Rotate password of {name}"));
                    }
                    else body.Append(SystemButton(actions, s.Id, "reactivate", "Reactivate", $"Reactivate {name}"));
                    if (s.DestinationHost is not null)
                    {
                        body.Append(s.DestinationEnabled == true
                            ? DestinationButton(actions, s, TenancyPages.DisablePath, "Disable destination", $"Disable destination of {name}")
                            : DestinationButton(actions, s, TenancyPages.EnablePath, "Enable destination", $"Enable destination of {name}"));
                        body.Append(DestinationButton(actions, s, TenancyPages.RotateSecretPath, "Rotate signing secret", $"Rotate signing secret of {name}'s destination"));
                    }
                    body.Append("</td>");
                }
                body.Append("</tr>");
            }
            body.Append("</tbody></table>");
        }
        if (actions is not null)
            body.Append($"""
                <form method="post" action="{TenancyPages.RegisterSystemPath}" class="narrow" id="register-system">
                <input type="hidden" name="{E(actions.AntiforgeryFieldName)}" value="{E(actions.AntiforgeryToken)}">
                <fieldset><legend>Register a source system</legend>
                <label for="system-nmsc">Organisation</label>
                {Select("system-nmsc", "nmsc", tenancy.Organisations.Select(o => o.Nmsc))}
                <label for="system-context">Context</label>
                {Select("system-context", "context", tenancy.Contexts.Select(c => c.Name))}
                <label for="system-name">Name</label>
                <input type="text" id="system-name" name="name" required maxlength="64" autocomplete="off" aria-describedby="system-name-hint">
                <p class="hint" id="system-name-hint">Its credentials (client secret and password) are shown once, on the answer.</p>
                <button type="submit">Register source system</button>
                </fieldset>
                </form>

                """);
        body.Append("</section>\n");
        return body.ToString();
    }

    static string Feeds(TenancyPages.Tenancy tenancy, SignedIn? actions)
    {
        var body = new StringBuilder("""
            <section aria-labelledby="feeds-heading">
            <h2 id="feeds-heading">Cluster feeds</h2>

            """);
        if (tenancy.Feeds.Count == 0) body.Append("<p>No cluster feed is registered.</p>");
        else
        {
            body.Append("""<table id="feeds"><caption>Systems that feed the clusters of an organisation, and their OAuth client</caption><thead><tr><th scope="col">Cluster feed</th><th scope="col">Client id</th><th scope="col">Registered (UTC)</th></tr></thead><tbody>""");
            foreach (var f in tenancy.Feeds)
                body.Append($"""<tr><th scope="row">{E($"{f.Nmsc} / {f.Name}")}</th><td><code>{E(f.ClientId)}</code></td><td>{E(Minute(f.CreatedAt))}</td></tr>""");
            body.Append("</tbody></table>");
        }
        if (actions is not null)
            body.Append($"""
                <form method="post" action="{TenancyPages.RegisterFeedPath}" class="narrow" id="register-feed">
                <input type="hidden" name="{E(actions.AntiforgeryFieldName)}" value="{E(actions.AntiforgeryToken)}">
                <fieldset><legend>Register a cluster feed</legend>
                <label for="feed-nmsc">Organisation</label>
                {Select("feed-nmsc", "nmsc", tenancy.Organisations.Select(o => o.Nmsc))}
                <label for="feed-name">Name</label>
                <input type="text" id="feed-name" name="name" required maxlength="64" autocomplete="off">
                <button type="submit">Register cluster feed</button>
                </fieldset>
                </form>

                """);
        body.Append("</section>\n");
        return body.ToString();
    }

    static string Select(string id, string name, IEnumerable<string> values) =>
        $"""<select id="{id}" name="{name}" required>{string.Concat(values.Select(v => $"<option>{E(v)}</option>"))}</select>""";

    static string SystemButton(SignedIn session, long id, string action, string text, string label) => $"""
        <form method="post" action="{TenancyPages.SystemActionPath(id, action)}" class="inline"><input type="hidden" name="{E(session.AntiforgeryFieldName)}" value="{E(session.AntiforgeryToken)}"><button type="submit" aria-label="{E(label)}">{E(text)}</button></form>
        """;

    static string DestinationButton(SignedIn session, SourceSystemRow s, string action, string text, string label) =>
        ConsoleHtml.DestinationButton(action, session, s.Context, s.Nmsc, s.Name, text, label);

    static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
