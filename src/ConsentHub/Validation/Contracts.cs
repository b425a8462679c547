namespace ConsentHub.Validation;

// The shapes shared by validation's parts: email and landing-page rendering, and the mail sender.

/// <summary>How a context presents itself to people: in emails and on the landing page.</summary>
public sealed record Branding(string DisplayName, string PrimaryColour, string AccentColour, string? LogoUrl, string SenderName)
{
    public static Branding Default(string context) => new(context, "#1f3a5f", "#e8eef5", null, context);
}

/// <summary>One line of what the person is asked to confirm, in the words the source system sent.</summary>
public sealed record ValidationItem(ValidationItemKind Kind, string Code, bool Flag, string? Description, string? LongDescription);

public enum ValidationItemKind
{
    Consent,
    Channel,
}

/// <summary>The words of one context and language. Every member is plain text; renderers escape it.</summary>
public sealed record ValidationTexts
{
    public required string Language { get; init; }
    public required string Subject { get; init; }
    public required string ReminderSubject { get; init; }
    public required string Heading { get; init; }
    public required string Intro { get; init; }
    public required string ReminderIntro { get; init; }
    public required string ConfirmLabel { get; init; }
    public required string Granted { get; init; }
    public required string Withdrawn { get; init; }
    public required string ChannelsHeading { get; init; }
    public required string ConsentsHeading { get; init; }
    public required string IgnoreNote { get; init; }
    /// <summary>The email confirming an applied change the source system asked to notify (<c>notify: true</c>).</summary>
    public required string NotificationSubject { get; init; }
    public required string NotificationHeading { get; init; }
    public required string NotificationIntro { get; init; }
    public required string NotificationNote { get; init; }
    public required string ThanksHeading { get; init; }
    public required string ThanksBody { get; init; }
    public required string NotFoundHeading { get; init; }
    public required string NotFoundBody { get; init; }
    public required string ExpiredHeading { get; init; }
    public required string ExpiredBody { get; init; }
    public required string UsedHeading { get; init; }
    public required string UsedBody { get; init; }
    /// <summary>The consent reminder: the person is asked to revisit choices made long ago, and keep or change them.</summary>
    public required string RevisitSubject { get; init; }
    public required string RevisitHeading { get; init; }
    public required string RevisitIntro { get; init; }
    public required string RevisitKeepLabel { get; init; }
    public required string RevisitChangeHeading { get; init; }
    public required string RevisitSaveLabel { get; init; }
}

/// <summary>An email ready to send: both parts already rendered and escaped.</summary>
public sealed record OutgoingMail(string To, string FromName, string Subject, string Html, string Text);

public abstract record SendResult
{
    public sealed record Sent(string MessageId) : SendResult;

    /// <summary>Worth retrying later: the server was unreachable, timed out, or answered 4xx.</summary>
    public sealed record Transient(string Error) : SendResult;

    /// <summary>Never worth retrying: a 5xx answer, or an address that cannot be an address.</summary>
    public sealed record Permanent(string Error, int? SmtpStatus) : SendResult;
}

/// <summary>
/// The line at the foot of the emails the hub sends a person (validation, reminder, notification): a link to the
/// preference centre, where they see and change all their choices. The Preferences feature issues it; without it the
/// emails have no such line.
/// </summary>
public interface IPreferenceCentreLinks
{
    /// <summary>A link that proves <paramref name="address"/> to the preference centre, worded in the person's language; null when none is issued.</summary>
    PreferenceCentreLink? For(string address, string? language);
}

/// <summary>The preference centre's address for one person and the words that lead to it.</summary>
public sealed record PreferenceCentreLink(string Url, string Label);
