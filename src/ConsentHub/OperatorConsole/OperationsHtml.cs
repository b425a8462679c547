using System.Globalization;
using System.Text;
using static ConsentHub.OperatorConsole.ConsoleHtml;

namespace ConsentHub.OperatorConsole;

/// <summary>The console's operations page.</summary>
public static class OperationsHtml
{
    public static string Page(SignedIn signedIn, DateTime now, IReadOnlyList<UploadRow> uploads, IReadOnlyList<MailQueue> mail, IReadOnlyList<MessageQueue> messages)
    {
        var body = new StringBuilder();
        body.Append($"""
            <h1>Operations</h1>
            <p class="lead">Uploads, the mail queue and the messages waiting for each destination, as of {E(Minute(now))} UTC. <a href="{OperationsPages.Path}">Reload</a> to follow a running upload.</p>
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
            body.Append($"""<tr><th scope="row">{E(m.Kind)}</th><td>{N(m.Waiting)}</td><td>{E(m.OldestDue is { } due ? Minute(due) : "none")}</td><td>{N(m.FailedDay)}</td></tr>""");
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
                body.Append($"""<tr><th scope="row">{E(m.Name)}</th><td>{N(m.Pending)}</td><td>{N(m.Parked)}</td><td>{E(m.OldestParked is { } oldest ? Minute(oldest) : "none")}</td></tr>""");
            body.Append("</tbody></table>");
        }
        body.Append("</section>\n");
        return ConsoleHtml.Page("Operations", signedIn, body.ToString());
    }

    static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
