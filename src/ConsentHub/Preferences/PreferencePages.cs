using System.Runtime.CompilerServices;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace ConsentHub.Preferences;

/// <summary>
/// The preference centre. A person proves an address by a link: one asked for on <c>/preferences</c> (emailed, works
/// once) or one at the foot of any email the hub sent them. Opening the link (a button, so that mail scanners following
/// links use nothing) starts a short session in a cookie; the choices page shows every brand that knows the address and
/// saves each change through the consent core. No JavaScript, no personal data in any address.
/// </summary>
public static class PreferencePages
{
    public const string Path = "/preferences";
    public const string ChoicesPath = "/preferences/choices";
    public const string SignOutPath = "/preferences/sign-out";
    public const string LinkPrefix = "/preferences/link/";
    public const string CookieName = "consenthub-preferences";

    public static string LinkUrl(PublicAddressOptions address, string token) => $"{address.PublicBaseUrl.TrimEnd('/')}{LinkPrefix}{token}";

    public static IEndpointRouteBuilder MapPreferencePages(this IEndpointRouteBuilder app)
    {
        var pages = app.MapGroup(Path).AllowAnonymous().ExcludeFromDescription();
        pages.AddEndpointFilter(async (context, next) =>
            context.HttpContext.RequestServices.GetRequiredService<IOptions<PreferenceOptions>>().Value.Enabled ? await next(context) : Results.NotFound());
        // Antiforgery is checked in the handlers, so that a stale form gets a fresh page instead of a bare 400.
        pages.MapGet("", Ask);
        pages.MapPost("", RequestLinkAsync).DisableAntiforgery();
        pages.MapGet("/link/{token}", ShowLinkAsync);
        pages.MapPost("/link/{token}", OpenLinkAsync).DisableAntiforgery();
        pages.MapGet("/choices", ChoicesAsync);
        pages.MapPost("/choices", SaveAsync).DisableAntiforgery();
        pages.MapPost("/sign-out", SignOutAsync).DisableAntiforgery();
        return app;
    }

    // ---- asking for a link --------------------------------------------------------------------------------------------

    static IResult Ask(HttpContext http, IAntiforgery antiforgery) => Page(StatusCodes.Status200OK, PreferenceHtml.Request(TextsOf(http, null), Form(http, antiforgery)));

    static async Task<IResult> RequestLinkAsync(
        HttpContext http, IAntiforgery antiforgery, PreferenceLinkMailer mailer, IMemoryCache counters, IOptions<PreferenceOptions> options, CancellationToken ct)
    {
        var valid = await HtmlForms.IsValidPostAsync(http, antiforgery);
        var form = valid ? await http.Request.ReadFormAsync(ct) : null;
        var texts = TextsOf(http, form?["lang"].ToString());
        if (form is null)
            return Page(StatusCodes.Status400BadRequest, PreferenceHtml.Request(texts, Form(http, antiforgery), body: texts.FormStale));
        var typed = form["email"].ToString().Trim();
        if (typed.Length is 0 or > 254 || !MailAddresses.TryParse(typed, out _))
            return Page(StatusCodes.Status400BadRequest, PreferenceHtml.Request(texts, Form(http, antiforgery), error: texts.EmailInvalid, typed: typed.Length > 254 ? null : typed));
        if (!WithinClientLimit(http, counters, options.Value.RequestsPerClientPerHour))
            return Page(StatusCodes.Status429TooManyRequests, PreferenceHtml.TooMany(texts));
        // Queued whether the address is known or not: the answer, and its timing, are the same either way.
        mailer.Queue(new LinkRequest(typed, texts.Language));
        return Page(StatusCodes.Status200OK, PreferenceHtml.Sent(texts, options.Value.LinkMinutes));
    }

    static bool WithinClientLimit(HttpContext http, IMemoryCache counters, int perHour)
    {
        var client = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var count = counters.GetOrCreate($"preference-requests:{client}", entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1);
            return new StrongBox<int>();
        })!;
        return Interlocked.Increment(ref count.Value) <= perHour;
    }

    // ---- opening a link -----------------------------------------------------------------------------------------------

    static async Task<IResult> ShowLinkAsync(string token, HttpContext http, IAntiforgery antiforgery, PreferenceTokens tokens, ConsentDb db, CancellationToken ct)
    {
        var grant = tokens.OpenLink(token);
        var texts = TextsOf(http, grant?.Language);
        if (grant is null || await UsedAsync(db, grant, ct)) return LinkGone(http, antiforgery, texts);
        return Page(StatusCodes.Status200OK, PreferenceHtml.Open(texts, Form(http, antiforgery), $"{LinkPrefix}{Uri.EscapeDataString(token)}"));
    }

    static async Task<IResult> OpenLinkAsync(
        string token, HttpContext http, IAntiforgery antiforgery, PreferenceTokens tokens, ConsentDb db, TimeProvider time, IOptions<PreferenceOptions> options,
        CancellationToken ct)
    {
        var grant = tokens.OpenLink(token);
        var texts = TextsOf(http, grant?.Language);
        if (grant is null) return LinkGone(http, antiforgery, texts);
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return Page(StatusCodes.Status400BadRequest, PreferenceHtml.Open(texts, Form(http, antiforgery), $"{LinkPrefix}{Uri.EscapeDataString(token)}"));
        var now = time.Now();
        if (grant.Kind == PreferenceLinkKind.Requested && !await UseOnceAsync(db, grant, now, ct)) return LinkGone(http, antiforgery, texts);
        // A session never outlives the link that opened it.
        var until = Min(now.AddMinutes(options.Value.SessionMinutes), grant.ExpiresAt);
        http.Response.Cookies.Append(CookieName, tokens.Session(grant with { Language = texts.Language }, until), new CookieOptions
        {
            Path = Path, HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, IsEssential = true,
            Expires = new DateTimeOffset(until, TimeSpan.Zero),
        });
        return new SeeOther(ChoicesPath);
    }

    static async Task<bool> UsedAsync(ConsentDb db, PreferenceGrant grant, CancellationToken ct) =>
        grant.Kind == PreferenceLinkKind.Requested && await db.PreferenceLinkUses.AsNoTracking().AnyAsync(u => u.LinkId == grant.LinkId, ct);

    /// <summary>Records the link's one use; false when it was used before, here or on another instance.</summary>
    static async Task<bool> UseOnceAsync(ConsentDb db, PreferenceGrant grant, DateTime now, CancellationToken ct)
    {
        await db.PreferenceLinkUses.Where(u => u.ExpiresAt < now).ExecuteDeleteAsync(ct);
        db.PreferenceLinkUses.Add(new PreferenceLinkUse { LinkId = grant.LinkId, UsedAt = now, ExpiresAt = grant.ExpiresAt });
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException e) when (DbErrors.IsUniqueViolation(e))
        {
            db.ChangeTracker.Clear();
            return false;
        }
    }

    // ---- the choices --------------------------------------------------------------------------------------------------

    static async Task<IResult> ChoicesAsync(HttpContext http, IAntiforgery antiforgery, PreferenceTokens tokens, PersonPreferences people, IOptions<PreferenceOptions> options, CancellationToken ct)
    {
        if (SessionOf(http, tokens) is not { } grant) return SessionEnded(http, antiforgery, options.Value);
        var texts = TextsOf(http, grant.Language);
        var notice = http.Request.Query["done"].ToString() switch
        {
            "saved" => texts.Saved,
            "unchanged" => texts.Unchanged,
            "failed" => texts.NotSaved,
            _ => null,
        };
        return Page(StatusCodes.Status200OK, PreferenceHtml.Choices(texts, Form(http, antiforgery), await people.SectionsAsync(grant.EmailKey, ct), notice));
    }

    static async Task<IResult> SaveAsync(HttpContext http, IAntiforgery antiforgery, PreferenceTokens tokens, PersonPreferences people, IOptions<PreferenceOptions> options, CancellationToken ct)
    {
        if (SessionOf(http, tokens) is not { } grant) return SessionEnded(http, antiforgery, options.Value);
        var texts = TextsOf(http, grant.Language);
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return Page(StatusCodes.Status400BadRequest, PreferenceHtml.Choices(texts, Form(http, antiforgery), await people.SectionsAsync(grant.EmailKey, ct), texts.FormStale));
        var form = await http.Request.ReadFormAsync(ct);
        SaveResult result;
        switch (form["action"].ToString())
        {
            case "save":
                var choices = form["section"].OfType<string>().Distinct(StringComparer.Ordinal).Select(key => new SectionChoice(key,
                    Values(form, $"{key}.shown-consent"), Values(form, $"{key}.consent"), Values(form, $"{key}.shown-channel"), Values(form, $"{key}.channel"))).ToList();
                result = await people.SaveAsync(grant, choices, ct);
                break;
            case "withdraw-all":
                result = await people.WithdrawAllAsync(grant, ct);
                break;
            default:
                return Page(StatusCodes.Status400BadRequest, PreferenceHtml.Choices(texts, Form(http, antiforgery), await people.SectionsAsync(grant.EmailKey, ct), texts.FormStale));
        }
        // Post, redirect, get: reloading the answer does not send the form again.
        return new SeeOther($"{ChoicesPath}?done={result.ToString().ToLowerInvariant()}");
    }

    static async Task<IResult> SignOutAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery)) return new SeeOther(ChoicesPath);
        http.Response.Cookies.Delete(CookieName, new CookieOptions { Path = Path, Secure = http.Request.IsHttps, SameSite = SameSiteMode.Strict });
        return new SeeOther(Path);
    }

    static HashSet<string> Values(IFormCollection form, string name) => form[name].OfType<string>().ToHashSet(StringComparer.Ordinal);

    static PreferenceGrant? SessionOf(HttpContext http, PreferenceTokens tokens) => tokens.OpenSession(http.Request.Cookies[CookieName]);

    // ---- answers ------------------------------------------------------------------------------------------------------

    /// <summary>The page's language: <c>?lang=</c>, else the link's or session's, else the browser's, else English.</summary>
    static PreferenceTexts TextsOf(HttpContext http, string? fallback) =>
        PreferenceTexts.For(PreferenceTexts.Supported(http.Request.Query["lang"].ToString()) ?? PreferenceTexts.Supported(fallback)
            ?? PreferenceTexts.FromAcceptLanguage(http.Request.Headers.AcceptLanguage.ToString()));

    static FormToken Form(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new FormToken(tokens.FormFieldName, tokens.RequestToken!);
    }

    static IResult LinkGone(HttpContext http, IAntiforgery antiforgery, PreferenceTexts texts) =>
        Page(StatusCodes.Status410Gone, PreferenceHtml.Gone(texts, Form(http, antiforgery), texts.LinkGoneHeading, texts.LinkGoneBody));

    static IResult SessionEnded(HttpContext http, IAntiforgery antiforgery, PreferenceOptions options)
    {
        var texts = TextsOf(http, null);
        return Page(StatusCodes.Status401Unauthorized,
            PreferenceHtml.Gone(texts, Form(http, antiforgery), texts.SessionEndedHeading, texts.WithMinutes(texts.SessionEndedBody, options.SessionMinutes)));
    }

    static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    static IResult Page(int status, string html) => new HtmlPage(status, html, LandingPages.ContentSecurityPolicy);
}
