using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentHub.Hosting;
using CsvHelper;
using Parquet;
using Parquet.Schema;

namespace ConsentHub.Extracts;

/// <summary>One row of a run as the writers read it: each column by its type, without boxing.</summary>
public interface IExtractRow
{
    bool IsNull(int column);
    string GetString(int column);
    bool GetBoolean(int column);
    /// <summary>An instant in UTC.</summary>
    DateTime GetTimestamp(int column);
    long GetCount(int column);
}

/// <summary>
/// Writes an extract's rows, one at a time, into a stream in one of the four formats. Each writer holds at most a bounded
/// part of the file (a buffer, or one Parquet row group) before it reaches the stream.
/// </summary>
public abstract class ExtractFileWriter : IAsyncDisposable
{
    protected ExtractFileWriter(IReadOnlyList<ExtractColumn> columns)
    {
        Columns = columns;
        Types = [.. columns.Select(c => c.Type)];
    }

    protected IReadOnlyList<ExtractColumn> Columns { get; }

    protected ExtractColumnType[] Types { get; }

    public static ExtractFileWriter Create(string format, Stream output, IReadOnlyList<ExtractColumn> columns, int parquetRowGroup) => format switch
    {
        ExtractFormats.Csv => new CsvExtractWriter(output, columns),
        ExtractFormats.Json => new JsonExtractWriter(output, columns, lines: false),
        ExtractFormats.Ndjson => new JsonExtractWriter(output, columns, lines: true),
        ExtractFormats.Parquet => new ParquetExtractWriter(output, columns, parquetRowGroup),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Not an extract format."),
    };

    public abstract ValueTask WriteAsync(IExtractRow row, CancellationToken ct);

    /// <summary>Writes whatever closes the file (the JSON array's end, Parquet's last row group and footer) and flushes.</summary>
    public abstract Task CompleteAsync(CancellationToken ct);

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>RFC 4180 CSV by CsvHelper: a header row, CRLF line ends, fields quoted when they need it, UTF-8 with a byte order mark so that Excel reads accents.</summary>
sealed class CsvExtractWriter : ExtractFileWriter
{
    readonly CsvWriter csv;

    public CsvExtractWriter(Stream output, IReadOnlyList<ExtractColumn> columns) : base(columns)
    {
        csv = CsvWriter.Create(output, CsvWriterOptions.Default with { WriteByteOrderMark = true }, leaveOpen: true);
        csv.WriteHeader([.. columns.Select(c => c.Name)]);
    }

    public override ValueTask WriteAsync(IExtractRow row, CancellationToken ct)
    {
        WriteFields(row);
        return csv.EndRecordAsync(ct);
    }

    void WriteFields(IExtractRow row)
    {
        Span<char> text = stackalloc char[32];
        for (var i = 0; i < Types.Length; i++)
        {
            if (row.IsNull(i))
            {
                csv.WriteField(ReadOnlySpan<char>.Empty);
                continue;
            }
            switch (Types[i])
            {
                case ExtractColumnType.Boolean:
                    csv.WriteField(row.GetBoolean(i) ? "true" : "false");
                    break;
                case ExtractColumnType.Timestamp:
                    csv.WriteField(text[..HubTime.Format(row.GetTimestamp(i), text)]);
                    break;
                case ExtractColumnType.Count:
                    row.GetCount(i).TryFormat(text, out var digits, default, CultureInfo.InvariantCulture);
                    csv.WriteField(text[..digits]);
                    break;
                default:
                    csv.WriteField(row.GetString(i));
                    break;
            }
        }
    }

    public override async Task CompleteAsync(CancellationToken ct) => await csv.FlushAsync(ct);

    public override async ValueTask DisposeAsync()
    {
        await csv.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>A JSON array of objects, or NDJSON: one object per line, by <see cref="Utf8JsonWriter"/>.</summary>
sealed class JsonExtractWriter : ExtractFileWriter
{
    const int FlushBytes = 64 * 1024;
    static readonly byte[] NewLine = "\n"u8.ToArray();
    readonly Stream output;
    readonly Utf8JsonWriter json;
    readonly bool lines;
    readonly JsonEncodedText[] names;

    public JsonExtractWriter(Stream output, IReadOnlyList<ExtractColumn> columns, bool lines) : base(columns)
    {
        this.output = output;
        this.lines = lines;
        names = [.. columns.Select(c => JsonEncodedText.Encode(c.Name))];
        json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = lines });
        if (!lines) json.WriteStartArray();
    }

    public override async ValueTask WriteAsync(IExtractRow row, CancellationToken ct)
    {
        WriteObject(row);
        if (lines)
        {
            // Each line is a JSON text of its own: the writer's pending bytes go out, then the line end, before the next.
            json.Flush();
            json.Reset();
            output.Write(NewLine);
            if (output is ExtractChunkStream { IsFull: true } chunks) await chunks.DrainAsync(ct);
        }
        else if (json.BytesPending > FlushBytes)
        {
            await json.FlushAsync(ct);
        }
    }

    void WriteObject(IExtractRow row)
    {
        Span<char> text = stackalloc char[32];
        json.WriteStartObject();
        for (var i = 0; i < names.Length; i++)
        {
            if (row.IsNull(i))
            {
                json.WriteNull(names[i]);
                continue;
            }
            switch (Types[i])
            {
                case ExtractColumnType.Boolean:
                    json.WriteBoolean(names[i], row.GetBoolean(i));
                    break;
                case ExtractColumnType.Timestamp:
                    json.WriteString(names[i], text[..HubTime.Format(row.GetTimestamp(i), text)]);
                    break;
                case ExtractColumnType.Count:
                    json.WriteNumber(names[i], row.GetCount(i));
                    break;
                default:
                    json.WriteString(names[i], row.GetString(i));
                    break;
            }
        }
        json.WriteEndObject();
    }

    public override async Task CompleteAsync(CancellationToken ct)
    {
        if (!lines) json.WriteEndArray();
        await json.FlushAsync(ct);
    }

    public override async ValueTask DisposeAsync()
    {
        await json.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>
/// Apache Parquet by Parquet.Net: typed columns (BOOLEAN, INT64, UTF-8 strings, and timestamps as INT64 TIMESTAMP(MILLIS)
/// adjusted to UTC, never INT96), one row group per <c>rowGroup</c> rows, buffered in typed arrays, so memory holds one
/// row group at most.
/// </summary>
sealed class ParquetExtractWriter : ExtractFileWriter
{
    readonly Stream output;
    readonly int rowGroup;
    readonly DataField[] fields;
    readonly Array[] buffers;
    ParquetWriter? writer;
    int count;

    public ParquetExtractWriter(Stream output, IReadOnlyList<ExtractColumn> columns, int rowGroup) : base(columns)
    {
        this.output = output;
        this.rowGroup = rowGroup;
        fields = [.. columns.Select(Field)];
        buffers = [.. Types.Select(type => type switch
        {
            ExtractColumnType.Boolean => (Array)new bool?[rowGroup],
            ExtractColumnType.Count => new long[rowGroup],
            ExtractColumnType.Timestamp => new DateTime?[rowGroup],
            _ => new string?[rowGroup],
        })];
    }

    static DataField Field(ExtractColumn column) => column.Type switch
    {
        ExtractColumnType.Boolean => new DataField<bool?>(column.Name),
        ExtractColumnType.Count => new DataField<long>(column.Name),
        ExtractColumnType.Timestamp => new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis, isNullable: true),
        _ => new DataField<string>(column.Name, true),
    };

    public override async ValueTask WriteAsync(IExtractRow row, CancellationToken ct)
    {
        for (var i = 0; i < Types.Length; i++)
        {
            var isNull = row.IsNull(i);
            switch (Types[i])
            {
                case ExtractColumnType.Boolean: ((bool?[])buffers[i])[count] = isNull ? null : row.GetBoolean(i); break;
                case ExtractColumnType.Count: ((long[])buffers[i])[count] = isNull ? 0 : row.GetCount(i); break;
                case ExtractColumnType.Timestamp: ((DateTime?[])buffers[i])[count] = isNull ? null : row.GetTimestamp(i); break;
                default: ((string?[])buffers[i])[count] = isNull ? null : row.GetString(i); break;
            }
        }
        if (++count == rowGroup) await FlushGroupAsync(ct);
    }

    async Task FlushGroupAsync(CancellationToken ct)
    {
        writer ??= await ParquetWriter.CreateAsync(new ParquetSchema(fields), output, cancellationToken: ct);
        if (count == 0) return;
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < fields.Length; i++)
        {
            switch (buffers[i])
            {
                case bool?[] flags: await group.WriteAsync<bool>(fields[i], flags.AsMemory(0, count), cancellationToken: ct); break;
                case long[] counts: await group.WriteAsync(fields[i], (ReadOnlyMemory<long>)counts.AsMemory(0, count), cancellationToken: ct); break;
                case DateTime?[] instants: await group.WriteAsync<DateTime>(fields[i], instants.AsMemory(0, count), cancellationToken: ct); break;
                case string?[] texts: await group.WriteAsync(fields[i], new ArraySegment<string>(texts!, 0, count)); break;
            }
            // The strings of this group go with it.
            if (buffers[i] is string?[] done) Array.Clear(done, 0, count);
        }
        group.CompleteValidate();
        count = 0;
    }

    public override async Task CompleteAsync(CancellationToken ct)
    {
        await FlushGroupAsync(ct);
        if (writer is not null)
        {
            await writer.DisposeAsync();
            writer = null;
        }
        await output.FlushAsync(ct);
    }

    public override async ValueTask DisposeAsync()
    {
        if (writer is not null) await writer.DisposeAsync();
        await base.DisposeAsync();
    }
}
