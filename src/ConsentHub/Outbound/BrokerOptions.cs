using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Outbound;

/// <summary>
/// The message broker change data capture publishes to (<c>ConsentHub:Broker</c>). Without <see cref="Uri"/> the hub
/// runs without one and the CDC routes answer 409.
/// </summary>
public sealed class BrokerOptions : IValidatableObject
{
    public const string Section = "ConsentHub:Broker";
    public const string UriKey = Section + ":Uri";

    /// <summary><c>amqp://user:password@host:port/vhost</c> (or <c>amqps://</c>). Its password is never logged or answered.</summary>
    public string? Uri { get; set; }

    /// <summary>Whether this instance runs the publisher (every instance does unless told not to).</summary>
    public bool PublisherEnabled { get; set; } = true;

    /// <summary>Change-log rows read per page; a page is published, confirmed, then the cursor moves past it.</summary>
    [Range(1, 5000)] public int PageSize { get; set; } = 500;

    /// <summary>How often an idle publisher looks for rows committed by other instances.</summary>
    [Range(20, 60_000)] public int PollMilliseconds { get; set; } = 250;

    /// <summary>How long a publisher's claim on a subscription holds without renewal.</summary>
    [Range(2, 3600)] public int LeaseSeconds { get; set; } = 30;

    /// <summary>How long a page's publisher confirms may take before the page counts as failed.</summary>
    [Range(1, 600)] public int ConfirmTimeoutSeconds { get; set; } = 15;

    /// <summary>The longest wait between retries after a failure (the first is a second, doubling).</summary>
    [Range(1, 3600)] public int MaxBackoffSeconds { get; set; } = 30;

    public bool Configured => !string.IsNullOrWhiteSpace(Uri);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Configured) yield break;
        // The message names the rule, never the value: it holds a password.
        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps") || uri.Host.Length == 0)
            yield return new ValidationResult($"{UriKey} must be an AMQP URI: amqp://user:password@host:port/vhost (or amqps://).", [nameof(Uri)]);
    }

    /// <summary>Text with the URI's password taken out, for anything a log, a problem or a status may show.</summary>
    public string Redact(string text)
    {
        if (!Configured || !System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri)) return text;
        var userInfo = uri.UserInfo;
        var colon = userInfo.IndexOf(':');
        if (colon < 0 || colon == userInfo.Length - 1) return text;
        var password = userInfo[(colon + 1)..];
        text = text.Replace(password, "***", StringComparison.Ordinal);
        var decoded = System.Uri.UnescapeDataString(password);
        return decoded.Length > 0 ? text.Replace(decoded, "***", StringComparison.Ordinal) : text;
    }
}
