using System.Globalization;
using System.Text;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using static ConsentHub.OperatorConsole.ConsoleHtml;

namespace ConsentHub.OperatorConsole;

/// <summary>The console's ledger page.</summary>
public static class LedgerHtml
{
    /// <summary>
    /// Where a streamed verification goes in <see cref="Page"/>: its progress, then its outcome, are written in place of
    /// this marker while the rest of the page waits.
    /// </summary>
    public const string VerificationSlot = "<!-- verification -->";

    public static string Page(
        SignedIn signedIn, long size, IReadOnlyList<LedgerCheckpoint> checkpoints, string verifierKey, LedgerVerificationView? verification, string? error)
    {
        var latest = checkpoints.Count > 0 ? checkpoints[0] : null;
        var body = new StringBuilder();
        body.Append($"""
            <h1>Ledger</h1>
            <p class="lead">Every change, validation, delivery and setting the hub records, chained by hash and signed in checkpoints that anyone can check with the hub's public key.</p>
            {(error is null ? "" : $"""<p class="error" role="alert">{E(error)}</p>""")}
            <dl class="facts" id="ledger-facts">
            <dt>Entries</dt><dd id="ledger-size">{size.ToString("N0", CultureInfo.InvariantCulture)}</dd>
            <dt>Latest checkpoint</dt><dd id="latest-checkpoint">{(latest is null ? "none signed yet" : $"{latest.Size.ToString("N0", CultureInfo.InvariantCulture)} entries, signed {E(Minute(latest.CreatedAt))} UTC")}</dd>
            <dt>Verifier key</dt><dd><code id="verifier-key">{E(verifierKey)}</code> (<a href="/ledger/public-key">as JSON</a>)</dd>
            </dl>
            <section aria-labelledby="verify-heading">
            <h2 id="verify-heading">Verify</h2>
            <p>Recomputes every entry's hash from the first, checks the chain, and checks every signed checkpoint against the Merkle tree, as <code>GET /ledger/verify</code> does. On a large ledger this takes a few seconds per million entries.</p>
            <form method="post" action="{LedgerPages.VerifyPath}">
            <input type="hidden" name="{E(signedIn.AntiforgeryFieldName)}" value="{E(signedIn.AntiforgeryToken)}">
            <button type="submit">Verify now</button>
            </form>

            """);
        body.Append(verification is null ? VerificationSlot : Outcome(verification));
        body.Append($"""
            </section>
            <section aria-labelledby="export-heading">
            <h2 id="export-heading">Export</h2>
            <p>One line per entry, its hash and its canonical JSON, as <code>GET /ledger/export</code> gives them to verifiers: <a href="{LedgerPages.ExportPath}?from=0" download>download the first {LedgerApi.MaxExportLines.ToString("N0", CultureInfo.InvariantCulture)} entries</a>{(size > LedgerApi.MaxExportLines ? $", or <a href=\"{LedgerPages.ExportPath}?from={size - Math.Min(size, LedgerApi.MaxExportLines)}\" download>the latest {LedgerApi.MaxExportLines.ToString("N0", CultureInfo.InvariantCulture)}</a>" : "")}.</p>
            </section>
            <section aria-labelledby="checkpoints-heading">
            <h2 id="checkpoints-heading">Checkpoints</h2>

            """);
        if (checkpoints.Count == 0) body.Append("<p>No checkpoint has been signed yet.</p>");
        else
        {
            body.Append($"""<table id="checkpoints"><caption>Signed checkpoints, newest first (the latest {LedgerPages.CheckpointsShown} at most)</caption><thead><tr><th scope="col">Signed (UTC)</th><th scope="col">Entries</th><th scope="col">Root hash</th></tr></thead><tbody>""");
            foreach (var c in checkpoints)
                body.Append($"""<tr><td>{E(Minute(c.CreatedAt))}</td><td>{c.Size.ToString("N0", CultureInfo.InvariantCulture)}</td><td><code>{E(Convert.ToBase64String(c.RootHash))}</code></td></tr>""");
            body.Append("</tbody></table>");
            body.Append($"""<details><summary>The latest checkpoint as a signed note</summary><pre id="checkpoint-note">{E(checkpoints[0].Note)}</pre></details>""");
        }
        body.Append("</section>\n");
        return ConsoleHtml.Page("Ledger", signedIn, body.ToString());
    }

    public static string Refused(SignedIn signedIn) => ConsoleHtml.Page("Ledger", signedIn, """
        <h1>Ledger</h1>
        <p class="error" role="alert">The ledger is the administrator's: the ledger API answers only the admin, and so does this page.</p>
        """);

    /// <summary>What a verification found, in words.</summary>
    public static string Outcome(LedgerVerificationView verification)
    {
        var text = verification.Valid
            ? $"The ledger verifies: {verification.Entries.ToString("N0", CultureInfo.InvariantCulture)} entries, their chain and every checkpoint."
            : $"The ledger does NOT verify at index {verification.FirstBadIndex}: {verification.Fault}: {verification.Reason} ({verification.Entries.ToString("N0", CultureInfo.InvariantCulture)} entries verified before it).";
        return $"""<p class="{(verification.Valid ? "note" : "error")}" role="status" id="verification">{E(text)}</p>""";
    }

    /// <summary>The opening of a streamed verification's progress: a log that each <see cref="Progress"/> line is added to.</summary>
    public static string ProgressStart(long size) =>
        $"""<div id="verify-progress" role="log" aria-label="Verification progress"><p>Verifying {size.ToString("N0", CultureInfo.InvariantCulture)} entries…</p>""";

    /// <summary>One line of progress: how many of the ledger's entries have verified so far.</summary>
    public static string Progress(long verified, long size)
    {
        var total = Math.Max(size, verified);
        var percent = total == 0 ? 100 : (int)(verified * 100 / total);
        return $"""<p><progress max="{total.ToString(CultureInfo.InvariantCulture)}" value="{verified.ToString(CultureInfo.InvariantCulture)}" aria-label="Entries checked">{percent}%</progress> {verified.ToString("N0", CultureInfo.InvariantCulture)} of {total.ToString("N0", CultureInfo.InvariantCulture)} entries checked</p>""";
    }

    public const string ProgressEnd = "</div>";
}
