namespace ConsentHub.Validation;

/// <summary>
/// One item as the person reads it, the same in the email and on the landing page: the description the source system
/// sent (what the person agrees to), or for a channel its name, the long description if any, and granted/withdrawn.
/// </summary>
sealed record ItemWording(string Title, string? Details, string Status, bool Granted)
{
    public static IReadOnlyList<ItemWording> Consents(ValidationTexts texts, IReadOnlyList<ValidationItem> items) =>
        [.. items.Where(i => i.Kind == ValidationItemKind.Consent).Select(i => Of(texts, i))];

    public static IReadOnlyList<ItemWording> Channels(ValidationTexts texts, IReadOnlyList<ValidationItem> items) =>
        [.. items.Where(i => i.Kind == ValidationItemKind.Channel).Select(i => Of(texts, i))];

    static ItemWording Of(ValidationTexts texts, ValidationItem item)
    {
        var description = Present(item.Description);
        var longDescription = Present(item.LongDescription);
        var title = item.Kind == ValidationItemKind.Channel
            ? DefaultTexts.ChannelName(item.Code, texts.Language)
            : description ?? item.Code;
        // A channel's own description, when a source system sends one, is shown under its name.
        var details = item.Kind == ValidationItemKind.Channel
            ? string.Join(" ", new[] { description, longDescription }.OfType<string>()) is { Length: > 0 } both ? both : null
            : longDescription;
        return new(title, details, item.Flag ? texts.Granted : texts.Withdrawn, item.Flag);
    }

    static string? Present(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
