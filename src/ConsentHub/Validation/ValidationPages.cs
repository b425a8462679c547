using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Validation;

/// <summary>The landing page a validation email links to: one Confirm button, no JavaScript.</summary>
public static class ValidationPages
{
    public static IEndpointRouteBuilder MapValidationPages(this IEndpointRouteBuilder app)
    {
        var pages = app.MapGroup("/validation").AllowAnonymous().ExcludeFromDescription();
        pages.MapGet("/{token}", ShowAsync);
        // Antiforgery is checked in the handler, so that a stale form gets a fresh page instead of a bare 400.
        pages.MapPost("/{token}", ConfirmAsync).DisableAntiforgery();
        return app;
    }

    static Task<IResult> ShowAsync(string token, HttpContext http, ConsentDb db, IAntiforgery antiforgery, TimeProvider time, CancellationToken ct) =>
        PageAsync(token, http, db, antiforgery, time, StatusCodes.Status200OK, ct);

    /// <summary>The page the link shows now; a confirm page with a fresh form answers <paramref name="formStatus"/>.</summary>
    static async Task<IResult> PageAsync(
        string token, HttpContext http, ConsentDb db, IAntiforgery antiforgery, TimeProvider time, int formStatus, CancellationToken ct)
    {
        var found = await FindAsync(db, token, ct);
        if (found is null) return Page(StatusCodes.Status404NotFound, LandingPages.NotFound(DefaultTexts.For(null)));
        var (validation, request) = found.Value;
        var branding = await ValidationContent.BrandingAsync(db, validation.Context, ct);
        var texts = await ValidationContent.TextsAsync(db, validation.Context, validation.Language, ct);
        return ValidationService.Check(validation, time.Now()) switch
        {
            ValidationService.ConfirmOutcome.AlreadyUsed => Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.AlreadyUsed)),
            ValidationService.ConfirmOutcome.Expired => Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.Expired)),
            _ => ConfirmPage(http, antiforgery, token, formStatus, branding, texts, ValidationContent.ItemsOf(request)),
        };
    }

    static IResult ConfirmPage(
        HttpContext http, IAntiforgery antiforgery, string token, int status, Branding branding, ValidationTexts texts, IReadOnlyList<ValidationItem> items)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return Page(status,
            LandingPages.Confirm(branding, texts, items, $"/validation/{Uri.EscapeDataString(token)}", tokens.FormFieldName, tokens.RequestToken!));
    }

    static async Task<IResult> ConfirmAsync(
        string token, HttpContext http, ConsentDb db, IAntiforgery antiforgery, ValidationService validations, TimeProvider time, CancellationToken ct)
    {
        // A forged, stale or unreadable form changes nothing: 400 with the page and a fresh form to press again.
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return await PageAsync(token, http, db, antiforgery, time, StatusCodes.Status400BadRequest, ct);
        var (outcome, validation) = await validations.ConfirmAsync(token, http.Connection.RemoteIpAddress?.ToString(),
            http.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null, ct);
        if (validation is null) return Page(StatusCodes.Status404NotFound, LandingPages.NotFound(DefaultTexts.For(null)));
        var branding = await ValidationContent.BrandingAsync(db, validation.Context, ct);
        var texts = await ValidationContent.TextsAsync(db, validation.Context, validation.Language, ct);
        return outcome switch
        {
            ValidationService.ConfirmOutcome.Confirmed => Page(StatusCodes.Status200OK, LandingPages.Thanks(branding, texts)),
            ValidationService.ConfirmOutcome.AlreadyUsed => Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.AlreadyUsed)),
            _ => Page(StatusCodes.Status410Gone, LandingPages.Gone(branding, texts, GoneReason.Expired)),
        };
    }

    static async Task<(ValidationRequest, Consents.ChangeRequest)?> FindAsync(ConsentDb db, string token, CancellationToken ct)
    {
        if (token.Length is < 20 or > 100) return null;
        var hash = ValidationContent.HashOf(token);
        var found = await db.ValidationTokens.AsNoTracking().SingleOrDefaultAsync(t => t.Hash == hash, ct);
        if (found is null) return null;
        var validation = await db.Validations.AsNoTracking().SingleAsync(v => v.Id == found.ValidationId, ct);
        var request = await db.ChangeRequests.AsNoTracking().SingleAsync(c => c.Id == validation.ChangeRequestId, ct);
        return (validation, request);
    }

    static IResult Page(int status, string html) => new HtmlPage(status, html, LandingPages.ContentSecurityPolicy);
}
