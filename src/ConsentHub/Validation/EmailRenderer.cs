using System.Text;

namespace ConsentHub.Validation;

/// <summary>
/// The validation email: every consent and channel of the change in the words the source system sent, and one link to
/// the landing page. The HTML part uses tables and inline styles because mail readers drop style sheets.
/// </summary>
public static class EmailRenderer
{
    const string Font = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;";
    /// <summary>
    /// A word longer than the line (a long code, a URL in a description) breaks instead of widening the table past a
    /// phone's screen: <c>anywhere</c> also lowers the cell's minimum width, which table layout goes by.
    /// </summary>
    const string Wrap = "overflow-wrap:anywhere;word-break:break-word;";
    const string Muted = "#4b5563";

    /// <param name="preferences">The preference centre's link for the foot of the email, when the hub issues one.</param>
    public static OutgoingMail Render(
        string to, Branding branding, ValidationTexts texts, IReadOnlyList<ValidationItem> items, string link, bool reminder, PreferenceCentreLink? preferences = null)
    {
        if (!IsWebAddress(link))
            throw new ArgumentException("The landing-page link must be an absolute http(s) address.", nameof(link));

        var brand = SafeBranding.From(branding);
        var subject = OneLine(brand.Brand(reminder ? texts.ReminderSubject : texts.Subject));
        var intro = brand.Brand(reminder ? texts.ReminderIntro : texts.Intro);
        var consents = ItemWording.Consents(texts, items);
        var channels = ItemWording.Channels(texts, items);

        return new OutgoingMail(
            to,
            OneLine(branding.SenderName),
            subject,
            Html(brand, texts, subject, brand.Brand(texts.Heading), intro, consents, channels, link, brand.Brand(texts.IgnoreNote), Usable(preferences)),
            Text(brand, texts, brand.Brand(texts.Heading), intro, consents, channels, link, brand.Brand(texts.IgnoreNote), Usable(preferences)));
    }

    /// <summary>
    /// The email confirming a change that was applied (<c>notify: true</c>): the same layout and items as the validation
    /// email, with no link and no button, because there is nothing to do.
    /// </summary>
    public static OutgoingMail RenderNotification(
        string to, Branding branding, ValidationTexts texts, IReadOnlyList<ValidationItem> items, PreferenceCentreLink? preferences = null)
    {
        var brand = SafeBranding.From(branding);
        var subject = OneLine(brand.Brand(texts.NotificationSubject));
        var heading = brand.Brand(texts.NotificationHeading);
        var intro = brand.Brand(texts.NotificationIntro);
        var note = brand.Brand(texts.NotificationNote);
        var consents = ItemWording.Consents(texts, items);
        var channels = ItemWording.Channels(texts, items);
        return new OutgoingMail(
            to,
            OneLine(branding.SenderName),
            subject,
            Html(brand, texts, subject, heading, intro, consents, channels, link: null, note, Usable(preferences)),
            Text(brand, texts, heading, intro, consents, channels, link: null, note, Usable(preferences)));
    }

    static string Text(
        SafeBranding brand, ValidationTexts texts, string heading, string intro, IReadOnlyList<ItemWording> consents, IReadOnlyList<ItemWording> channels,
        string? link, string note, PreferenceCentreLink? preferences)
    {
        var text = new StringBuilder();
        text.Append(brand.DisplayName).Append("\n\n");
        text.Append(heading).Append("\n\n");
        text.Append(intro).Append("\n\n");
        void Section(string title, IReadOnlyList<ItemWording> lines)
        {
            if (lines.Count == 0) return;
            text.Append(brand.Brand(title)).Append('\n');
            foreach (var line in lines)
            {
                text.Append("- ").Append(line.Title).Append(": ").Append(line.Status).Append('\n');
                if (line.Details is not null) text.Append("  ").Append(line.Details).Append('\n');
            }
            text.Append('\n');
        }
        Section(texts.ConsentsHeading, consents);
        Section(texts.ChannelsHeading, channels);
        if (link is not null) text.Append(brand.Brand(texts.ConfirmLabel)).Append(": ").Append(link).Append("\n\n");
        text.Append(note).Append('\n');
        if (preferences is not null) text.Append('\n').Append(preferences.Label).Append(": ").Append(preferences.Url).Append('\n');
        return text.ToString();
    }

    static string Html(
        SafeBranding brand, ValidationTexts texts, string subject, string heading, string intro, IReadOnlyList<ItemWording> consents,
        IReadOnlyList<ItemWording> channels, string? link, string note, PreferenceCentreLink? preferences)
    {
        static string E(string value) => SafeBranding.Html.Encode(value);
        var html = new StringBuilder();
        html.Append($"""
            <!DOCTYPE html>
            <html lang="{E(texts.Language)}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light">
            <title>{E(subject)}</title>
            </head>
            <body style="margin:0;padding:0;background:{brand.Accent};">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:{brand.Accent};">
            <tr><td align="center" style="padding:24px 12px;">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background:#ffffff;border-radius:8px;">
            <tr><td style="background:{brand.Primary};color:{brand.OnPrimary};padding:20px 28px;border-radius:8px 8px 0 0;{Font}font-size:18px;font-weight:600;line-height:1.3;{Wrap}">
            """);
        html.Append('\n');
        if (brand.LogoUrl is not null)
            html.Append($"""<img src="{E(brand.LogoUrl)}" alt="" height="32" style="height:32px;width:auto;vertical-align:middle;margin-right:12px;border:0;">""");
        html.Append($"""
            <span style="vertical-align:middle;">{E(brand.DisplayName)}</span>
            </td></tr>
            <tr><td style="padding:28px;{Font}font-size:16px;line-height:1.5;color:{SafeBranding.NearBlack};{Wrap}">
            <h1 style="margin:0 0 16px;font-size:24px;line-height:1.25;">{E(heading)}</h1>
            <p style="margin:0 0 24px;">{E(intro)}</p>

            """);
        void Section(string title, IReadOnlyList<ItemWording> lines)
        {
            if (lines.Count == 0) return;
            html.Append($"""<h2 style="margin:0 0 8px;font-size:17px;line-height:1.3;">{E(brand.Brand(title))}</h2>""").Append('\n');
            html.Append("""<ul style="margin:0 0 24px;padding:0;list-style:none;">""").Append('\n');
            foreach (var line in lines)
            {
                var (badge, mark) = line.Granted ? ("background:#dcfce7;color:#14532d;", "✓") : ("background:#f3f4f6;color:#374151;", "✗");
                html.Append($"""<li style="margin:0;padding:12px 0;border-top:1px solid #e5e7eb;"><strong style="display:block;">{E(line.Title)}</strong>""");
                if (line.Details is not null)
                    html.Append($"""<span style="display:block;margin-top:4px;font-size:14px;color:{Muted};">{E(line.Details)}</span>""");
                html.Append($"""<span style="display:inline-block;margin-top:8px;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;{badge}">{mark} {E(line.Status)}</span></li>""").Append('\n');
            }
            html.Append("</ul>\n");
        }
        Section(texts.ConsentsHeading, consents);
        Section(texts.ChannelsHeading, channels);
        if (link is not null)
        {
            html.Append($"""
                <table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 24px;"><tr>
                <td style="border-radius:6px;background:{brand.Primary};"><a href="{E(link)}" style="display:inline-block;padding:14px 32px;{Font}font-size:16px;font-weight:600;color:{brand.OnPrimary};text-decoration:none;border-radius:6px;">{E(brand.Brand(texts.ConfirmLabel))}</a></td>
                </tr></table>
                <p style="margin:0 0 4px;font-size:14px;color:{Muted};">{E(DefaultTexts.CopyLinkHint(texts.Language))}</p>
                <p style="margin:0 0 24px;font-size:14px;word-break:break-all;">{E(link)}</p>

                """);
        }
        var footer = preferences is not null
            ? $"""<p style="margin:12px 0 0;font-size:14px;"><a href="{E(preferences.Url)}" style="color:{SafeBranding.NearBlack};">{E(preferences.Label)}</a></p>"""
            : "";
        html.Append($"""
            <p style="margin:0;padding-top:16px;border-top:1px solid #e5e7eb;font-size:14px;color:{Muted};">{E(note)}</p>
            {footer}
            </td></tr>
            </table>
            </td></tr>
            </table>
            </body>
            </html>

            """);
        return html.ToString();
    }

    /// <summary>The preference centre's line only with an http(s) address: anything else is left out, never linked.</summary>
    static PreferenceCentreLink? Usable(PreferenceCentreLink? preferences) => preferences is not null && IsWebAddress(preferences.Url) ? preferences : null;

    static bool IsWebAddress(string link) =>
        Uri.TryCreate(link, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    /// <summary>Headers are one line: control characters (CR, LF, tabs) become spaces.</summary>
    static string OneLine(string value) =>
        string.Join(' ', new string([.. value.Select(c => char.IsControl(c) ? ' ' : c)]).Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
