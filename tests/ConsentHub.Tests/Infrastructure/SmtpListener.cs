using System.Net;
using System.Net.Sockets;
using MimeKit;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>
/// A real SMTP server on 127.0.0.1 (RFC 5321, no TLS, no AUTH) for tests: MailKit talks to it over TCP as it would
/// to a production server. It keeps what it receives and can be told to refuse, to fail, or to be down for a while.
/// </summary>
public sealed class SmtpListener : IAsyncDisposable
{
    public const string Domain = "smtp.listener.test";
    public const int MaxMessageBytes = 10 * 1024 * 1024;

    readonly object lifecycle = new();
    readonly object inbox = new();
    readonly List<ReceivedMail> messages = [];
    readonly List<Task> tasks = [];
    readonly List<CancellationTokenSource> runs = [];
    TaskCompletionSource arrived = NewSignal();
    TcpListener? listener;
    CancellationTokenSource? running;
    Reply? refuseRecipients;
    Reply? failData;
    int connections;
    bool disposed;

    /// <summary>0 until first started; the same number after every restart.</summary>
    public int Port { get; private set; }

    /// <summary>How long the server waits for the next line from a client before hanging up.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections accepted so far: lets a test prove that nothing was even attempted.</summary>
    public int Connections => Volatile.Read(ref connections);

    public IReadOnlyList<ReceivedMail> Messages
    {
        get { lock (inbox) return messages.ToArray(); }
    }

    internal Reply? RecipientRefusal => Volatile.Read(ref refuseRecipients);
    internal Reply? DataFailure => Volatile.Read(ref failData);

    public static async Task<SmtpListener> StartNewAsync()
    {
        var smtp = new SmtpListener();
        await smtp.StartAsync();
        return smtp;
    }

    /// <summary>Every RCPT TO is answered with this reply, e.g. 550 "5.1.1 No such user".</summary>
    public void RefuseRecipientsWith(int code, string text) => Volatile.Write(ref refuseRecipients, new Reply(code, text));

    /// <summary>The reply to the end of DATA (after the whole message was sent), e.g. 451 or 554.</summary>
    public void FailDataWith(int code, string? text = null) =>
        Volatile.Write(ref failData, new Reply(code, text ?? (code < 500 ? "4.3.0 Try again later" : "5.6.0 Message rejected")));

    /// <summary>Back to accepting everything.</summary>
    public void AcceptEverything()
    {
        Volatile.Write(ref refuseRecipients, null);
        Volatile.Write(ref failData, null);
    }

    /// <summary>Listens on an ephemeral port the first time and on that same port after a <see cref="Stop"/>.</summary>
    public async Task StartAsync()
    {
        // Right after a stop the port may still be held for a moment; a restarted real server would wait too.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                StartListening();
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    void StartListening()
    {
        lock (lifecycle)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (listener is not null) return;
            var next = new TcpListener(IPAddress.Loopback, Port);
            // Closed connections linger in TIME_WAIT on the server's port; without this a restart could not bind.
            next.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try
            {
                next.Start();
            }
            catch
            {
                next.Dispose();
                throw;
            }
            Port = ((IPEndPoint)next.LocalEndpoint).Port;
            listener = next;
            running = new CancellationTokenSource();
            runs.Add(running);
            Track(AcceptAsync(next, running.Token));
        }
    }

    /// <summary>Down like a crashed server: the port refuses connections and open sessions are cut.</summary>
    public void Stop()
    {
        lock (lifecycle)
        {
            running?.Cancel();
            listener?.Stop();
            listener = null;
            running = null;
        }
    }

    public async Task<ReceivedMail> WaitForMessageAsync(Func<ReceivedMail, bool>? match = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        using var expiry = new CancellationTokenSource(limit);
        while (true)
        {
            ReceivedMail[] snapshot;
            Task next;
            lock (inbox)
            {
                snapshot = messages.ToArray();
                next = arrived.Task;
            }
            if (snapshot.FirstOrDefault(m => match?.Invoke(m) ?? true) is { } found) return found;
            try
            {
                await next.WaitAsync(expiry.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No matching message within {limit}; {snapshot.Length} received, {Connections} connections.");
            }
        }
    }

    internal void Receive(ReceivedMail mail)
    {
        TaskCompletionSource woken;
        lock (inbox)
        {
            messages.Add(mail);
            woken = arrived;
            arrived = NewSignal();
        }
        woken.TrySetResult();
    }

    async Task AcceptAsync(TcpListener from, CancellationToken stopping)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await from.AcceptTcpClientAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return; // stopped
            }
            Interlocked.Increment(ref connections);
            Track(Task.Run(() => ServeAsync(client, stopping), CancellationToken.None));
        }
    }

    async Task ServeAsync(TcpClient client, CancellationToken stopping)
    {
        using (client)
        {
            try
            {
                await new SmtpSession(this, client.GetStream(), stopping).RunAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, was too slow, or the server was stopped: the session simply ends.
            }
        }
    }

    void Track(Task task)
    {
        lock (tasks)
        {
            tasks.RemoveAll(t => t.IsCompletedSuccessfully); // a faulted one stays, for DisposeAsync to surface
            tasks.Add(task);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (lifecycle)
        {
            if (disposed) return;
            disposed = true;
        }
        Stop();
        Task[] pending;
        lock (tasks) pending = tasks.ToArray();
        // Sessions end on the stop signal; awaiting them here surfaces any bug instead of leaving it unobserved.
        await Task.WhenAll(pending);
        foreach (var run in runs) run.Dispose();
    }

    static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal sealed record Reply(int Code, string Text);
}

/// <summary>One accepted message: the envelope as the client gave it and the bytes after dot-unstuffing.</summary>
public sealed class ReceivedMail(string envelopeFrom, IReadOnlyList<string> recipients, byte[] raw)
{
    readonly Lazy<MimeMessage> message = new(() => MimeMessage.Load(new MemoryStream(raw, writable: false)));

    public string EnvelopeFrom => envelopeFrom;
    public IReadOnlyList<string> Recipients => recipients;
    public ReadOnlyMemory<byte> Raw => raw;

    /// <summary>Parsed on first use, so a test that never looks pays nothing.</summary>
    public MimeMessage Message => message.Value;
}
