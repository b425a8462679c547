using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using ConsentHub.Hosting;

namespace ConsentHub.OperatorConsole;

/// <summary>The console's pages: complete HTML documents in English, styled by <see cref="StylesheetPath"/>, with no script.</summary>
public static class ConsoleHtml
{
    public const string StylesheetPath = ConsoleSetup.BasePath + "/console.css";

    /// <summary>No script at all, the console's own stylesheet, forms that post only back to the hub, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static string E(string text) => Encoder.Encode(text);

    public static string Login(string antiforgeryFieldName, string antiforgeryToken, string? error, string? username) =>
        Page("Sign in", signedIn: null, $"""
            <h1>Sign in</h1>
            <p class="lead">Sign in to the ConsentHub console with your administrator or DPO account.</p>
            {HtmlForms.SignIn(ConsolePages.LoginPath, antiforgeryFieldName, antiforgeryToken, error, username, "narrow")}
            """);

    public static string Overview(Operator who, Overview figures, long uncounted, SignedIn signedIn, string? error = null, string? notice = null)
    {
        var body = new StringBuilder();
        body.Append($"""
            <h1>Overview</h1>
            <p class="lead">Signed in as <strong>{E(who.Username)}</strong>, {E(who.Reach)}. Figures as of {E(Minute(figures.Now))} UTC.</p>
            {(error is null ? "" : $"""<p class="error" role="alert">{E(error)}</p>""")}
            {(notice is null ? "" : $"""<p class="note" role="status" id="notice">{E(notice)}</p>""")}
            {(uncounted == 0 ? "" : $"""<p class="note" role="status">The charts are still counting the ledger: {uncounted.ToString("N0", CultureInfo.InvariantCulture)} entries to go. Reload the page in a minute.</p>""")}
            <section aria-labelledby="changes-heading">
            <h2 id="changes-heading">Changes applied</h2>
            {Charts.Columns("changes-hourly", "Changes applied per hour, last 24 hours", "Hour (UTC)", "Changes",
                [.. figures.ChangesByHour.Select(b => (b.Start.ToString("HH:mm", CultureInfo.InvariantCulture), Minute(b.Start), b.Count))], labelEvery: 3)}
            {Charts.Columns("changes-daily", "Changes applied per day, last 30 days", "Day (UTC)", "Changes",
                [.. figures.ChangesByDay.Select(b => (b.Start.ToString("dd MMM", CultureInfo.InvariantCulture), Day(b.Start), b.Count))], labelEvery: 5)}
            </section>
            <section aria-labelledby="validations-heading">
            <h2 id="validations-heading">Validations</h2>
            <p>Waiting for the person now: <strong id="validations-pending">{figures.ValidationsPending.ToString("N0", CultureInfo.InvariantCulture)}</strong></p>
            {Charts.Bars("validations", "Validations ended, by outcome", "Period",
            [
                ("Last 24 hours", Outcomes(figures.ValidationsDay)),
                ("Last 30 days", Outcomes(figures.ValidationsMonth)),
            ])}
            </section>
            <section aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading">Deliveries</h2>

            """);
        if (figures.DestinationsDay.Count == 0)
        {
            body.Append("<p>No source system of these organisations has a destination, so nothing is delivered.</p>\n");
        }
        else
        {
            body.Append(Charts.Bars("deliveries-day", "Webhook calls per destination, last 24 hours", "Destination", Calls(figures.DestinationsDay))).Append('\n');
            body.Append(Charts.Bars("deliveries-month", "Webhook calls per destination, last 30 days", "Destination", Calls(figures.DestinationsMonth))).Append('\n');
            body.Append(DestinationTable(figures.Now, figures.DestinationsDay, who.MayManageDestinations ? signedIn : null)).Append('\n');
        }
        body.Append("</section>\n");
        return Page("Overview", signedIn, body.ToString());
    }

    static IReadOnlyList<Segment> Outcomes(ValidationFigures v) =>
        [new("confirmed", v.Confirmed, "bar"), new("expired", v.Expired, "bar-bad")];

    static List<(string, IReadOnlyList<Segment>)> Calls(IReadOnlyList<DestinationFigures> destinations) =>
        [.. destinations.Select(d => (d.Name, (IReadOnlyList<Segment>)new Segment[] { new("delivered", d.Delivered, "bar"), new("failed", d.Failed, "bar-bad") }))];

    /// <param name="actions">The operator's session when they may act on destinations (the admin): each row gets its buttons.</param>
    static string DestinationTable(DateTime now, IReadOnlyList<DestinationFigures> destinations, SignedIn? actions)
    {
        var rows = new StringBuilder();
        foreach (var d in destinations)
        {
            var rate = d.FailureRate is { } r ? $"{Math.Round(r * 100).ToString(CultureInfo.InvariantCulture)}%" : "no calls";
            var lag = d.OldestWaiting is { } oldest ? Duration(now - oldest) : "none waiting";
            var state = d.Enabled ? "enabled" : $"disabled{(d.DisabledReason is { Length: > 0 } why ? $": {why}" : "")}";
            rows.Append($"""<tr><th scope="row">{E(d.Name)}</th><td>{rate}</td><td>{d.Waiting.ToString("N0", CultureInfo.InvariantCulture)}</td><td>{E(lag)}</td><td>{E(state)}</td>""");
            if (actions is not null)
            {
                rows.Append("<td class=\"actions\">");
                rows.Append(DestinationButton(ConsolePages.RecoverPath, actions, d, "Retry failed calls", $"Retry failed calls to {d.Name} (last 24 hours)"));
                if (!d.Enabled) rows.Append(DestinationButton(ConsolePages.EnablePath, actions, d, "Enable", $"Enable {d.Name}"));
                rows.Append("</td>");
            }
            rows.Append("</tr>");
        }
        return $"""
            <table id="destinations">
            <caption>Destinations: failure rate over the last 24 hours, and what waits for each now</caption>
            <thead><tr><th scope="col">Destination</th><th scope="col">Failure rate</th><th scope="col">Waiting</th><th scope="col">Oldest waiting for</th><th scope="col">State</th>{(actions is null ? "" : """<th scope="col">Actions</th>""")}</tr></thead>
            <tbody>{rows}</tbody>
            </table>
            """;
    }

    /// <summary>A button that posts one destination's ids to a console action; its accessible name starts with its visible text.</summary>
    static string DestinationButton(string action, SignedIn session, DestinationFigures d, string text, string label) =>
        DestinationButton(action, session, d.Context, d.Nmsc, d.SourceSystem, text, label);

    /// <summary>A button that posts a source system's ids to a console action on its destination; its accessible name starts with its visible text.</summary>
    internal static string DestinationButton(string action, SignedIn session, string context, string nmsc, string sourceSystem, string text, string label) => $"""
        <form method="post" action="{action}" class="inline"><input type="hidden" name="{E(session.AntiforgeryFieldName)}" value="{E(session.AntiforgeryToken)}"><input type="hidden" name="context" value="{E(context)}"><input type="hidden" name="nmsc" value="{E(nmsc)}"><input type="hidden" name="sourceSystem" value="{E(sourceSystem)}"><button type="submit" aria-label="{E(label)}">{E(text)}</button></form>
        """;

    static string Duration(TimeSpan span) => span.TotalMinutes < 1 ? "under a minute"
        : span.TotalHours < 1 ? $"{(int)span.TotalMinutes} min"
        : span.TotalDays < 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
        : $"{(int)span.TotalDays} d {span.Hours} h";

    internal static string Minute(DateTime t) => t.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    static string Day(DateTime t) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The signed-in operator's name and the sign-out form's antiforgery token, for the page header.</summary>
    /// <param name="SeesLedger">Whether the navigation offers the ledger page (the admin's alone).</param>
    public sealed record SignedIn(string Username, string AntiforgeryFieldName, string AntiforgeryToken, bool SeesLedger);

    internal static string Page(string title, SignedIn? signedIn, string main) => $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{E(title)} · ConsentHub console</title>
        <link rel="stylesheet" href="{StylesheetPath}">
        </head>
        <body>
        <header class="top">
        <div class="top-inner">
        <span class="brand">ConsentHub console</span>
        {(signedIn is null ? "" : $"""
        <nav aria-label="Console"><ul><li><a href="{ConsoleSetup.BasePath}" aria-current="{(title == "Overview" ? "page" : "false")}">Overview</a></li><li><a href="{CustomerPages.SearchPath}" aria-current="{(title.StartsWith("Customer", StringComparison.Ordinal) ? "page" : "false")}">Customers</a></li><li><a href="{TenancyPages.Path}" aria-current="{(title == "Tenancy" ? "page" : "false")}">Tenancy</a></li><li><a href="{OperationsPages.Path}" aria-current="{(title == "Operations" ? "page" : "false")}">Operations</a></li>{(signedIn.SeesLedger ? $"""<li><a href="{LedgerPages.Path}" aria-current="{(title == "Ledger" ? "page" : "false")}">Ledger</a></li>""" : "")}</ul></nav>
        <form method="post" action="{ConsolePages.LogoutPath}" class="logout">
        <input type="hidden" name="{E(signedIn.AntiforgeryFieldName)}" value="{E(signedIn.AntiforgeryToken)}">
        <button type="submit" class="secondary">Sign out {E(signedIn.Username)}</button>
        </form>
        """)}
        </div>
        </header>
        <main>
        {main}
        </main>
        </body>
        </html>
        """;

    public const string Stylesheet = """
        *,*::before,*::after{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
        body{margin:0;background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;overflow-wrap:anywhere}
        .top{background:#1f2937;color:#ffffff}
        .top-inner{max-width:64rem;margin:0 auto;padding:.75rem 1.25rem;display:flex;flex-wrap:wrap;align-items:center;gap:1rem}
        .brand{font-weight:700;margin-right:auto}
        .top nav ul{list-style:none;margin:0;padding:0;display:flex;gap:1rem}
        .top a{color:#ffffff}
        .top a[aria-current=page]{font-weight:700;text-underline-offset:.3em}
        main{display:block;max-width:64rem;margin:0 auto;padding:1.5rem 1.25rem 3rem}
        h1{margin:0 0 .5rem;font-size:1.625rem;line-height:1.25}
        h2{margin:2rem 0 .75rem;font-size:1.25rem;line-height:1.3}
        p{margin:0 0 1rem}
        .lead{color:#374151}
        section{background:#ffffff;border-radius:.5rem;padding:.25rem 1.25rem 1.25rem;margin-top:1.25rem;box-shadow:0 1px 2px rgba(17,24,39,.08)}
        label{display:block;margin:1rem 0 .25rem;font-weight:600}
        input[type=text],input[type=password],input[type=email],input[type=tel],select{display:block;width:100%;min-height:2.75rem;padding:.5rem .75rem;border:1px solid #6b7280;border-radius:.375rem;font:inherit}
        .narrow{max-width:24rem}
        button{min-height:2.75rem;margin-top:1.25rem;padding:.5rem 1.5rem;border:0;border-radius:.5rem;background:#1f2937;color:#ffffff;font:inherit;font-weight:600;cursor:pointer}
        .top button.secondary{margin:0;background:transparent;color:#ffffff;box-shadow:inset 0 0 0 2px #ffffff}
        a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid #60a5fa;outline-offset:2px}
        .error{padding:.75rem 1rem;border-left:4px solid #b91c1c;background:#fef2f2;color:#7f1d1d}
        .note{padding:.75rem 1rem;border-left:4px solid #1d4ed8;background:#eff6ff;color:#1e3a8a}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f9fafb;padding:.75rem;border-radius:.375rem;font-size:.875rem}
        figure{margin:1rem 0 1.5rem}
        figcaption{font-weight:600;margin-bottom:.5rem}
        svg.chart{display:block;width:100%;height:auto}
        .chart .axis{stroke:#6b7280;stroke-width:1}
        .chart .tick,.chart .label{fill:#374151;font-size:12px}
        .chart .label{font-size:13px}
        .chart .bar{fill:#1d4ed8}
        .chart .bar-bad{fill:#b91c1c}
        details{margin-top:.5rem}
        summary{cursor:pointer;color:#1d4ed8}
        table{border-collapse:collapse;width:100%;margin-top:.5rem;font-size:.9375rem}
        caption{text-align:left;font-weight:600;margin-bottom:.5rem}
        th,td{text-align:left;padding:.375rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top;overflow-wrap:break-word}
        td code{overflow-wrap:anywhere}
        td{font-variant-numeric:tabular-nums}
        fieldset{border:1px solid #d1d5db;border-radius:.5rem;margin:1rem 0 0;padding:.5rem 1rem 1rem}
        legend{font-weight:600;padding:0 .25rem}
        .hint{color:#374151;font-size:.875rem;margin:.25rem 0 0}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
        dl.facts dt{font-weight:600}
        dl.facts dd{margin:0}
        form.inline{display:inline-block;margin:0 .5rem .25rem 0}
        form.inline button{margin:0;min-height:2.25rem;padding:.25rem .75rem;font-size:.875rem}
        """;
}
