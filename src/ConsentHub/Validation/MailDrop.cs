using System.Globalization;
using MimeKit;

namespace ConsentHub.Validation;

public sealed record MailDropEntry(string FileName, string To, string Subject, DateTimeOffset Date, string MessageId);

/// <summary>
/// The embedded default when no SMTP host is configured: every email is an .eml file in {DataDirectory}/mail,
/// which any mail program opens, and which the admin API lists.
/// </summary>
public static class MailDrop
{
    const string Extension = ".eml";

    public static string DirectoryOf(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "mail");

    /// <summary>Writes the message under a temporary name and then moves it, so a reader never sees half a file.</summary>
    internal static async Task<string> WriteAsync(string dataDirectory, MimeMessage message, string messageId, CancellationToken ct)
    {
        var directory = Directory.CreateDirectory(DirectoryOf(dataDirectory)).FullName;
        var name = string.Create(CultureInfo.InvariantCulture, $"{message.Date.UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Sanitise(messageId)}{Extension}");
        var temp = Path.Combine(directory, $".{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await message.WriteToAsync(stream, ct);
                // Sent is reported only for a message that would survive a crash right after.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, Path.Combine(directory, name));
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return name;
    }

    /// <summary>Newest first; files that cannot be read as a message are left out rather than failing the list.</summary>
    public static IReadOnlyList<MailDropEntry> List(string dataDirectory)
    {
        var directory = DirectoryOf(dataDirectory);
        if (!Directory.Exists(directory)) return [];
        return Directory.EnumerateFiles(directory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(IsDropFileName)
            .OrderByDescending(name => name, StringComparer.Ordinal) // names start with the UTC time
            .Select(name => Read(Path.Combine(directory, name)))
            .OfType<MailDropEntry>()
            .ToList();
    }

    /// <summary>The full path of a file in the mail drop, or null: only plain .eml names, never a path.</summary>
    public static string? PathOf(string dataDirectory, string fileName)
    {
        if (!IsDropFileName(fileName)) return null;
        var path = Path.Combine(DirectoryOf(dataDirectory), fileName);
        return File.Exists(path) ? path : null;
    }

    // Only the characters the hub itself writes: no separators, no leading dot, so no "..", no hidden temp files.
    static bool IsDropFileName(string? name) =>
        name is { Length: > 4 and <= 255 }
        && name.EndsWith(Extension, StringComparison.Ordinal)
        && !name.StartsWith('.')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    static string Sanitise(string messageId) =>
        string.Concat(messageId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_'));

    static MailDropEntry? Read(string path)
    {
        try
        {
            using var message = MimeMessage.Load(path);
            var to = string.Join(", ", message.To.Mailboxes.Select(m => m.Address));
            return new MailDropEntry(Path.GetFileName(path), to, message.Subject ?? "", message.Date, message.MessageId ?? "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null; // deleted meanwhile, or not a message
        }
    }
}
