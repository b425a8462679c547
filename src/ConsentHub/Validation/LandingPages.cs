using System.Text;

namespace ConsentHub.Validation;

public enum GoneReason
{
    Expired,
    AlreadyUsed,
}

/// <summary>
/// The pages a person sees after following the validation link: complete HTML documents that need no JavaScript, with
/// the context's branding. The confirm page offers exactly one action, confirm; not confirming changes nothing
/// (seed 004 FAQ 9 and 10: no reject button, no partial confirmation).
/// </summary>
public static class LandingPages
{
    /// <summary>
    /// A policy the pages work under: no script at all, the inline style block, a logo from https (or the local
    /// machine in development), and a form that posts only back to this site.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: http://localhost:* http://127.0.0.1:*; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static string Confirm(Branding branding, ValidationTexts texts, IReadOnlyList<ValidationItem> items, string formAction, string antiforgeryFieldName, string antiforgeryToken)
    {
        var brand = SafeBranding.From(branding);
        var body = new StringBuilder();
        body.Append($"""
            <h1>{E(brand.Brand(texts.Heading))}</h1>
            <p class="lead">{E(brand.Brand(texts.Intro))}</p>

            """);
        Section(body, "consents", brand.Brand(texts.ConsentsHeading), ItemWording.Consents(texts, items));
        Section(body, "channels", brand.Brand(texts.ChannelsHeading), ItemWording.Channels(texts, items));
        body.Append($"""
            <form method="post" action="{E(formAction)}">
            <input type="hidden" name="{E(antiforgeryFieldName)}" value="{E(antiforgeryToken)}">
            <button type="submit">{E(brand.Brand(texts.ConfirmLabel))}</button>
            </form>
            <p class="note">{E(brand.Brand(texts.IgnoreNote))}</p>
            """);
        return Page(brand, texts, brand.Brand(texts.Heading), body.ToString());
    }

    /// <summary>
    /// The consent reminder's page: the person's current choices, one button that keeps them (a new validation of the same
    /// values), and a form of checkboxes that changes them. Both forms post to <paramref name="formAction"/>.
    /// </summary>
    public static string Revisit(Branding branding, ValidationTexts texts, IReadOnlyList<ValidationItem> items, string formAction,
        string antiforgeryFieldName, string antiforgeryToken)
    {
        var brand = SafeBranding.From(branding);
        var body = new StringBuilder();
        body.Append($"""
            <h1>{E(brand.Brand(texts.RevisitHeading))}</h1>
            <p class="lead">{E(brand.Brand(texts.RevisitIntro))}</p>

            """);
        Section(body, "consents", brand.Brand(texts.ConsentsHeading), ItemWording.Consents(texts, items));
        var hidden = $"""<input type="hidden" name="{E(antiforgeryFieldName)}" value="{E(antiforgeryToken)}">""";
        body.Append($"""
            <form method="post" action="{E(formAction)}">
            {hidden}
            <button type="submit" name="action" value="keep">{E(brand.Brand(texts.RevisitKeepLabel))}</button>
            </form>
            <form method="post" action="{E(formAction)}" class="change">
            {hidden}
            <fieldset>
            <legend>{E(brand.Brand(texts.RevisitChangeHeading))}</legend>

            """);
        var consents = items.Where(i => i.Kind == ValidationItemKind.Consent).ToList();
        var wording = ItemWording.Consents(texts, consents);
        for (var i = 0; i < consents.Count; i++)
        {
            var id = $"consent-{i}";
            body.Append($"""<p class="choice"><input type="checkbox" id="{id}" name="consent" value="{E(consents[i].Code)}"{(consents[i].Flag ? " checked" : "")}> <label for="{id}">{E(wording[i].Title)}</label></p>""").Append('\n');
        }
        body.Append($"""
            </fieldset>
            <button type="submit" name="action" value="change" class="secondary">{E(brand.Brand(texts.RevisitSaveLabel))}</button>
            </form>
            """);
        return Page(brand, texts, brand.Brand(texts.RevisitHeading), body.ToString());
    }

    public static string Thanks(Branding branding, ValidationTexts texts)
    {
        var brand = SafeBranding.From(branding);
        return Message(brand, texts, Icons.Check, brand.Brand(texts.ThanksHeading), brand.Brand(texts.ThanksBody));
    }

    /// <summary>For a token nobody issued: there is no context, so no branding and no brand name.</summary>
    public static string NotFound(ValidationTexts texts) =>
        Message(null, texts, Icons.Question, Unbranded(texts.NotFoundHeading), Unbranded(texts.NotFoundBody));

    public static string Gone(Branding branding, ValidationTexts texts, GoneReason reason)
    {
        var brand = SafeBranding.From(branding);
        return reason switch
        {
            GoneReason.Expired => Message(brand, texts, Icons.Clock, brand.Brand(texts.ExpiredHeading), brand.Brand(texts.ExpiredBody)),
            GoneReason.AlreadyUsed => Message(brand, texts, Icons.Check, brand.Brand(texts.UsedHeading), brand.Brand(texts.UsedBody)),
            _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
        };
    }

    /// <summary>
    /// A complete page in the person-facing pages' shell and style sheet (the preference centre's pages too): the
    /// context's colours and name when <paramref name="branding"/> is given, neutral ones otherwise.
    /// </summary>
    public static string Document(Branding? branding, string language, string title, string content) =>
        Page(branding is null ? null : SafeBranding.From(branding), DefaultTexts.For(language), title, content);

    static string E(string value) => SafeBranding.Html.Encode(value);

    static string Unbranded(string text) => text.Replace("{brand}", "", StringComparison.Ordinal).Trim();

    static void Section(StringBuilder body, string id, string heading, IReadOnlyList<ItemWording> lines)
    {
        if (lines.Count == 0) return;
        body.Append($"""
            <section aria-labelledby="{id}-heading">
            <h2 id="{id}-heading">{E(heading)}</h2>
            <ul class="items">

            """);
        foreach (var line in lines)
        {
            body.Append($"""<li><div class="item-text"><span class="item-title">{E(line.Title)}</span>""");
            if (line.Details is not null) body.Append($"""<span class="item-details">{E(line.Details)}</span>""");
            var (css, mark) = line.Granted ? ("granted", "✓") : ("withdrawn", "✗");
            body.Append($"""</div><span class="status {css}"><span aria-hidden="true">{mark}</span> {E(line.Status)}</span></li>""").Append('\n');
        }
        body.Append("</ul>\n</section>\n");
    }

    static string Message(SafeBranding? brand, ValidationTexts texts, string icon, string heading, string text) =>
        Page(brand, texts, heading, $"""
            <div class="message">
            {icon}
            <h1>{E(heading)}</h1>
            <p>{E(text)}</p>
            </div>
            """);

    static string Page(SafeBranding? brand, ValidationTexts texts, string title, string content)
    {
        var colours = brand ?? SafeBranding.From(Branding.Default(""));
        var header = brand is null ? "" : $"""
            <header class="bar"><div class="bar-inner">{(brand.LogoUrl is null ? "" : $"""<img src="{E(brand.LogoUrl)}" alt="">""")}<span class="brand">{E(brand.DisplayName)}</span></div></header>
            """;
        var fullTitle = brand is null || brand.DisplayName.Length == 0 ? title : $"{title} – {brand.DisplayName}";
        return $$"""
            <!DOCTYPE html>
            <html lang="{{E(texts.Language)}}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex, nofollow">
            <meta name="referrer" content="no-referrer">
            <title>{{E(fullTitle)}}</title>
            <style>
            {{Css(colours)}}
            </style>
            </head>
            <body>
            {{header}}
            <main><div class="card">
            {{content}}
            </div></main>
            </body>
            </html>

            """;
    }

    // Colours reach the style sheet only after SafeBranding checked them against ^#[0-9a-fA-F]{6}$.
    static string Css(SafeBranding b) => $$"""
        *,*::before,*::after{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
        body{margin:0;min-height:100vh;background:{{b.Accent}};color:{{SafeBranding.NearBlack}};font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;overflow-wrap:anywhere}
        .bar{background:{{b.Primary}};color:{{b.OnPrimary}}}
        .bar-inner{max-width:42rem;margin:0 auto;padding:1rem 1.25rem;display:flex;align-items:center;gap:.75rem;font-size:1.125rem;font-weight:600;line-height:1.3}
        .bar img{display:block;flex:none;height:2rem;width:auto;max-width:10rem}
        .brand{min-width:0}
        main{display:block;max-width:42rem;margin:0 auto;padding:1.5rem 1rem 3rem}
        .card{background:#ffffff;border-radius:.75rem;padding:1.5rem 1.25rem;box-shadow:0 1px 2px rgba(17,24,39,.06),0 8px 24px rgba(17,24,39,.08)}
        h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}
        h2{margin:1.75rem 0 .5rem;font-size:1.0625rem;line-height:1.3}
        p{margin:0 0 1rem}
        .lead{color:#374151}
        .items{list-style:none;margin:0;padding:0;border-bottom:1px solid #e5e7eb}
        .items li{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:flex-start;gap:.5rem 1rem;padding:.875rem 0;border-top:1px solid #e5e7eb}
        .item-text{flex:1 1 14rem;min-width:0}
        .item-title{display:block;font-weight:600}
        .item-details{display:block;margin-top:.25rem;color:#4b5563;font-size:.9375rem}
        .status{flex:none;padding:.125rem .625rem;border-radius:999px;font-size:.8125rem;font-weight:600;white-space:nowrap}
        .granted{background:#dcfce7;color:#14532d}
        .withdrawn{background:#f3f4f6;color:#374151}
        form{margin:2rem 0 1.5rem}
        button{display:block;width:100%;min-height:3rem;padding:.875rem 2rem;border:0;border-radius:.5rem;background:{{b.Primary}};color:{{b.OnPrimary}};font:inherit;font-size:1.0625rem;font-weight:600;cursor:pointer}
        button:hover{box-shadow:inset 0 0 0 100rem rgba(255,255,255,.12)}
        button:active{box-shadow:inset 0 0 0 100rem rgba(0,0,0,.12)}
        button:focus-visible{outline:3px solid {{SafeBranding.NearBlack}};outline-offset:3px}
        .note{margin:0;padding-top:1rem;border-top:1px solid #e5e7eb;color:#4b5563;font-size:.9375rem}
        form.change{margin-top:1.5rem}
        fieldset{margin:0 0 1rem;padding:1rem;border:1px solid #d1d5db;border-radius:.5rem}
        legend{padding:0 .25rem;font-weight:600}
        .choice{margin:.5rem 0}
        .choice input{width:1.25rem;height:1.25rem;vertical-align:middle}
        .message{text-align:center;padding:1rem 0 .5rem}
        .message svg{display:block;width:3.5rem;height:3.5rem;margin:0 auto 1rem;color:{{(SafeBranding.ContrastRatio(b.Primary, "#ffffff") >= 3 ? b.Primary : SafeBranding.NearBlack)}}}
        .message p{margin:0 auto;max-width:30rem;color:#374151}
        label{font-weight:600}
        .hint{display:block;margin:.125rem 0 .5rem;color:#4b5563;font-size:.9375rem;font-weight:400}
        input[type=email]{display:block;width:100%;min-height:3rem;padding:.625rem .75rem;border:2px solid #4b5563;border-radius:.5rem;font:inherit}
        input[type=email]:focus-visible,.choice input:focus-visible{outline:3px solid {{SafeBranding.NearBlack}};outline-offset:2px}
        input[aria-invalid=true]{border-color:#b91c1c}
        .error{display:block;margin:.25rem 0 .5rem;color:#b91c1c;font-weight:600}
        .notice{padding:.75rem 1rem;border-left:4px solid {{(SafeBranding.ContrastRatio(b.Primary, "#ffffff") >= 3 ? b.Primary : SafeBranding.NearBlack)}};background:#f3f4f6}
        .brand-section{margin-top:1.5rem}
        .brand-section h2{margin-top:0}
        .choice label{font-weight:400}
        .choice .item-details{margin-left:1.75rem}
        button.secondary{background:#ffffff;color:{{SafeBranding.NearBlack}};box-shadow:inset 0 0 0 2px {{SafeBranding.NearBlack}}}
        button.link{display:inline;width:auto;min-width:0;min-height:0;padding:0;background:none;color:{{SafeBranding.NearBlack}};text-decoration:underline;font-size:1rem;font-weight:400}
        .languages{margin-top:2rem;padding-top:1rem;border-top:1px solid #e5e7eb;font-size:.9375rem}
        .languages ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
        .languages a{color:{{SafeBranding.NearBlack}}}
        .languages a[aria-current]{font-weight:700;text-decoration:none}
        @media (min-width:36em){
        main{padding-top:2.5rem}
        .card{padding:2.25rem 2.5rem}
        h1{font-size:1.75rem}
        button{display:inline-block;width:auto;min-width:14rem}
        }
        """;

    static class Icons
    {
        const string Open = """<svg aria-hidden="true" focusable="false" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="12" cy="12" r="10"/>""";
        public const string Check = Open + """<path d="m7.5 12.5 3 3 6-6.5"/></svg>""";
        public const string Clock = Open + """<path d="M12 7v5l3 2"/></svg>""";
        public const string Question = Open + """<path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6v.6"/><path d="M12 17h.01"/></svg>""";
    }
}
