using System.Net.Sockets;
using ConsentHub.Consents;
using ConsentHub.Data;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Utils;

namespace ConsentHub.Validation;

/// <summary>
/// Sends one rendered email over SMTP, or into the mail drop when no host is configured, and says whether a
/// failure is worth retrying. Never logs the password, the bodies or the recipient (only a hash prefix).
/// </summary>
public sealed class MailSender(IOptions<SmtpOptions> smtp, IOptions<HubOptions> hub, TimeProvider time, ILogger<MailSender> logger)
{
    public async Task<SendResult> SendAsync(OutgoingMail mail, CancellationToken ct)
    {
        if (!MailAddresses.TryParse(mail.To, out var to))
        {
            logger.LogWarning("Mail to recipient {RecipientHash} refused: not a valid address", HashPrefix(mail.To));
            return new SendResult.Permanent("invalid address: not a single mailbox with a local part and a domain", null);
        }

        var options = smtp.Value;
        if (!MailAddresses.TryParse(options.From, out var from))
            throw new InvalidOperationException($"{SmtpOptions.Section}:From is not an email address."); // validated on start
        // The sender's domain rather than this machine's name: ids stay unique without revealing the host.
        var messageId = MimeUtils.GenerateMessageId(from.Domain);
        using var message = Build(mail, from, to, messageId);
        return string.IsNullOrWhiteSpace(options.Host)
            ? await DropAsync(message, messageId, to.Address, ct)
            : await DeliverAsync(message, messageId, to.Address, options.Host, options, ct);
    }

    MimeMessage Build(OutgoingMail mail, MailboxAddress from, MailboxAddress to, string messageId)
    {
        var body = new BodyBuilder { TextBody = mail.Text, HtmlBody = mail.Html };
        var message = new MimeMessage
        {
            Subject = mail.Subject,
            Date = time.GetUtcNow(),
            MessageId = messageId,
            Body = body.ToMessageBody(),
        };
        message.From.Add(new MailboxAddress(mail.FromName, from.Address));
        message.To.Add(new MailboxAddress(to.Name, to.Address));
        return message;
    }

    async Task<SendResult> DropAsync(MimeMessage message, string messageId, string recipient, CancellationToken ct)
    {
        try
        {
            var file = await MailDrop.WriteAsync(hub.Value.DataDirectory, message, messageId, ct);
            logger.LogInformation("Mail {MessageId} to recipient {RecipientHash} written to the mail drop as {FileName}",
                messageId, HashPrefix(recipient), file);
            return new SendResult.Sent(messageId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk or a read-only directory is the operator's to fix; the mail goes out once they have.
            logger.LogWarning(e, "Mail {MessageId} could not be written to the mail drop", messageId);
            return new SendResult.Transient($"mail drop not writable: {e.Message}");
        }
    }

    async Task<SendResult> DeliverAsync(MimeMessage message, string messageId, string recipient, string host, SmtpOptions options, CancellationToken ct)
    {
        using var client = new SmtpClient { Timeout = options.TimeoutSeconds * 1000 };
        try
        {
            await client.ConnectAsync(host, options.Port, SocketOptions(options.TlsMode), ct);
            if (!string.IsNullOrEmpty(options.User)) await client.AuthenticateAsync(options.User, options.Password ?? "", ct);
            await client.SendAsync(message, ct);
        }
        catch (Exception e) when (Classify(e, ct) is { } failure)
        {
            logger.LogWarning("Mail {MessageId} to recipient {RecipientHash} via {Host}:{Port} failed ({Outcome}): {Error}",
                messageId, HashPrefix(recipient), options.Host, options.Port, failure.GetType().Name, Redact(e.Message, recipient));
            if (e is SmtpCommandException) await QuitQuietlyAsync(client);
            return Redacted(failure, recipient);
        }

        // The server has accepted the message: a failing QUIT must not turn it into a retry and a duplicate.
        await QuitQuietlyAsync(client);
        logger.LogInformation("Mail {MessageId} to recipient {RecipientHash} accepted by {Host}:{Port}",
            messageId, HashPrefix(recipient), options.Host, options.Port);
        return new SendResult.Sent(messageId);
    }

    /// <summary>Permanent only when retrying this message cannot help; null lets the exception through.</summary>
    static SendResult? Classify(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException when ct.IsCancellationRequested => null,
        // A refused sender or a demand to authenticate is the operator's configuration, not this person's
        // address: retry, so the mail goes out once the configuration is fixed.
        SmtpCommandException { ErrorCode: SmtpErrorCode.SenderNotAccepted } or
        SmtpCommandException { StatusCode: SmtpStatusCode.AuthenticationRequired } => new SendResult.Transient(e.Message),
        SmtpCommandException command when (int)command.StatusCode >= 500 => new SendResult.Permanent(e.Message, (int)command.StatusCode),
        SmtpCommandException => new SendResult.Transient(e.Message),
        // Authentication and TLS failures (including STARTTLS required but not offered) are configuration
        // errors as well, and an unreachable or slow server may come back.
        SmtpProtocolException or IOException or SocketException or TimeoutException or OperationCanceledException
            or ServiceNotConnectedException or AuthenticationException or SslHandshakeException
            or System.Security.Authentication.AuthenticationException or NotSupportedException => new SendResult.Transient(e.Message),
        _ => null,
    };

    static SecureSocketOptions SocketOptions(SmtpTlsMode mode) => mode switch
    {
        SmtpTlsMode.None => SecureSocketOptions.None,
        SmtpTlsMode.StartTls => SecureSocketOptions.StartTls,
        SmtpTlsMode.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.StartTlsWhenAvailable,
    };

    static async Task QuitQuietlyAsync(SmtpClient client)
    {
        try
        {
            if (client.IsConnected) await client.DisconnectAsync(quit: true, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or ProtocolException or CommandException)
        {
            // The outcome is already decided; the connection is closed by Dispose either way.
        }
    }

    // Servers often echo the address in their replies ("550 <bob@example.com>: unknown"); the error ends up in
    // the change's status and the logs, which must not carry the address.
    static SendResult Redacted(SendResult failure, string recipient) => failure switch
    {
        SendResult.Permanent p => p with { Error = Redact(p.Error, recipient) },
        SendResult.Transient t => t with { Error = Redact(t.Error, recipient) },
        _ => failure,
    };

    static string Redact(string text, string recipient) =>
        text.Replace(recipient, "[recipient]", StringComparison.OrdinalIgnoreCase);

    static string HashPrefix(string? address) => MailAddresses.Hash(address ?? "")[..12];
}
