using System.Buffers;
using System.IO.Pipelines;

namespace ConsentHub.Clusters;

/// <summary>
/// Reads a body one line at a time, holding at most one line (plus what the pipe has buffered) in memory.
/// A line longer than the limit is skipped to its end and reported as <see cref="Line.TooLong"/>.
/// </summary>
public sealed class NdjsonLines(PipeReader reader, int maxLineBytes)
{
    public sealed record Line(byte[]? Bytes)
    {
        public bool TooLong => Bytes is null;
    }

    bool done;

    public async Task<Line?> NextAsync(CancellationToken ct)
    {
        var skipping = false;
        while (!done)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } newline)
            {
                var line = buffer.Slice(0, newline);
                var bytes = skipping || line.Length > maxLineBytes ? null : TrimCarriageReturn(line.ToArray());
                reader.AdvanceTo(buffer.GetPosition(1, newline));
                return new Line(bytes);
            }
            if (result.IsCompleted)
            {
                done = true;
                var last = skipping ? new Line(null) : buffer.IsEmpty ? null : new Line(buffer.Length > maxLineBytes ? null : TrimCarriageReturn(buffer.ToArray()));
                reader.AdvanceTo(buffer.End);
                return last;
            }
            if (buffer.Length > maxLineBytes)
            {
                // Too long already: drop what was read and look for the line's end.
                skipping = true;
                reader.AdvanceTo(buffer.End);
                continue;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
        return null;
    }

    static byte[] TrimCarriageReturn(byte[] line) => line is [.., (byte)'\r'] ? line[..^1] : line;
}
