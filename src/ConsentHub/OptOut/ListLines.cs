using System.Security.Cryptography;
using System.Text;

namespace ConsentHub.OptOut;

/// <summary>One line of a provider's list: its number (from 1), its text, or that it was longer than a line may be.</summary>
public readonly record struct ListLine(long Number, string Text, bool TooLong);

/// <summary>
/// Reads a list line by line from a request body, holding one buffer of it at a time however large the body is; a line
/// longer than the limit is skipped, not buffered. It hashes every byte it reads (SHA-256 of the body as received) and
/// refuses to read past the size cap.
/// </summary>
public sealed class ListLines(Stream body, long maxBytes, int maxLineLength) : IDisposable
{
    readonly byte[] buffer = new byte[64 * 1024];
    readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    int start, end;
    bool eof;
    long number;

    public long Bytes { get; private set; }

    /// <summary>Lower-case hex SHA-256 of every byte read; complete once <see cref="NextAsync"/> has answered null.</summary>
    public string Sha256 => Convert.ToHexStringLower(hash.GetCurrentHash());

    public async ValueTask<ListLine?> NextAsync(CancellationToken ct)
    {
        var skipping = false;
        while (true)
        {
            var newline = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (newline >= 0 || (eof && start < end))
            {
                var stop = newline >= 0 ? newline : end;
                var line = skipping || stop - start > maxLineLength
                    ? new ListLine(++number, "", TooLong: true)
                    : new ListLine(++number, Text(start, stop), TooLong: false);
                start = newline >= 0 ? newline + 1 : end;
                return line;
            }
            if (eof) return skipping ? new ListLine(++number, "", TooLong: true) : null;
            if (end - start > maxLineLength)
            {
                // Too long already: drop what is buffered and read on to the end of the line.
                skipping = true;
                start = end = 0;
            }
            else if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            await FillAsync(ct);
        }
    }

    async Task FillAsync(CancellationToken ct)
    {
        var read = await body.ReadAsync(buffer.AsMemory(end), ct);
        if (read == 0)
        {
            eof = true;
            return;
        }
        Bytes += read;
        if (Bytes > maxBytes) throw new ListTooLargeException(maxBytes);
        hash.AppendData(buffer, end, read);
        // A byte order mark opens the first line only; it is no part of it.
        if (Bytes == read && read >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF) start = 3;
        end += read;
    }

    string Text(int from, int to)
    {
        if (to > from && buffer[to - 1] == '\r') to--;
        return Encoding.Latin1.GetString(buffer, from, to - from);
    }

    public void Dispose() => hash.Dispose();
}

public sealed class ListTooLargeException(long maxBytes) : Exception($"The list is larger than {maxBytes} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}
