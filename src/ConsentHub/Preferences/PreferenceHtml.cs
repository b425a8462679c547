using System.Text;
using ConsentHub.Validation;

namespace ConsentHub.Preferences;

/// <summary>The form fields every preference-centre form carries: the antiforgery token.</summary>
public sealed record FormToken(string FieldName, string Value);

/// <summary>
/// The preference centre's pages: complete HTML in the validation pages' shell, no JavaScript, every control labelled,
/// and links to the same page in the other four languages.
/// </summary>
public static class PreferenceHtml
{
    /// <summary>The page that asks for an address; <paramref name="error"/> marks the field when the last one was refused.</summary>
    public static string Request(PreferenceTexts texts, FormToken form, string? heading = null, string? body = null, string? error = null, string? typed = null)
    {
        var html = new StringBuilder();
        html.Append($"<h1>{E(heading ?? texts.Title)}</h1>\n");
        if (body is not null) html.Append($"""<p class="notice" role="status">{E(body)}</p>""").Append('\n');
        html.Append($"""<p class="lead">{E(texts.RequestIntro)}</p>""").Append('\n');
        var describedBy = error is null ? "email-hint" : "email-hint email-error";
        html.Append($"""
            <form method="post" action="{PreferencePages.Path}" novalidate>
            {Hidden(form)}
            <input type="hidden" name="lang" value="{E(texts.Language)}">
            <p><label for="email">{E(texts.EmailLabel)}</label>
            <span class="hint" id="email-hint">{E(texts.EmailHint)}</span>
            {(error is null ? "" : $"""<span class="error" id="email-error">{E(error)}</span>""")}
            <input type="email" id="email" name="email" autocomplete="email" spellcheck="false" maxlength="254" aria-describedby="{describedBy}"{(error is null ? "" : " aria-invalid=\"true\"")} value="{E(typed ?? "")}"></p>
            <button type="submit">{E(texts.SendLabel)}</button>
            </form>

            """);
        html.Append(Languages(texts, PreferencePages.Path));
        return LandingPages.Document(null, texts.Language, heading ?? texts.Title, html.ToString());
    }

    /// <summary>What every valid address gets: the same words, known or not.</summary>
    public static string Sent(PreferenceTexts texts, int minutes) =>
        Message(texts, texts.SentHeading, texts.WithMinutes(texts.SentBody, minutes), PreferencePages.Path);

    public static string TooMany(PreferenceTexts texts) => Message(texts, texts.TooManyHeading, texts.TooManyBody, PreferencePages.Path);

    /// <summary>The page a link opens: one button that opens the choices, so a mail scanner that follows links uses nothing.</summary>
    public static string Open(PreferenceTexts texts, FormToken form, string action) => LandingPages.Document(null, texts.Language, texts.OpenHeading, $"""
        <h1>{E(texts.OpenHeading)}</h1>
        <p class="lead">{E(texts.OpenBody)}</p>
        <form method="post" action="{E(action)}">
        {Hidden(form)}
        <button type="submit">{E(texts.OpenLabel)}</button>
        </form>
        {Languages(texts, action)}
        """);

    /// <summary>The person's choices, brand by brand, in one form; withdrawing everything is a form of its own.</summary>
    public static string Choices(PreferenceTexts texts, FormToken form, IReadOnlyList<PreferenceSection> sections, string? notice)
    {
        var words = DefaultTexts.For(texts.Language);
        var html = new StringBuilder();
        html.Append($"<h1>{E(texts.Title)}</h1>\n");
        if (notice is not null) html.Append($"""<p class="notice" role="status">{E(notice)}</p>""").Append('\n');
        if (sections.Count == 0)
        {
            html.Append($"""<p class="lead">{E(texts.NothingHeld)}</p>""").Append('\n');
        }
        else
        {
            html.Append($"""<p class="lead">{E(texts.ChoicesIntro)}</p>""").Append('\n');
            html.Append($"""<form method="post" action="{PreferencePages.ChoicesPath}">""").Append('\n').Append(Hidden(form)).Append('\n');
            for (var i = 0; i < sections.Count; i++) Section(html, texts, words, sections[i], i);
            html.Append($"""<button type="submit" name="action" value="save">{E(texts.SaveLabel)}</button>""").Append("\n</form>\n");
            html.Append($"""
                <section aria-labelledby="withdraw-heading">
                <h2 id="withdraw-heading">{E(texts.WithdrawAllHeading)}</h2>
                <p>{E(texts.WithdrawAllBody)}</p>
                <form method="post" action="{PreferencePages.ChoicesPath}">
                {Hidden(form)}
                <button type="submit" name="action" value="withdraw-all" class="secondary">{E(texts.WithdrawAllLabel)}</button>
                </form>
                </section>

                """);
        }
        html.Append($"""
            <form method="post" action="{PreferencePages.SignOutPath}">
            {Hidden(form)}
            <button type="submit" class="link">{E(texts.SignOutLabel)}</button>
            </form>

            """);
        html.Append(Languages(texts, PreferencePages.ChoicesPath));
        // One brand: the page wears its colours. Several: neutral, each section names its brand.
        var branding = sections.Select(s => s.Context).Distinct().Count() == 1 ? sections[0].Branding : null;
        return LandingPages.Document(branding, texts.Language, texts.Title, html.ToString());
    }

    static void Section(StringBuilder html, PreferenceTexts texts, ValidationTexts words, PreferenceSection section, int index)
    {
        var id = $"s{index}";
        html.Append($"""
            <section class="brand-section" aria-labelledby="{id}-heading">
            <h2 id="{id}-heading">{E(section.Branding.DisplayName)}</h2>
            <input type="hidden" name="section" value="{E(section.Key)}">

            """);
        Group(html, words.ConsentsHeading.Replace("{brand}", section.Branding.DisplayName, StringComparison.Ordinal), section.Consents, $"{id}-c", section.Key, "consent",
            c => string.IsNullOrWhiteSpace(c.Description) ? c.Code : c.Description.Trim(), c => string.IsNullOrWhiteSpace(c.LongDescription) ? null : c.LongDescription.Trim());
        Group(html, words.ChannelsHeading.Replace("{brand}", section.Branding.DisplayName, StringComparison.Ordinal), section.Channels, $"{id}-m", section.Key, "channel",
            c => DefaultTexts.ChannelName(c.Code, texts.Language), _ => null);
        html.Append("</section>\n");
    }

    static void Group(StringBuilder html, string legend, IReadOnlyList<PreferenceItem> items, string idPrefix, string key, string field,
        Func<PreferenceItem, string> title, Func<PreferenceItem, string?> details)
    {
        if (items.Count == 0) return;
        html.Append($"<fieldset>\n<legend>{E(legend)}</legend>\n");
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var id = $"{idPrefix}{i}";
            var more = details(item);
            html.Append($"""<div class="choice"><input type="checkbox" id="{id}" name="{E(key)}.{field}" value="{E(item.Code)}"{(item.Flag ? " checked" : "")}{(more is null ? "" : $" aria-describedby=\"{id}-details\"")}> <label for="{id}">{E(title(item))}</label>""");
            html.Append($"""<input type="hidden" name="{E(key)}.shown-{field}" value="{E(item.Code)}">""");
            if (more is not null) html.Append($"""<span class="item-details" id="{id}-details">{E(more)}</span>""");
            html.Append("</div>\n");
        }
        html.Append("</fieldset>\n");
    }

    /// <summary>A message page with the address form under it (an expired link, an ended session).</summary>
    public static string Gone(PreferenceTexts texts, FormToken form, string heading, string body) => Request(texts, form, heading, body);

    static string Message(PreferenceTexts texts, string heading, string body, string languagesPath) => LandingPages.Document(null, texts.Language, heading, $"""
        <div class="message">
        <h1>{E(heading)}</h1>
        <p>{E(body)}</p>
        </div>
        {Languages(texts, languagesPath)}
        """);

    static string Languages(PreferenceTexts current, string path)
    {
        var html = new StringBuilder();
        html.Append($"""<nav class="languages" aria-label="{E(current.LanguageHeading)}"><ul>""");
        foreach (var texts in PreferenceTexts.All)
        {
            var here = texts.Language == current.Language ? " aria-current=\"page\"" : "";
            html.Append($"""<li><a href="{E(path)}?lang={texts.Language}" lang="{texts.Language}" hreflang="{texts.Language}"{here}>{E(texts.LanguageName)}</a></li>""");
        }
        return html.Append("</ul></nav>\n").ToString();
    }

    static string Hidden(FormToken form) => $"""<input type="hidden" name="{E(form.FieldName)}" value="{E(form.Value)}">""";

    static string E(string value) => SafeBranding.Html.Encode(value);
}
