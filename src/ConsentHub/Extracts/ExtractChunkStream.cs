using System.Security.Cryptography;
using System.Threading.Channels;

namespace ConsentHub.Extracts;

/// <summary>
/// The stream a run's file is written into: it hashes every byte, counts them, and hands each full chunk to
/// <c>store</c> (which writes it to the database), so that the file never sits whole in memory or on disk. Chunks are
/// stored by a task of their own, one after the other, while the next ones are written: at most two wait for it, so
/// memory holds a few chunks whatever the file's size. Synchronous writes only buffer; the next asynchronous write or
/// <see cref="DrainAsync"/> hands on what is full. A failed store fails the next write and the completion.
/// </summary>
public sealed class ExtractChunkStream : Stream
{
    readonly int chunkSize;
    readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    readonly Channel<(int Sequence, byte[] Bytes)> pending = Channel.CreateBounded<(int, byte[])>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
    readonly Task storing;
    byte[] buffer;
    int filled;
    int sequence;

    public ExtractChunkStream(int chunkSize, Func<int, byte[], CancellationToken, Task> store, CancellationToken ct)
    {
        this.chunkSize = chunkSize;
        buffer = new byte[chunkSize];
        storing = Task.Run(async () =>
        {
            await foreach (var (number, bytes) in pending.Reader.ReadAllAsync(ct)) await store(number, bytes, ct);
        }, ct);
    }

    /// <summary>Bytes written so far.</summary>
    public long Written { get; private set; }

    /// <summary>A chunk is ready to be stored.</summary>
    public bool IsFull => filled >= chunkSize;

    public override void Write(byte[] bytes, int offset, int count) => Write(bytes.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> bytes)
    {
        if (filled + bytes.Length > buffer.Length) Array.Resize(ref buffer, Math.Max(buffer.Length * 2, filled + bytes.Length));
        bytes.CopyTo(buffer.AsSpan(filled));
        filled += bytes.Length;
        hash.AppendData(bytes);
        Written += bytes.Length;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct = default)
    {
        Write(bytes.Span);
        if (IsFull) await DrainAsync(ct);
    }

    public override Task WriteAsync(byte[] bytes, int offset, int count, CancellationToken ct) => WriteAsync(bytes.AsMemory(offset, count), ct).AsTask();

    /// <summary>Hands every full chunk to the storing task; what is left waits for more bytes or for <see cref="CompleteAsync"/>.</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        var start = 0;
        while (filled - start >= chunkSize)
        {
            await HandOnAsync(buffer[start..(start + chunkSize)], ct);
            start += chunkSize;
        }
        if (start == 0) return;
        Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
        filled -= start;
        if (buffer.Length > chunkSize * 2) Array.Resize(ref buffer, chunkSize);
    }

    async Task HandOnAsync(byte[] chunk, CancellationToken ct)
    {
        // A store that failed has stopped reading: its error is the run's, not a wait for ever.
        if (storing.IsCompleted) await storing;
        var write = pending.Writer.WriteAsync((sequence++, chunk), ct).AsTask();
        if (await Task.WhenAny(write, storing) == storing && !write.IsCompleted)
        {
            await storing;
            throw new InvalidOperationException("The chunk store stopped before the file was complete.");
        }
        await write;
    }

    /// <summary>Stores the last chunk, waits for every chunk to be stored, and answers the file's SHA-256 (lower-case hex).</summary>
    public async Task<string> CompleteAsync(CancellationToken ct)
    {
        await DrainAsync(ct);
        if (filled > 0) await HandOnAsync(buffer[..filled], ct);
        filled = 0;
        pending.Writer.TryComplete();
        await storing;
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        pending.Writer.TryComplete();
        try { await storing; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The run has failed already and reports why; the storing task's own error adds nothing.
        }
        hash.Dispose();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            pending.Writer.TryComplete();
            hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
