using System.Globalization;
using System.Text;
using ConsentHub.Propagation;
using ConsentHub.Validation;
using static ConsentHub.OperatorConsole.ConsoleHtml;

namespace ConsentHub.OperatorConsole;

/// <summary>The console's operations page.</summary>
public static class OperationsHtml
{
    public static string Page(
        SignedIn signedIn, DateTime now, IReadOnlyList<UploadRow> uploads, IReadOnlyList<MailQueue> mail, IReadOnlyList<WaitingMessages> messages, FeatureStatus features)
    {
        var body = new StringBuilder();
        body.Append($"""
            <h1>Operations</h1>
            <p class="lead">Uploads, the mail queue, the messages waiting for each destination, and the extracts, suppression files, pollers, CDC subscriptions and replicas, as of {E(Minute(now))} UTC. <a href="{OperationsPages.Path}">Reload</a> to follow a running upload.</p>
            <section aria-labelledby="uploads-heading">
            <h2 id="uploads-heading">Uploads</h2>

            """);
        if (uploads.Count == 0) body.Append("<p>No upload has been sent.</p>");
        else
        {
            body.Append($"""<table id="uploads"><caption>Uploads, newest first (the latest {OperationsPages.UploadsShown} at most)</caption><thead><tr><th scope="col">Source system</th><th scope="col">Status</th><th scope="col">Read</th><th scope="col">Applied</th><th scope="col">Rejected</th><th scope="col">Skipped</th><th scope="col">Started (UTC)</th><th scope="col">Last progress or end (UTC)</th></tr></thead><tbody>""");
            foreach (var u in uploads)
            {
                var status = u.Status + (u.Propagate ? ", propagated" : "") + (u.FailureReason is { Length: > 0 } why ? $": {why}" : "");
                body.Append($"""<tr><th scope="row">{E($"{u.Nmsc} / {u.Context} / {u.SourceSystem}")}</th><td>{E(status)}</td><td>{N(u.Read)}</td><td>{N(u.Applied)}</td><td>{N(u.Rejected)}</td><td>{N(u.Skipped)}</td><td>{E(Minute(u.StartedAt))}</td><td>{E(Minute(u.FinishedAt ?? u.UpdatedAt))}</td></tr>""");
            }
            body.Append("</tbody></table>");
        }
        body.Append("""
            </section>
            <section aria-labelledby="mail-heading">
            <h2 id="mail-heading">Mail queue</h2>
            <table id="mail"><caption>Emails waiting to be sent, and those that failed in the last 24 hours</caption><thead><tr><th scope="col">Email</th><th scope="col">Waiting</th><th scope="col">Oldest due (UTC)</th><th scope="col">Failed, 24 h</th></tr></thead><tbody>
            """);
        foreach (var m in mail)
            body.Append($"""<tr><th scope="row">{(m.Kind == MailQueue.ValidationKind ? "Validation emails" : "Notification emails")}</th><td>{N(m.Waiting)}</td><td>{E(m.OldestDue is { } due ? Minute(due) : "none")}</td><td>{N(m.Failed)}</td></tr>""");
        body.Append("""
            </tbody></table>
            </section>
            <section aria-labelledby="messages-heading">
            <h2 id="messages-heading">Messages waiting</h2>

            """);
        if (messages.Count == 0) body.Append("<p>No source system of these organisations has a destination.</p>");
        else
        {
            body.Append("""<table id="messages"><caption>PROPAGATED messages waiting per destination: due for an attempt, and parked once the retry schedule ran out (tried daily)</caption><thead><tr><th scope="col">Destination</th><th scope="col">Pending</th><th scope="col">Parked</th><th scope="col">Oldest parked (UTC)</th></tr></thead><tbody>""");
            foreach (var m in messages)
                body.Append($"""<tr><th scope="row">{E($"{m.Nmsc} / {m.Context} / {m.SourceSystem}")}</th><td>{N(m.Pending)}</td><td>{N(m.Parked)}</td><td>{E(m.OldestParked is { } oldest ? Minute(oldest) : "none")}</td></tr>""");
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");
        body.Append(Features(features));
        return ConsoleHtml.Page("Operations", signedIn, body.ToString());
    }

    static string Features(FeatureStatus f)
    {
        var body = new StringBuilder();
        body.Append(Section("extracts", "Extracts", f.Extracts.Count == 0 ? "No extract has run." : Table("extracts",
            $"Extract runs, newest first (the latest {FeatureStatus.Shown} at most)",
            ["Extract", "Started by", "State", "Rows", "Size", "Requested (UTC)", "Completed (UTC)"],
            f.Extracts.Select(r => ($"{r.Nmsc} / {r.Name}", new[]
            {
                r.Trigger, r.State + (r.Error is { Length: > 0 } why ? $": {why}" : ""), N(r.Rows), Size(r.Bytes), Minute(r.RequestedAt),
                r.CompletedAt is { } done ? Minute(done) : "not yet",
            })))));
        body.Append(Section("suppression", "Suppression files", f.SuppressionFiles.Count == 0 ? "No suppression file has been made." : Table("suppression",
            $"Suppression files of the opt-out service, newest first (the latest {FeatureStatus.Shown} at most)",
            ["Organisation", "Frequency", "Kind", "Format", "Period (UTC)", "Lines", "Made (UTC)"],
            f.SuppressionFiles.Select(s => (s.Nmsc, new[]
            {
                s.Frequency, s.Kind, s.Format, $"{Minute(s.PeriodStart)} to {Minute(s.PeriodEnd)}", N(s.Lines), s.CreatedAt is { } made ? Minute(made) : "being made",
            })))));
        body.Append(Section("pollers", "Pollers", f.Pollers.Count == 0 ? "No poller is registered." : Table("pollers",
            "Polling adapters: the events they take in, the end of the last window taken, and their next run",
            ["Poller", "Event type", "Every", "State", "Taken up to (UTC)", "Next run (UTC)", "Failed attempts"],
            f.Pollers.Select(p => ($"{p.Nmsc} / {p.Name}", new[]
            {
                p.EventType, p.Interval, p.State + (p.FailureReason is { Length: > 0 } why ? $": {why}" : ""), Minute(p.Watermark), Minute(p.NextRunAt), N(p.Attempts),
            })))));
        body.Append(Section("cdc", "CDC subscriptions", f.Cdc.Count == 0 ? "No CDC subscription is registered." : Table("cdc",
            $"Change data capture to the broker: where each subscription has read the ledger to (of {N(f.LedgerSize)} entries), and what it published",
            ["Subscription", "Exchange", "Read up to entry", "Published", "Last published (UTC)", "Last error"],
            f.Cdc.Select(c => ($"{c.Nmsc} / {c.Name}", new[] { c.Target, N(c.Position), N(c.Done), Optional(c.LastDoneAt), LastError(c) })))));
        body.Append(Section("replicas", "Replicas", f.Replicas.Count == 0 ? "No replica is registered." : Table("replicas",
            $"Replicas: where each has applied the ledger to (of {N(f.LedgerSize)} entries), and the rows it applied",
            ["Replica", "Table", "State", "Applied up to entry", "Rows applied", "Last applied (UTC)", "Last error"],
            f.Replicas.Select(r => ($"{r.Nmsc} / {r.Name}", new[] { r.Target, r.State ?? "", N(r.Position), N(r.Done), Optional(r.LastDoneAt), LastError(r) })))));
        return body.ToString();
    }

    /// <summary>A section with its heading, holding a table or, when there is nothing to list, a sentence saying so.</summary>
    static string Section(string id, string heading, string content) => $"""
        <section aria-labelledby="{id}-heading">
        <h2 id="{id}-heading">{E(heading)}</h2>
        {(content.StartsWith('<') ? content : $"<p>{E(content)}</p>")}
        </section>

        """;

    /// <summary>A table whose rows each start with a row header; every cell is encoded here.</summary>
    static string Table(string id, string caption, string[] columns, IEnumerable<(string Row, string[] Cells)> rows)
    {
        var table = new StringBuilder($"""<table id="{id}"><caption>{E(caption)}</caption><thead><tr>""");
        foreach (var column in columns) table.Append($"""<th scope="col">{E(column)}</th>""");
        table.Append("</tr></thead><tbody>");
        foreach (var (row, cells) in rows)
        {
            table.Append($"""<tr><th scope="row">{E(row)}</th>""");
            foreach (var cell in cells) table.Append($"<td>{E(cell)}</td>");
            table.Append("</tr>");
        }
        return table.Append("</tbody></table>").ToString();
    }

    static string Optional(DateTime? t) => t is { } at ? Minute(at) : "never";

    static string LastError(StreamRow s) => s.LastError is { Length: > 0 } error ? $"{error} ({Optional(s.LastErrorAt)})" : "none";

    static string Size(long bytes) => bytes < 1024 ? $"{bytes} B"
        : bytes < 1024 * 1024 ? $"{(bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture)} KiB"
        : $"{(bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture)} MiB";

    static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
