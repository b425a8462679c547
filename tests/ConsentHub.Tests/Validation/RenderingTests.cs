using System.Text.RegularExpressions;
using ConsentHub.Validation;

namespace ConsentHub.Tests.Validation;

public sealed class RenderingTests
{
    const string Script = "<script>alert(1)</script>";
    const string Breakout = "\"><img src=x onerror=alert(1)>";
    const string Link = "https://hub.example.com/validation/q7Zk3vN0yQ8f2Lm5tR1wXc";

    static readonly Branding Toyota = new("Toyota", "#eb0a1e", "#f4f4f5", "https://cdn.example.com/toyota.svg", "Toyota Customer Care");

    static readonly ValidationItem[] Items =
    [
        new(ValidationItemKind.Consent, "OFFERS", true, "I give consent to receiving OFFERS", "Offers on new cars and servicing."),
        new(ValidationItemKind.Consent, "SURVEYS", false, "I do not give consent to receiving SURVEYS", ""),
        new(ValidationItemKind.Consent, "PROFILING", true, null, null),
        new(ValidationItemKind.Channel, "EMAIL", true, null, null),
        new(ValidationItemKind.Channel, "SMS", false, null, null),
        new(ValidationItemKind.Channel, "PHONE", true, null, null),
        new(ValidationItemKind.Channel, "MAIL", false, null, null),
    ];

    static readonly Branding HostileBranding = new($"Brand{Script}{Breakout}", "#123456", "#abcdef", $"https://cdn.example.com/logo.png{Breakout}", $"Sender{Script}{Breakout}");

    static readonly ValidationItem[] HostileItems =
    [
        new(ValidationItemKind.Consent, "OFFERS", true, $"Offers {Script}", $"Long {Breakout}"),
        new(ValidationItemKind.Consent, $"CODE{Script}{Breakout}", false, null, null),
        new(ValidationItemKind.Channel, $"FAX{Breakout}", true, $"Channel {Script}", null),
    ];

    static readonly ValidationTexts HostileTexts = DefaultTexts.For("en") with
    {
        Language = $"en{Breakout}",
        Heading = $"Heading {Script}",
        Intro = $"Intro {{brand}} {Breakout}",
        ConfirmLabel = $"Confirm {Script}",
        Granted = $"Yes {Breakout}",
        NotFoundHeading = $"Missing {Script}",
        NotFoundBody = $"Body {Breakout}",
        ExpiredBody = $"Expired {Script}",
        ThanksBody = $"Thanks {{brand}} {Breakout}",
    };

    static OutgoingMail Mail(Branding? branding = null, ValidationTexts? texts = null, IReadOnlyList<ValidationItem>? items = null, bool reminder = false) =>
        EmailRenderer.Render("person@example.com", branding ?? Toyota, texts ?? DefaultTexts.For("en"), items ?? Items, Link, reminder);

    static string ConfirmPage(Branding? branding = null, ValidationTexts? texts = null, IReadOnlyList<ValidationItem>? items = null) =>
        LandingPages.Confirm(branding ?? Toyota, texts ?? DefaultTexts.For("en"), items ?? Items, "/validation/q7Zk3vN0yQ8f2Lm5tR1wXc", "__RequestVerificationToken", "CfDJ8token");

    static int Count(string html, string fragment) => Regex.Matches(html, Regex.Escape(fragment), RegexOptions.IgnoreCase).Count;

    static void AssertNoInjectedMarkup(string html)
    {
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img src=x", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("alert(1)>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Email_html_escapes_every_request_and_configuration_string()
    {
        var mail = Mail(HostileBranding, HostileTexts, HostileItems);

        AssertNoInjectedMarkup(mail.Html);
        Assert.Contains("Offers &lt;script&gt;alert(1)&lt;/script&gt;", mail.Html, StringComparison.Ordinal);
        Assert.Contains("Long &quot;&gt;&lt;img src=x onerror=alert(1)&gt;", mail.Html, StringComparison.Ordinal);
        Assert.Contains("CODE&lt;script&gt;", mail.Html, StringComparison.Ordinal);
        Assert.Contains("Brand&lt;script&gt;", mail.Html, StringComparison.Ordinal);
        Assert.Contains("lang=\"en&quot;&gt;&lt;img", mail.Html, StringComparison.Ordinal);
        // The logo URL is kept only as a URL: its quote cannot close the src attribute.
        Assert.Equal(1, Count(mail.Html, "<img "));
        Assert.Contains("src=\"https://cdn.example.com/logo.png%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E\"", mail.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Email_text_part_and_headers_carry_the_words_as_plain_text_on_one_header_line()
    {
        var branding = HostileBranding with { DisplayName = "Toyota\r\nBcc: victim@example.com", SenderName = "Toyota\r\nBcc: victim@example.com" };
        var mail = Mail(branding, HostileTexts, HostileItems);

        Assert.Contains($"Offers {Script}", mail.Text, StringComparison.Ordinal);
        Assert.Contains($"Long {Breakout}", mail.Text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', mail.Subject);
        Assert.DoesNotContain('\r', mail.Subject);
        Assert.Equal("Toyota Bcc: victim@example.com", mail.FromName);
        Assert.Equal("Toyota Bcc: victim@example.com: please confirm your choices", mail.Subject);
    }

    [Fact]
    public void Pages_escape_every_request_and_configuration_string()
    {
        var confirm = LandingPages.Confirm(HostileBranding, HostileTexts, HostileItems, $"/validation/x{Breakout}", $"field{Breakout}", $"token{Breakout}");
        var thanks = LandingPages.Thanks(HostileBranding, HostileTexts);
        var notFound = LandingPages.NotFound(HostileTexts);
        var gone = LandingPages.Gone(HostileBranding, HostileTexts, GoneReason.Expired);

        foreach (var page in new[] { confirm, thanks, notFound, gone }) AssertNoInjectedMarkup(page);
        Assert.Contains("action=\"/validation/x&quot;&gt;&lt;img", confirm, StringComparison.Ordinal);
        Assert.Contains("name=\"field&quot;&gt;&lt;img", confirm, StringComparison.Ordinal);
        Assert.Contains("value=\"token&quot;&gt;&lt;img", confirm, StringComparison.Ordinal);
        Assert.Contains("Intro Brand&lt;script&gt;", confirm, StringComparison.Ordinal); // {brand} substituted, then escaped
        Assert.Contains("Thanks Brand&lt;script&gt;", thanks, StringComparison.Ordinal);
        Assert.Contains("Missing &lt;script&gt;", notFound, StringComparison.Ordinal);
        Assert.Contains("Expired &lt;script&gt;", gone, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("JavaScript:alert(document.cookie)//https://x")]
    [InlineData("data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+")]
    [InlineData("http://cdn.example.com/logo.png")]
    [InlineData("//cdn.example.com/logo.png")]
    [InlineData("/logo.png")]
    [InlineData("https://user:pass@cdn.example.com/logo.png")]
    [InlineData("")]
    public void Logo_that_is_not_absolute_https_is_dropped(string logo)
    {
        var branding = Toyota with { LogoUrl = logo };
        foreach (var html in new[] { Mail(branding).Html, ConfirmPage(branding), LandingPages.Thanks(branding, DefaultTexts.For("en")) })
        {
            Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
            Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("data:", html, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("https://cdn.example.com/toyota.svg")]
    [InlineData("http://localhost:5000/logo.png")]
    [InlineData("http://127.0.0.1:5000/logo.png")]
    public void Logo_from_https_or_the_local_machine_is_shown(string logo)
    {
        var branding = Toyota with { LogoUrl = logo };
        Assert.Contains($"<img src=\"{logo}\"", Mail(branding).Html, StringComparison.Ordinal);
        Assert.Contains($"<img src=\"{logo}\"", ConfirmPage(branding), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("red")]
    [InlineData("#fff")]
    [InlineData("#12345g")]
    [InlineData("#123456;background:url(https://evil.example/x)")]
    [InlineData("#123456\n")]
    [InlineData("")]
    public void Colour_that_is_not_six_hex_digits_falls_back_to_the_default(string colour)
    {
        var branding = Toyota with { PrimaryColour = colour, AccentColour = colour };
        var defaults = Branding.Default("toyota");
        foreach (var html in new[] { Mail(branding).Html, ConfirmPage(branding) })
        {
            Assert.Contains(defaults.PrimaryColour, html, StringComparison.Ordinal);
            Assert.Contains(defaults.AccentColour, html, StringComparison.Ordinal);
            if (colour.Length > 0) Assert.DoesNotContain($":{colour};", html, StringComparison.Ordinal);
            Assert.DoesNotContain("evil.example", html, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("#ffd700", "#111827")] // gold: white text would be unreadable
    [InlineData("#e8eef5", "#111827")]
    [InlineData("#1f3a5f", "#ffffff")]
    [InlineData("#eb0a1e", "#ffffff")]
    public void Text_on_the_brand_colour_is_white_or_near_black_by_luminance(string primary, string text)
    {
        var page = ConfirmPage(Toyota with { PrimaryColour = primary });
        Assert.Matches($"button\\{{[^}}]*background:{primary};color:{text}", page);
        Assert.Contains($"background:{primary};color:{text}", Mail(Toyota with { PrimaryColour = primary }).Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_consent_and_channel_appears_in_the_email_and_the_page_in_the_same_words()
    {
        var mail = Mail();
        var page = ConfirmPage();
        foreach (var document in new[] { mail.Html, mail.Text, page })
        {
            Assert.Contains("I give consent to receiving OFFERS", document, StringComparison.Ordinal);
            Assert.Contains("Offers on new cars and servicing.", document, StringComparison.Ordinal);
            Assert.Contains("I do not give consent to receiving SURVEYS", document, StringComparison.Ordinal);
            Assert.Contains("PROFILING", document, StringComparison.Ordinal); // no description: the code stands in
            foreach (var channel in new[] { "Email", "Text message (SMS)", "Phone", "Post" })
                Assert.Contains(channel, document, StringComparison.Ordinal);
            Assert.Equal(4, Count(document, "Consent given"));
            Assert.Equal(3, Count(document, "Consent withdrawn"));
            Assert.Contains("Your consent", document, StringComparison.Ordinal);
            Assert.Contains("How we may contact you", document, StringComparison.Ordinal);
        }
        Assert.Equal(7, Count(page, "<li>"));
    }

    [Fact]
    public void Email_has_exactly_one_link_to_the_landing_page_and_shows_the_address()
    {
        var mail = Mail();
        Assert.Equal(1, Count(mail.Html, "<a "));
        Assert.Contains($"<a href=\"{Link}\"", mail.Html, StringComparison.Ordinal);
        Assert.Equal(2, Count(mail.Html, Link)); // the button and the plain address to copy
        Assert.Contains($"Confirm: {Link}", mail.Text, StringComparison.Ordinal);
        Assert.Equal(1, Count(mail.Text, Link));
        Assert.Equal("Toyota Customer Care", mail.FromName);
        Assert.Equal("person@example.com", mail.To);
        Assert.Equal("Toyota: please confirm your choices", mail.Subject);
    }

    [Fact]
    public void Reminder_email_says_it_is_a_reminder()
    {
        var mail = Mail(reminder: true);
        Assert.Equal("Reminder from Toyota: please confirm your choices", mail.Subject);
        Assert.Contains("We recently asked you to confirm", mail.Text, StringComparison.Ordinal);
        Assert.Contains("We recently asked you to confirm", mail.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Link_that_is_not_http_is_refused() =>
        Assert.Throws<ArgumentException>(() => EmailRenderer.Render("a@example.com", Toyota, DefaultTexts.For("en"), Items, "javascript:alert(1)", false));

    [Fact]
    public void Confirm_page_has_one_form_with_one_confirm_button_and_no_way_to_reject_or_pick()
    {
        var page = ConfirmPage();
        Assert.Equal(1, Count(page, "<form"));
        Assert.Contains("<form method=\"post\" action=\"/validation/q7Zk3vN0yQ8f2Lm5tR1wXc\">", page, StringComparison.Ordinal);
        Assert.Equal(1, Count(page, "<button"));
        Assert.Contains("<button type=\"submit\">Confirm</button>", page, StringComparison.Ordinal);
        Assert.Equal(1, Count(page, "<input"));
        Assert.Contains("<input type=\"hidden\" name=\"__RequestVerificationToken\" value=\"CfDJ8token\">", page, StringComparison.Ordinal);
        Assert.Equal(0, Count(page, "checkbox"));
        Assert.Equal(0, Count(page, "<a "));
        Assert.Equal(0, Count(page, "reject"));
    }

    [Fact]
    public void Pages_are_complete_accessible_documents_without_script()
    {
        var branding = Toyota;
        var nl = DefaultTexts.For("nl-BE");
        var pages = new[]
        {
            ConfirmPage(branding, nl), LandingPages.Thanks(branding, nl), LandingPages.NotFound(nl),
            LandingPages.Gone(branding, nl, GoneReason.Expired), LandingPages.Gone(branding, nl, GoneReason.AlreadyUsed),
        };
        foreach (var page in pages)
        {
            Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"nl\">", page, StringComparison.Ordinal);
            Assert.Contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", page, StringComparison.Ordinal);
            Assert.Equal(1, Count(page, "<h1"));
            Assert.Equal(1, Count(page, "<main"));
            Assert.Equal(0, Count(page, "<script"));
            Assert.Contains(":focus-visible", page, StringComparison.Ordinal);
        }
        Assert.All(pages.Where(p => p != pages[2]), p => Assert.Contains("<header class=\"bar\">", p, StringComparison.Ordinal));
        Assert.Contains("Bevestig uw keuzes", pages[0], StringComparison.Ordinal);
        Assert.DoesNotContain("{brand}", string.Concat(pages), StringComparison.Ordinal);
    }

    [Fact]
    public void Gone_page_says_why()
    {
        var texts = DefaultTexts.For("en");
        var expired = LandingPages.Gone(Toyota, texts, GoneReason.Expired);
        var used = LandingPages.Gone(Toyota, texts, GoneReason.AlreadyUsed);

        Assert.Contains(texts.ExpiredHeading, expired, StringComparison.Ordinal);
        Assert.Contains("nothing has changed", expired, StringComparison.Ordinal);
        Assert.DoesNotContain(texts.UsedHeading, expired, StringComparison.Ordinal);
        Assert.Contains(texts.UsedHeading, used, StringComparison.Ordinal);
        Assert.Contains("already been used", used, StringComparison.Ordinal);
        Assert.DoesNotContain(texts.ExpiredHeading, used, StringComparison.Ordinal);
        Assert.Contains("<title>This link has expired – Toyota</title>", expired, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "en")]
    [InlineData("", "en")]
    [InlineData("xx", "en")]
    [InlineData("tlh-Latn", "en")]
    [InlineData("en-GB", "en")]
    [InlineData("nl-BE", "nl")]
    [InlineData("NL", "nl")]
    [InlineData("de_AT", "de")]
    [InlineData("fr-CA", "fr")]
    [InlineData("it", "it")]
    public void Texts_are_chosen_by_the_primary_language_subtag_falling_back_to_english(string? tag, string expected) =>
        Assert.Equal(expected, DefaultTexts.For(tag).Language);

    [Fact]
    public void Every_built_in_language_is_complete_and_translated()
    {
        Assert.Equal(new[] { "en", "de", "nl", "fr", "it" }, DefaultTexts.Languages);
        var english = DefaultTexts.For("en");
        var members = typeof(ValidationTexts).GetProperties();
        foreach (var language in DefaultTexts.Languages)
        {
            var texts = DefaultTexts.For(language);
            foreach (var member in members)
                Assert.False(string.IsNullOrWhiteSpace((string?)member.GetValue(texts)), $"{language}.{member.Name} is empty");
            Assert.DoesNotContain("{brand}", texts.NotFoundHeading + texts.NotFoundBody, StringComparison.Ordinal); // no brand is known there
            Assert.Contains("{brand}", texts.Subject, StringComparison.Ordinal);
            if (language == "en") continue;
            foreach (var member in members.Where(m => m.Name != nameof(ValidationTexts.Language)))
                Assert.NotEqual((string?)member.GetValue(english), (string?)member.GetValue(texts));
            Assert.NotEqual(DefaultTexts.CopyLinkHint("en"), DefaultTexts.CopyLinkHint(language));
        }
    }

    [Fact]
    public void Email_in_german_uses_german_words_and_channel_names()
    {
        var mail = Mail(texts: DefaultTexts.For("de-DE"));
        Assert.Equal("Toyota: Bitte bestätigen Sie Ihre Auswahl", mail.Subject);
        Assert.Contains("<html lang=\"de\">", mail.Html, StringComparison.Ordinal);
        Assert.Contains(">Bestätigen</a>", mail.Html, StringComparison.Ordinal); // letters such as ä stay readable
        Assert.Contains("- E-Mail: Einwilligung erteilt", mail.Text, StringComparison.Ordinal);
        Assert.Contains("- Telefon: Einwilligung erteilt", mail.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_preference_centre_line_is_at_the_foot_of_both_parts_escaped_and_only_for_a_web_address()
    {
        var link = new PreferenceCentreLink("https://hub.example.com/preferences/link/abc", $"All your choices {Script}");
        var mail = EmailRenderer.Render("person@example.com", Toyota, DefaultTexts.For("en"), Items, Link, reminder: false, link);
        Assert.Contains($"All your choices {Script}: https://hub.example.com/preferences/link/abc", mail.Text);
        Assert.Contains("<a href=\"https://hub.example.com/preferences/link/abc\"", mail.Html);
        AssertNoInjectedMarkup(mail.Html);
        // After the note: the line closes the email.
        Assert.True(mail.Text.IndexOf("All your choices", StringComparison.Ordinal) > mail.Text.IndexOf("nothing changes", StringComparison.Ordinal));
        var notification = EmailRenderer.RenderNotification("person@example.com", Toyota, DefaultTexts.For("en"), Items, link);
        Assert.Contains("https://hub.example.com/preferences/link/abc", notification.Text);

        var hostile = EmailRenderer.Render("person@example.com", Toyota, DefaultTexts.For("en"), Items, Link, reminder: false,
            new PreferenceCentreLink("javascript:alert(1)", "All your choices"));
        Assert.DoesNotContain("All your choices", hostile.Html);
        Assert.DoesNotContain("All your choices", hostile.Text);
        Assert.DoesNotContain("All your choices", Mail().Text);
    }
}
