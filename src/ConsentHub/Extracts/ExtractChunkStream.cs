using System.Security.Cryptography;

namespace ConsentHub.Extracts;

/// <summary>
/// The stream a run's file is written into: it hashes every byte, counts them, and hands each full chunk to
/// <c>store</c> (which writes it to the database), so that the file never sits whole in memory or on disk. Synchronous
/// writes only buffer; the next asynchronous write or <see cref="DrainAsync"/> stores what is full.
/// </summary>
public sealed class ExtractChunkStream(int chunkSize, Func<int, byte[], CancellationToken, Task> store) : Stream
{
    readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    byte[] buffer = new byte[chunkSize];
    int filled;
    int sequence;

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

    /// <summary>Stores every full chunk; what is left waits for more bytes or for <see cref="CompleteAsync"/>.</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        var start = 0;
        while (filled - start >= chunkSize)
        {
            await store(sequence++, buffer[start..(start + chunkSize)], ct);
            start += chunkSize;
        }
        if (start == 0) return;
        Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
        filled -= start;
        if (buffer.Length > chunkSize * 2) Array.Resize(ref buffer, chunkSize);
    }

    /// <summary>Stores the last chunk and answers the file's SHA-256 (lower-case hex).</summary>
    public async Task<string> CompleteAsync(CancellationToken ct)
    {
        await DrainAsync(ct);
        if (filled > 0) await store(sequence++, buffer[..filled], ct);
        filled = 0;
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

    protected override void Dispose(bool disposing)
    {
        if (disposing) hash.Dispose();
        base.Dispose(disposing);
    }
}
