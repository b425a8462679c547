using System.ComponentModel.DataAnnotations;
using ConsentHub.Consents;

namespace ConsentHub.Validation;

/// <summary>How the hub reaches its mail server. No host means the embedded default: a mail drop under the data directory.</summary>
public sealed class SmtpOptions : IValidatableObject
{
    public const string Section = "ConsentHub:Smtp";

    /// <summary>The SMTP server; empty writes each email as an .eml file under {DataDirectory}/mail instead.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 25;

    public SmtpTlsMode TlsMode { get; set; } = SmtpTlsMode.StartTlsWhenAvailable;

    /// <summary>Authenticates when set.</summary>
    public string? User { get; set; }

    /// <summary>Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>The envelope and header sender address; the display name comes from the context's branding.</summary>
    [Required]
    public string From { get; set; } = "consenthub@localhost";

    /// <summary>How long one SMTP command may take before the attempt counts as a transient failure.</summary>
    [Range(1, 3600)]
    public int TimeoutSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A bad From would fail every send; better to refuse to start than to fail every validation.
        if (!MailAddresses.TryParse(From, out _))
            yield return new ValidationResult("From must be a single email address such as consenthub@example.com.", [nameof(From)]);
        if (!string.IsNullOrEmpty(Password) && string.IsNullOrEmpty(User))
            yield return new ValidationResult("Password is set but User is not.", [nameof(User)]);
    }
}

public enum SmtpTlsMode
{
    /// <summary>Plain text throughout.</summary>
    None,

    /// <summary>Plain connection upgraded with STARTTLS; fails when the server does not offer it.</summary>
    StartTls,

    /// <summary>STARTTLS when the server offers it, plain otherwise.</summary>
    StartTlsWhenAvailable,

    /// <summary>TLS from the first byte (implicit TLS, usually port 465).</summary>
    SslOnConnect,
}
