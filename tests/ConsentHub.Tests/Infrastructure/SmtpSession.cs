using System.Buffers;
using System.Globalization;
using System.Text;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>One SMTP conversation (RFC 5321 §4.1): commands in, numbered replies out, one mail transaction at a time.</summary>
sealed class SmtpSession(SmtpListener server, Stream stream, CancellationToken stopping)
{
    // §4.5.3.1.4–6: a command line is at most 512 octets and a text line 1000, both counting the CRLF.
    const int MaxCommandLine = 510;
    const int MaxTextLine = 998;
    const int MaxRecipients = 100;
    const int MaxErrors = 10;

    readonly LineReader reader = new(stream);
    readonly List<string> recipients = [];
    bool greeted;
    string? sender;
    int errors;

    public async Task RunAsync()
    {
        await ReplyAsync(220, $"{SmtpListener.Domain} ESMTP ConsentHub test listener");
        try
        {
            while (await ReadAsync(MaxCommandLine) is { } line && await HandleAsync(Encoding.UTF8.GetString(line)))
            {
                if (errors > MaxErrors)
                {
                    await ReplyAsync(421, "4.7.0 Too many errors, closing");
                    return;
                }
            }
        }
        catch (LineTooLongException)
        {
            await ReplyAsync(500, "5.5.2 Line too long");
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            await ReplyAsync(421, "4.4.2 Timeout, closing");
        }
    }

    /// <summary>False when the conversation is over.</summary>
    async Task<bool> HandleAsync(string line)
    {
        var space = line.IndexOf(' ');
        var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
        var argument = space < 0 ? "" : line[(space + 1)..].Trim();
        switch (verb)
        {
            case "EHLO" when argument.Length > 0:
                Greet();
                await ReplyAsync(250, SmtpListener.Domain, "8BITMIME", $"SIZE {SmtpListener.MaxMessageBytes}", "HELP");
                return true;
            case "HELO" when argument.Length > 0:
                Greet();
                await ReplyAsync(250, SmtpListener.Domain);
                return true;
            case "EHLO" or "HELO":
                return await ErrorAsync(501, "5.5.4 A domain or address literal is required");
            case "MAIL":
                await MailAsync(argument);
                return true;
            case "RCPT":
                await RecipientAsync(argument);
                return true;
            case "DATA":
                await DataAsync(argument);
                return true;
            case "RSET":
                ResetTransaction();
                await ReplyAsync(250, "2.0.0 OK");
                return true;
            case "NOOP":
                await ReplyAsync(250, "2.0.0 OK");
                return true;
            case "VRFY":
                await ReplyAsync(252, "2.5.2 Cannot verify, but will accept and attempt delivery");
                return true;
            case "HELP":
                await ReplyAsync(214, "2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
                return true;
            case "QUIT":
                await ReplyAsync(221, "2.0.0 Bye");
                return false;
            case "STARTTLS" or "AUTH" or "BDAT" or "EXPN" or "TURN":
                return await ErrorAsync(502, "5.5.1 Command not implemented");
            default:
                return await ErrorAsync(500, "5.5.2 Command unrecognised");
        }
    }

    void Greet()
    {
        greeted = true;
        ResetTransaction(); // §4.1.4: EHLO in the middle of a transaction abandons it
    }

    async Task MailAsync(string argument)
    {
        if (!greeted) await ErrorAsync(503, "5.5.1 Send EHLO first");
        else if (sender is not null) await ErrorAsync(503, "5.5.1 Nested MAIL command");
        else if (!TryPath(argument, "FROM:", out var path, out var parameters)) await ErrorAsync(501, "5.5.4 Syntax: MAIL FROM:<address>");
        else if (DeclaredSize(parameters) > SmtpListener.MaxMessageBytes) await ReplyAsync(552, "5.3.4 Message size exceeds fixed limit");
        else
        {
            sender = path;
            await ReplyAsync(250, "2.1.0 OK");
        }
    }

    async Task RecipientAsync(string argument)
    {
        if (sender is null) await ErrorAsync(503, "5.5.1 Need MAIL before RCPT");
        else if (!TryPath(argument, "TO:", out var path, out _) || path.Length == 0) await ErrorAsync(501, "5.5.4 Syntax: RCPT TO:<address>");
        else if (recipients.Count >= MaxRecipients) await ReplyAsync(452, "4.5.3 Too many recipients");
        else if (server.RecipientRefusal is { } refusal) await ReplyAsync(refusal.Code, refusal.Text);
        else
        {
            recipients.Add(path);
            await ReplyAsync(250, "2.1.5 OK");
        }
    }

    async Task DataAsync(string argument)
    {
        if (argument.Length > 0) { await ErrorAsync(501, "5.5.4 DATA takes no argument"); return; }
        if (sender is null) { await ErrorAsync(503, "5.5.1 Need MAIL before DATA"); return; }
        if (recipients.Count == 0) { await ReplyAsync(554, "5.5.1 No valid recipients"); return; }

        await ReplyAsync(354, "End data with <CR><LF>.<CR><LF>");
        using var body = new MemoryStream();
        var tooBig = false;
        while (true)
        {
            var line = await ReadAsync(MaxTextLine) ?? throw new EndOfStreamException("The client hung up during DATA.");
            if (line is [(byte)'.']) break;
            // §4.5.2: the client doubled every leading dot; take one away.
            var text = line.AsSpan(line is [(byte)'.', ..] ? 1 : 0);
            tooBig |= body.Length + text.Length + 2 > SmtpListener.MaxMessageBytes;
            if (tooBig) continue; // keep reading to the end, so the reply lands where the client expects it
            body.Write(text);
            body.Write("\r\n"u8);
        }

        if (tooBig) await ReplyAsync(552, "5.3.4 Message size exceeds fixed limit");
        else if (server.DataFailure is { } failure) await ReplyAsync(failure.Code, failure.Text);
        else
        {
            server.Receive(new ReceivedMail(sender, recipients.ToArray(), body.ToArray()));
            await ReplyAsync(250, "2.0.0 OK queued");
        }
        ResetTransaction();
    }

    void ResetTransaction()
    {
        sender = null;
        recipients.Clear();
    }

    /// <summary>"FROM:&lt;a@b&gt; SIZE=10": the path without its brackets (and any source route), and the parameters.</summary>
    static bool TryPath(string argument, string keyword, out string path, out string parameters)
    {
        path = parameters = "";
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = argument[keyword.Length..].TrimStart(); // some clients put a space after the colon
        var close = rest.IndexOf('>');
        if (!rest.StartsWith('<') || close < 0) return false;
        path = rest[1..close];
        if (path.StartsWith('@') && path.IndexOf(':') is var colon and > 0) path = path[(colon + 1)..]; // §C: ignore source routes
        parameters = rest[(close + 1)..].Trim();
        return true;
    }

    static long DeclaredSize(string parameters) =>
        parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.StartsWith("SIZE=", StringComparison.OrdinalIgnoreCase))
            .Select(p => long.TryParse(p.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : 0)
            .FirstOrDefault();

    async Task<bool> ErrorAsync(int code, string text)
    {
        errors++;
        await ReplyAsync(code, text);
        return true;
    }

    async Task<byte[]?> ReadAsync(int maxLength)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(server.ReadTimeout);
        return await reader.ReadLineAsync(maxLength, timeout.Token);
    }

    /// <summary>One reply; several texts make a multi-line reply (§4.2.1: "250-" on all lines but the last).</summary>
    async Task ReplyAsync(int code, params string[] texts)
    {
        var reply = new StringBuilder();
        for (var i = 0; i < texts.Length; i++)
            reply.Append(CultureInfo.InvariantCulture, $"{code}{(i < texts.Length - 1 ? '-' : ' ')}{texts[i]}\r\n");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(server.ReadTimeout);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(reply.ToString()), timeout.Token);
    }
}

sealed class LineTooLongException() : Exception("SMTP line too long");

/// <summary>Reads CRLF-terminated lines from a stream without ever holding more than one line plus a buffer.</summary>
sealed class LineReader(Stream stream)
{
    readonly byte[] buffer = new byte[8192];
    int start;
    int end;

    /// <summary>The line without its line ending; null when the peer closed (a partial last line is dropped).</summary>
    public async Task<byte[]?> ReadLineAsync(int maxLength, CancellationToken ct)
    {
        var line = new ArrayBufferWriter<byte>();
        while (true)
        {
            if (TakeLine(line, maxLength) is { } complete) return complete;
            var read = await stream.ReadAsync(buffer, ct);
            if (read == 0) return null;
            (start, end) = (0, read);
        }
    }

    /// <summary>Moves buffered bytes into the line; the line once its LF has arrived, else null.</summary>
    byte[]? TakeLine(ArrayBufferWriter<byte> line, int maxLength)
    {
        var pending = buffer.AsSpan(start, end - start);
        var lf = pending.IndexOf((byte)'\n');
        var take = lf >= 0 ? pending[..lf] : pending;
        // One more than the limit allows for the CR, which is only known once the LF arrives.
        if (line.WrittenCount + take.Length > maxLength + 1) throw new LineTooLongException();
        line.Write(take);
        start += lf >= 0 ? lf + 1 : take.Length;
        if (lf < 0) return null;
        // RFC 5321 wants CRLF; a bare LF is tolerated (Postel). The returned line has neither.
        var taken = line.WrittenSpan;
        if (taken is [.., (byte)'\r']) taken = taken[..^1];
        if (taken.Length > maxLength) throw new LineTooLongException();
        return taken.ToArray();
    }
}
