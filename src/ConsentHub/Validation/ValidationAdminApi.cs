using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Validation;

public sealed record BrandingInput
{
    public string? DisplayName { get; init; }
    public string? PrimaryColour { get; init; }
    public string? AccentColour { get; init; }
    public string? LogoUrl { get; init; }
    public string? SenderName { get; init; }
}

public sealed record BrandingView(
    string Context, string DisplayName, string PrimaryColour, string AccentColour, string? LogoUrl, string SenderName,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record TextsView(
    string Context, string Language, ValidationTexts Texts,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record MailList(
    int Count, IReadOnlyList<MailDropEntry> Messages,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>Branding and words per context, and the embedded mail drop. Admin role only.</summary>
public static partial class ValidationAdminApi
{
    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex Colour();

    public static IEndpointRouteBuilder MapValidationAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Validation").RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPut("/contexts/{context}/branding", PutBrandingAsync)
            .WithName("PutContextBranding").WithSummary("Display name, colours, logo and sender name of a context's emails and landing page.")
            .Accepts<BrandingInput>("application/json")
            .Produces<BrandingView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/contexts/{context}/branding", GetBrandingAsync)
            .WithName("GetContextBranding").WithSummary("A context's branding.")
            .Produces<BrandingView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/contexts/{context}/texts/{language}", PutTextsAsync)
            .WithName("PutContextTexts").WithSummary("A context's own words for one language; members left out keep the built-in words.")
            .Accepts<Dictionary<string, string>>("application/json")
            .Produces<TextsView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/contexts/{context}/texts/{language}", GetTextsAsync)
            .WithName("GetContextTexts").WithSummary("The words a context's validation emails and pages use in one language.")
            .Produces<TextsView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/mail", ListMail)
            .WithName("ListMailDrop").WithSummary("Emails written to data/mail/ when no SMTP server is configured, newest first.")
            .Produces<MailList>(StatusCodes.Status200OK, Hal.MediaType);
        admin.MapGet("/mail/{file}", GetMail)
            .WithName("GetMailDropMessage").WithSummary("One email of the mail drop, as message/rfc822.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> PutBrandingAsync(string context, HttpRequest http, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var row = await FindContextAsync(db, context, tracked: true, ct);
        if (row is null) return Problems.NotFound($"No context '{Names.Normalise(context)}'.");
        var body = await JsonBody.ReadAsync<BrandingInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var input = body.Value!;
        var v = new List<Violation>();
        if (input.PrimaryColour is { } primary && !Colour().IsMatch(primary)) v.Add(new("primaryColour", "colour", "A colour is #RRGGBB."));
        if (input.AccentColour is { } accent && !Colour().IsMatch(accent)) v.Add(new("accentColour", "colour", "A colour is #RRGGBB."));
        if (input.LogoUrl is { } logo && !IsLogoUrl(logo))
            v.Add(new("logoUrl", "https-url", "logoUrl must be an absolute https URL (http only for localhost) of at most 500 characters."));
        if (input.DisplayName is { Length: > 200 }) v.Add(new("displayName", "max-length", "At most 200 characters."));
        if (input.SenderName is { Length: > 200 }) v.Add(new("senderName", "max-length", "At most 200 characters."));
        if (v.Count > 0) return Problems.Invalid(v);

        row.DisplayName = input.DisplayName;
        row.PrimaryColour = input.PrimaryColour;
        row.AccentColour = input.AccentColour;
        row.LogoUrl = input.LogoUrl;
        row.SenderName = input.SenderName;
        row.UpdatedAt = time.Now();
        await db.SaveChangesAsync(ct);
        return Hal.Ok(View(row));
    }

    static async Task<IResult> GetBrandingAsync(string context, ConsentDb db, CancellationToken ct) =>
        await FindContextAsync(db, context, tracked: false, ct) is { } row ? Hal.Ok(View(row)) : Problems.NotFound($"No context '{Names.Normalise(context)}'.");

    static async Task<IResult> PutTextsAsync(string context, string language, HttpRequest http, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var row = await FindContextAsync(db, context, tracked: false, ct);
        if (row is null) return Problems.NotFound($"No context '{Names.Normalise(context)}'.");
        if (!DefaultTexts.Languages.Contains(language))
            return Problems.Invalid("language", "supported-language", $"Texts exist for {string.Join(", ", DefaultTexts.Languages)}.");
        var body = await JsonBody.ReadAsync<Dictionary<string, JsonElement>>(http, ct);
        if (body.Error is not null) return body.Error;
        var known = JsonSerializer.SerializeToNode(DefaultTexts.For(language), Hal.Json)!.AsObject().Select(p => p.Key).ToHashSet();
        var overrides = new JsonObject();
        var v = new List<Violation>();
        foreach (var (name, value) in body.Value!)
        {
            if (!known.Contains(name) || name == "language") v.Add(new(name, "unknown-member", $"'{name}' is not one of the texts: {string.Join(", ", known.Where(k => k != "language"))}."));
            else if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 and <= 2000 })
                v.Add(new(name, "text", "Each text is a string of 1 to 2000 characters."));
            else overrides[name] = value.GetString();
        }
        if (v.Count > 0) return Problems.Invalid(v);

        var existing = await db.ContextTexts.SingleOrDefaultAsync(t => t.Context == row.Name && t.Language == language, ct);
        if (existing is null) db.ContextTexts.Add(new ContextTexts { Context = row.Name, Language = language, Overrides = overrides.ToJsonString(), UpdatedAt = time.Now() });
        else { existing.Overrides = overrides.ToJsonString(); existing.UpdatedAt = time.Now(); }
        await db.SaveChangesAsync(ct);
        return await GetTextsAsync(context, language, db, ct);
    }

    static async Task<IResult> GetTextsAsync(string context, string language, ConsentDb db, CancellationToken ct)
    {
        var row = await FindContextAsync(db, context, tracked: false, ct);
        if (row is null) return Problems.NotFound($"No context '{Names.Normalise(context)}'.");
        if (!DefaultTexts.Languages.Contains(language)) return Problems.NotFound($"No texts for language '{language}'.");
        var texts = await ValidationContent.TextsAsync(db, row.Name, language, ct);
        return Hal.Ok(new TextsView(row.Name, language, texts,
            new Dictionary<string, HalLink> { ["self"] = new($"/admin/contexts/{row.Name}/texts/{language}") }));
    }

    static IResult ListMail(IOptions<HubOptions> hub)
    {
        var messages = MailDrop.List(Path.GetFullPath(hub.Value.DataDirectory));
        return Hal.Ok(new MailList(messages.Count, messages, new Dictionary<string, HalLink> { ["self"] = new("/admin/mail") }));
    }

    static IResult GetMail(string file, IOptions<HubOptions> hub) =>
        MailDrop.PathOf(Path.GetFullPath(hub.Value.DataDirectory), file) is { } path
            ? Results.File(path, "message/rfc822", file)
            : Problems.NotFound($"No message '{file}' in the mail drop.");

    static bool IsLogoUrl(string value) =>
        value.Length <= 500 && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    static Task<ConsentContext?> FindContextAsync(ConsentDb db, string context, bool tracked, CancellationToken ct)
    {
        var name = Names.Normalise(context);
        var query = tracked ? db.Contexts : db.Contexts.AsNoTracking();
        return query.SingleOrDefaultAsync(c => c.Name == name, ct);
    }

    static BrandingView View(ConsentContext row)
    {
        var branding = ValidationContent.BrandingOf(row);
        return new BrandingView(row.Name, branding.DisplayName, branding.PrimaryColour, branding.AccentColour, branding.LogoUrl, branding.SenderName,
            new Dictionary<string, HalLink> { ["self"] = new($"/admin/contexts/{row.Name}/branding") });
    }
}
