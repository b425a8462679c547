using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Validation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Reminders;

/// <summary>
/// The page a reminder email links to: the person's current choices, "keep my choices" in one click, or checkboxes to
/// change them. No JavaScript; the unguessable token in the address is the person's credential, used once.
/// </summary>
public static class ReminderPages
{
    public const string PathPrefix = "/reminders/";

    public static IEndpointRouteBuilder MapReminderPages(this IEndpointRouteBuilder app)
    {
        var pages = app.MapGroup("/reminders").AllowAnonymous().ExcludeFromDescription();
        pages.MapGet("/{token}", ShowAsync);
        // Antiforgery is checked in the handler, so that a stale form gets a fresh page instead of a bare 400.
        pages.MapPost("/{token}", AnswerAsync).DisableAntiforgery();
        return app;
    }

    static Task<IResult> ShowAsync(string token, HttpContext http, ConsentDb db, IAntiforgery antiforgery, TimeProvider time, CancellationToken ct) =>
        PageAsync(token, http, db, antiforgery, time, StatusCodes.Status200OK, ct);

    static async Task<IResult> PageAsync(string token, HttpContext http, ConsentDb db, IAntiforgery antiforgery, TimeProvider time, int status, CancellationToken ct)
    {
        var reminder = await FindAsync(db, token, ct);
        if (reminder is null) return Page(StatusCodes.Status404NotFound, LandingPages.NotFound(DefaultTexts.For(null)));
        var branding = await ValidationContent.BrandingAsync(db, reminder.Context, ct);
        var texts = await ValidationContent.TextsAsync(db, reminder.Context, reminder.Language, ct);
        if (reminder.State is not (ReminderStates.Sent or ReminderStates.Delivered))
            return Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.AlreadyUsed));
        if (reminder.TokenExpiresAt < time.Now()) return Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.Expired));
        var tokens = antiforgery.GetAndStoreTokens(http);
        var items = await ReminderService.ItemsAsync(db, reminder, ct);
        return Page(status, LandingPages.Revisit(branding, texts, items, $"{PathPrefix}{Uri.EscapeDataString(token)}", tokens.FormFieldName, tokens.RequestToken!));
    }

    static async Task<IResult> AnswerAsync(
        string token, HttpContext http, ConsentDb db, IAntiforgery antiforgery, ReminderService reminders, TimeProvider time, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return await PageAsync(token, http, db, antiforgery, time, StatusCodes.Status400BadRequest, ct);
        var reminder = await FindAsync(db, token, ct);
        if (reminder is null) return Page(StatusCodes.Status404NotFound, LandingPages.NotFound(DefaultTexts.For(null)));
        var branding = await ValidationContent.BrandingAsync(db, reminder.Context, ct);
        var texts = await ValidationContent.TextsAsync(db, reminder.Context, reminder.Language, ct);
        if (reminder.TokenExpiresAt < time.Now()) return Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.Expired));
        var form = await http.Request.ReadFormAsync(ct);
        var action = form["action"].ToString();
        if (action is not ("keep" or "change")) return await PageAsync(token, http, db, antiforgery, time, StatusCodes.Status400BadRequest, ct);
        IReadOnlySet<string>? chosen = action == "keep" ? null : form["consent"].Where(v => v is not null).Select(v => v!).ToHashSet(StringComparer.Ordinal);
        var answered = await reminders.AnswerAsync(reminder.Id, chosen, "person", ct);
        return answered
            ? Page(StatusCodes.Status200OK, LandingPages.Thanks(branding, texts))
            : Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.AlreadyUsed));
    }

    /// <summary>The reminder of a link, whatever its state.</summary>
    static async Task<Reminder?> FindAsync(ConsentDb db, string token, CancellationToken ct)
    {
        if (token.Length is < 20 or > 100) return null;
        var hash = ValidationContent.HashOf(token);
        return await db.Reminders.AsNoTracking().SingleOrDefaultAsync(r => r.TokenHash == hash, ct);
    }

    static IResult Page(int status, string html) => new HtmlPage(status, html, LandingPages.ContentSecurityPolicy);
}
