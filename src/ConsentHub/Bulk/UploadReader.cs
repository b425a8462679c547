using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace ConsentHub.Bulk;

/// <summary>The file cannot be read on from here: malformed JSON, a record too large, a body too large.</summary>
public sealed class UploadFormatException(string message) : Exception(message);

/// <summary>
/// Reads the records (envelopes) of an upload as the bytes arrive: a JSON array of objects (seed 004 §3.5) or one
/// object per line (NDJSON), told apart by the first byte that is not whitespace. It holds at most one record plus
/// what the pipe has buffered; a token split across reads is read again once the rest has arrived.
/// </summary>
public sealed class UploadReader(PipeReader pipe, int maxRecordBytes, long maxBytes)
{
    enum Shape { Unknown, Array, Lines }

    Shape shape;
    bool arrayClosed;
    JsonReaderState state = new(new JsonReaderOptions { AllowMultipleValues = true, MaxDepth = 64 });
    bool done;

    /// <summary>Bytes of the body consumed so far (every byte, once the last record was read).</summary>
    public long Bytes { get; private set; }

    /// <summary>The next record's exact bytes, or null at the end of the file.</summary>
    public async Task<byte[]?> NextAsync(CancellationToken ct)
    {
        while (!done)
        {
            var result = await pipe.ReadAsync(ct);
            var buffer = result.Buffer;
            // Records within the limit are read before the rest is refused.
            var over = Bytes + buffer.Length > maxBytes;
            if (over) buffer = buffer.Slice(0, maxBytes - Bytes);
            var record = Scan(buffer, result.IsCompleted && !over, out var consumed);
            Bytes += buffer.Slice(buffer.Start, consumed).Length;
            if (record is not null || done)
            {
                pipe.AdvanceTo(consumed);
                return record;
            }
            if (over || buffer.Slice(consumed).Length > maxRecordBytes) pipe.AdvanceTo(consumed);
            if (over) throw new UploadFormatException($"The body exceeds the limit of {maxBytes} bytes (ConsentHub:Upload:MaxBytes).");
            if (buffer.Slice(consumed).Length > maxRecordBytes)
                throw new UploadFormatException(
                    $"More than {maxRecordBytes} bytes without a complete record after byte {Bytes} (ConsentHub:Upload:MaxRecordBytes).");
            // Nothing complete yet: keep what is unread and wait for more.
            pipe.AdvanceTo(consumed, buffer.End);
        }
        return null;
    }

    byte[]? Scan(ReadOnlySequence<byte> buffer, bool final, out SequencePosition consumed)
    {
        var reader = new Utf8JsonReader(buffer, final, state);
        consumed = buffer.Start;
        try
        {
            while (true)
            {
                if (!reader.Read())
                {
                    if (!final) return null;
                    done = true;
                    if (shape == Shape.Unknown)
                        throw new UploadFormatException("The body holds no records: send a JSON array of records, or one record per line.");
                    if (shape == Shape.Array && !arrayClosed)
                        throw new UploadFormatException($"The file ends at byte {Bytes + reader.BytesConsumed} before its array is closed with ']'.");
                    consumed = buffer.End;
                    return null;
                }
                if (IsRecordStart(ref reader))
                {
                    var start = reader.TokenStartIndex;
                    // The whole record must be here to be skipped; otherwise read it again when more has arrived.
                    if (!reader.TrySkip()) return null;
                    var whole = buffer.Slice(start, reader.Position);
                    if (whole.Length > maxRecordBytes)
                        throw new UploadFormatException(
                            $"The record starting at byte {Bytes + start} has {whole.Length} bytes, more than {maxRecordBytes} (ConsentHub:Upload:MaxRecordBytes).");
                    var record = whole.ToArray();
                    consumed = reader.Position;
                    state = reader.CurrentState;
                    return record;
                }
                consumed = reader.Position;
                state = reader.CurrentState;
            }
        }
        catch (JsonException e)
        {
            done = true;
            throw new UploadFormatException(
                $"The file is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1} of that line " +
                $"(near byte {Bytes + reader.BytesConsumed} of the file): {e.Message}");
        }
    }

    /// <summary>True at the '{' of a record; refuses what may not stand where the reader is.</summary>
    bool IsRecordStart(ref Utf8JsonReader reader)
    {
        var token = reader.TokenType;
        if (reader.CurrentDepth == 0)
        {
            if (shape == Shape.Unknown)
                shape = token switch
                {
                    JsonTokenType.StartArray => Shape.Array,
                    JsonTokenType.StartObject => Shape.Lines,
                    _ => throw Unexpected("The file must start with '[' (a JSON array of records) or '{' (one record per line)", reader),
                };
            if (shape == Shape.Array)
            {
                if (token == JsonTokenType.EndArray) arrayClosed = true;
                else if (arrayClosed || token != JsonTokenType.StartArray) throw Unexpected("Nothing may follow the array's closing ']'", reader);
                return false;
            }
            return token == JsonTokenType.StartObject ? true : throw Unexpected("Each line must hold one record, a JSON object", reader);
        }
        // Depth 1 inside the array: each element is a record.
        return token == JsonTokenType.StartObject ? true : throw Unexpected("Each element of the array must be a record, a JSON object", reader);
    }

    UploadFormatException Unexpected(string what, Utf8JsonReader reader)
    {
        done = true;
        return new UploadFormatException($"{what}; found {reader.TokenType} near byte {Bytes + reader.TokenStartIndex} of the file.");
    }
}
