using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using ConsentHub.Auth;
using ConsentHub.Hosting;

namespace ConsentHub.Bulk;

/// <summary>The DPO's pages: complete HTML documents in English that need no JavaScript.</summary>
public static class DpoHtml
{
    /// <summary>No script, the inline style block, forms that post only back to this site, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    public const string GenericSignInError = PasswordSignIn.Refused;

    public static string Login(string antiforgeryFieldName, string antiforgeryToken, string? error, string? username) =>
        Page("Sign in", $"""
            <h1>Sign in</h1>
            <p class="lead">Sign in with the DPO account your administrator gave you to download bulk exports of validated consent.</p>
            {HtmlForms.SignIn(DpoPages.LoginPath, antiforgeryFieldName, antiforgeryToken, error, username)}
            """);

    public static string Landing(DpoIdentity dpo, IReadOnlyList<ExportableOrganisation> organisations,
        string antiforgeryFieldName, string antiforgeryToken, string? error, IReadOnlyList<string>? sections = null)
    {
        var scope = dpo.Role == Roles.HeadOfficeDpo
            ? $"head-office DPO for the context <strong>{E(dpo.Context)}</strong> (every organisation)"
            : $"DPO of the organisation <strong>{E(dpo.Nmsc ?? "")}</strong> for the context <strong>{E(dpo.Context)}</strong>";
        var body = new StringBuilder();
        body.Append($"""
            <h1>Bulk export of validated consent</h1>
            <p class="lead">Signed in as <strong>{E(dpo.Username)}</strong>, {scope}.</p>
            {(error is null ? "" : $"""<p class="error" role="alert">{E(error)}</p>""")}
            <div class="warning" role="note" aria-labelledby="warning-heading">
            <h2 id="warning-heading">This file holds sensitive personal data</h2>
            <p>An export lists people's email addresses, phone numbers and consent choices. Treat it according to the GDPR: keep it only
            where your organisation allows, share it with nobody who is not entitled to it, and delete it when it is no longer needed.
            Every download is recorded in the hub's ledger with your name.</p>
            </div>
            <section aria-labelledby="exports-heading">
            <h2 id="exports-heading">Exports</h2>

            """);
        if (organisations.Count == 0)
        {
            body.Append($"""<p>No organisation has a source system in the context {E(dpo.Context)} yet, so there is nothing to export.</p>""").Append('\n');
        }
        else
        {
            body.Append("""<ul class="exports">""").Append('\n');
            foreach (var o in organisations)
            {
                var name = o.Name is { Length: > 0 } ? $" ({E(o.Name)})" : "";
                body.Append($"""<li><a href="{E(o.Path)}">Export {E(o.Nmsc)}{name}, context {E(o.Context)}</a> <span class="hint">JSON file</span></li>""").Append('\n');
            }
            body.Append("</ul>\n");
        }
        body.Append($"""
            </section>
            {string.Join('\n', sections ?? [])}
            <form method="post" action="{DpoPages.LogoutPath}" class="logout">
            <input type="hidden" name="{E(antiforgeryFieldName)}" value="{E(antiforgeryToken)}">
            <button type="submit" class="secondary">Sign out</button>
            </form>
            """);
        return Page("Bulk export", body.ToString());
    }

    /// <summary>
    /// A landing-page section (<see cref="IDpoLandingSection"/>) listing the newest files of one kind (suppression files,
    /// extracts) of the DPO's organisations, each a download under this session.
    /// </summary>
    public static string Files(string id, string heading, string none, IReadOnlyList<DpoFileLink> files)
    {
        var list = new StringBuilder();
        list.Append($"""<section aria-labelledby="{id}-heading">""").Append('\n')
            .Append($"""<h2 id="{id}-heading">{E(heading)}</h2>""").Append('\n');
        if (files.Count == 0)
        {
            list.Append($"<p>{E(none)}</p>\n");
        }
        else
        {
            list.Append("""<ul class="exports">""").Append('\n');
            foreach (var f in files)
                list.Append($"""<li><a href="{E(f.Href)}">{E(f.Label)}</a> <span class="hint">{E(f.Hint)}</span></li>""").Append('\n');
            list.Append("</ul>\n");
        }
        return list.Append("</section>").ToString();
    }

    internal static string E(string value) => Html.Encode(value);

    internal static string Page(string title, string content) => $$"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex, nofollow">
        <title>{{E(title)}} – ConsentHub DPO</title>
        <style>
        {{Css}}
        </style>
        </head>
        <body>
        <header class="bar"><div class="bar-inner">ConsentHub · Data protection officer</div></header>
        <main><div class="card">
        {{content}}
        </div></main>
        </body>
        </html>

        """;

    const string Css = """
        *,*::before,*::after{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
        body{margin:0;min-height:100vh;background:#f3f4f6;color:#111827;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;overflow-wrap:anywhere}
        .bar{background:#1f2937;color:#ffffff}
        .bar-inner{max-width:42rem;margin:0 auto;padding:1rem 1.25rem;font-weight:600}
        main{display:block;max-width:42rem;margin:0 auto;padding:1.5rem 1rem 3rem}
        .card{background:#ffffff;border-radius:.75rem;padding:1.5rem 1.25rem;box-shadow:0 1px 2px rgba(17,24,39,.06),0 8px 24px rgba(17,24,39,.08)}
        h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}
        h2{margin:0 0 .5rem;font-size:1.0625rem;line-height:1.3}
        p{margin:0 0 1rem}
        .lead{color:#374151}
        label{display:block;margin:1rem 0 .25rem;font-weight:600}
        input[type=text],input[type=password],input[type=email],input[type=tel],select{display:block;width:100%;min-height:2.75rem;padding:.5rem .75rem;border:1px solid #6b7280;border-radius:.375rem;font:inherit}
        button{display:block;width:100%;min-height:3rem;margin-top:1.5rem;padding:.75rem 2rem;border:0;border-radius:.5rem;background:#1f2937;color:#ffffff;font:inherit;font-weight:600;cursor:pointer}
        button.secondary{background:#ffffff;color:#1f2937;box-shadow:inset 0 0 0 2px #1f2937}
        a{color:#1d4ed8}
        a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
        .error{padding:.75rem 1rem;border-left:4px solid #b91c1c;background:#fef2f2;color:#7f1d1d}
        .warning{margin:1.5rem 0;padding:1rem 1.25rem;border-left:4px solid #b45309;background:#fffbeb;color:#78350f}
        .warning p{margin:0}
        section{margin-top:1.5rem}
        .exports{list-style:none;margin:0;padding:0;border-bottom:1px solid #e5e7eb}
        .exports li{padding:.75rem 0;border-top:1px solid #e5e7eb}
        .hint{color:#4b5563;font-size:.875rem}
        .logout{margin-top:2rem}
        @media (min-width:36em){
        main{padding-top:2.5rem}
        .card{padding:2.25rem 2.5rem}
        button{display:inline-block;width:auto;min-width:12rem}
        }
        """;
}
