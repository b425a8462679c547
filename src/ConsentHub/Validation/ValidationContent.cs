using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Validation;

/// <summary>What a validation shows: the context's branding and words, and the items of the change.</summary>
public static class ValidationContent
{
    static readonly JsonSerializerOptions TextsJson = new(JsonSerializerDefaults.Web);

    public static Branding BrandingOf(ConsentContext context)
    {
        var fallback = Branding.Default(context.Name);
        var name = context.DisplayName ?? context.Name;
        return new Branding(name, context.PrimaryColour ?? fallback.PrimaryColour, context.AccentColour ?? fallback.AccentColour,
            context.LogoUrl, context.SenderName ?? name);
    }

    public static async Task<Branding> BrandingAsync(ConsentDb db, string context, CancellationToken ct) =>
        await db.Contexts.AsNoTracking().SingleOrDefaultAsync(c => c.Name == context, ct) is { } row
            ? BrandingOf(row)
            : Branding.Default(context);

    /// <summary>The built-in words of the language, with the context's own over them where it has any.</summary>
    public static async Task<ValidationTexts> TextsAsync(ConsentDb db, string context, string? language, CancellationToken ct)
    {
        var defaults = DefaultTexts.For(language);
        var overrides = await db.ContextTexts.AsNoTracking()
            .SingleOrDefaultAsync(t => t.Context == context && t.Language == defaults.Language, ct);
        return overrides is null ? defaults : Overlay(defaults, overrides.Overrides);
    }

    public static ValidationTexts Overlay(ValidationTexts defaults, string overridesJson)
    {
        var merged = JsonSerializer.SerializeToNode(defaults, TextsJson)!.AsObject();
        foreach (var (name, value) in JsonNode.Parse(overridesJson)!.AsObject())
            if (value is not null && merged.ContainsKey(name) && name != "language") merged[name] = value.DeepClone();
        return merged.Deserialize<ValidationTexts>(TextsJson)!;
    }

    /// <summary>The consents and channels of a stored change, in the words the source system sent.</summary>
    public static IReadOnlyList<ValidationItem> ItemsOf(ChangeRequest request)
    {
        var data = JsonSerializer.Deserialize<SubscriptionData>(request.Data, SubscriptionChanges.StoredJson)!;
        var consents = (data.Consent?.ConsentAttributes ?? []).Select(c =>
            new ValidationItem(ValidationItemKind.Consent, c.ConsentCode!, c.ConsentFlag ?? false, c.ConsentDescription, c.ConsentLongDescription));
        var channels = (data.Channel?.ChannelAttributes ?? []).Select(c =>
            new ValidationItem(ValidationItemKind.Channel, c.ChannelCode!, c.ChannelFlag ?? false, null, null));
        return [.. consents, .. channels];
    }

    /// <summary>A fresh link token (256 random bits, base64url) and the SHA-256 under which it is stored.</summary>
    public static (string Token, string Hash) NewToken()
    {
        var token = Secrets.Generate(32);
        return (token, HashOf(token));
    }

    public static string HashOf(string token) => Secrets.Sha256Hex(token);
}
