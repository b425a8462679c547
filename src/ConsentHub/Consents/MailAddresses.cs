using System.Diagnostics.CodeAnalysis;
using ConsentHub.Auth;
using MimeKit;

namespace ConsentHub.Consents;

public static class MailAddresses
{
    /// <summary>
    /// One mailbox with a local part and a domain. MimeKit on its own also accepts a bare local part
    /// ("bob"), which no server could deliver to from here.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out MailboxAddress? mailbox)
    {
        mailbox = null;
        if (string.IsNullOrWhiteSpace(text) || !MailboxAddress.TryParse(text.Trim(), out var parsed)) return false;
        if (parsed.Address.Length > 254 || string.IsNullOrEmpty(parsed.LocalPart) || string.IsNullOrEmpty(parsed.Domain)) return false;
        mailbox = parsed;
        return true;
    }

    /// <summary>
    /// SHA-256 (lowercase hex) of the trimmed, lower-cased address: what logs and the ledger record instead
    /// of the address, so the same person hashes the same whatever the capitalisation.
    /// </summary>
    public static string Hash(string address) => Secrets.Sha256Hex(Key(address) ?? "");

    /// <summary>The address trimmed and lower-cased (null when blank): what hashes and built-in matching compare.</summary>
    public static string? Key(string? address) => string.IsNullOrWhiteSpace(address) ? null : address.Trim().ToLowerInvariant();
}
