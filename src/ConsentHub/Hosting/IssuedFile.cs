using System.Globalization;
using System.IO.Compression;

namespace ConsentHub.Hosting;

/// <summary>
/// Sends a file the hub issued and stored in chunks (a suppression file, an extract): as an attachment, never cached, its
/// SHA-256 in <c>Repr-Digest</c> (RFC 9530; the same digest as its ledger entry, hex there and base64 here) and that
/// entry's index in <c>X-Ledger-Index</c>, then its chunks in order, one in memory at a time.
/// </summary>
public static class IssuedFile
{
    /// <param name="chunk">The chunk of a sequence number, or null after the last one.</param>
    /// <param name="deflated">Each chunk is stored compressed (<see cref="Deflate"/>) and is sent as it was written.</param>
    public static async Task<IResult> SendAsync(HttpResponse response, string mediaType, long size, string fileName, string sha256Hex, long ledgerIndex,
        Func<int, CancellationToken, Task<byte[]?>> chunk, CancellationToken ct, bool deflated = false)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = mediaType;
        response.ContentLength = size;
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(sha256Hex))}:";
        response.Headers["X-Ledger-Index"] = ledgerIndex.ToString(CultureInfo.InvariantCulture);
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        for (var sequence = 0; await chunk(sequence, ct) is { } bytes; sequence++)
        {
            if (!deflated)
            {
                await response.Body.WriteAsync(bytes, ct);
                continue;
            }
            await using var inflate = new ZLibStream(new MemoryStream(bytes, writable: false), CompressionMode.Decompress);
            await inflate.CopyToAsync(response.Body, ct);
        }
        return Results.Empty;
    }

    /// <summary>
    /// A chunk compressed for storage (zlib, fastest level): text files shrink several times, so storing them costs the
    /// database a fraction of the writes; what is already compressed (Parquet) grows by a few bytes.
    /// </summary>
    public static byte[] Deflate(byte[] bytes)
    {
        var output = new MemoryStream(bytes.Length / 4 + 64);
        using (var deflate = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true)) deflate.Write(bytes);
        return output.ToArray();
    }
}
