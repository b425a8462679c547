using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace ConsentHub.Validation;

/// <summary>
/// Branding as renderers may use it: colours that are exactly <c>#rrggbb</c> (else the defaults), a logo only from an
/// absolute https address (or http on the local machine, for development), and for each colour the text colour
/// (white or near-black) that reads best on it.
/// </summary>
sealed partial record SafeBranding(string DisplayName, string Primary, string OnPrimary, string Accent, string OnAccent, string? LogoUrl)
{
    public const string White = "#ffffff";
    public const string NearBlack = "#111827";

    /// <summary>Escapes the five HTML-significant characters (and others) but leaves letters such as é or ß readable.</summary>
    public static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    public static SafeBranding From(Branding branding)
    {
        var fallback = Branding.Default(branding.DisplayName);
        var primary = Colour(branding.PrimaryColour, fallback.PrimaryColour);
        var accent = Colour(branding.AccentColour, fallback.AccentColour);
        return new(branding.DisplayName, primary, TextOn(primary), accent, TextOn(accent), Logo(branding.LogoUrl));
    }

    public string Brand(string text) => text.Replace("{brand}", DisplayName, StringComparison.Ordinal);

    static string Colour(string? value, string fallback) =>
        value is not null && ColourPattern().IsMatch(value) ? value.ToLowerInvariant() : fallback;

    static string? Logo(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri)) return null;
        if (!string.IsNullOrEmpty(uri.UserInfo)) return null;
        var allowed = uri.Scheme == Uri.UriSchemeHttps
            || (uri.Scheme == Uri.UriSchemeHttp && (uri.IsLoopback || uri.Host == "localhost"));
        return allowed ? uri.AbsoluteUri : null;
    }

    /// <summary>White or near-black, whichever has the higher WCAG contrast ratio against the colour.</summary>
    public static string TextOn(string colour)
    {
        var background = Luminance(colour);
        var onWhite = (Luminance(White) + 0.05) / (background + 0.05);
        var onBlack = (background + 0.05) / (Luminance(NearBlack) + 0.05);
        return onWhite >= onBlack ? White : NearBlack;
    }

    public static double ContrastRatio(string a, string b)
    {
        var (la, lb) = (Luminance(a), Luminance(b));
        return (Math.Max(la, lb) + 0.05) / (Math.Min(la, lb) + 0.05);
    }

    static double Luminance(string colour)
    {
        double Channel(int offset)
        {
            var c = int.Parse(colour.AsSpan(offset, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) / 255.0;
            return c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
        }
        return 0.2126 * Channel(1) + 0.7152 * Channel(3) + 0.0722 * Channel(5);
    }

    [GeneratedRegex(@"^#[0-9a-fA-F]{6}\z")]
    private static partial Regex ColourPattern();
}
