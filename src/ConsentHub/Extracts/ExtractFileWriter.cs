using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentHub.Hosting;
using CsvHelper;
using Parquet;
using Parquet.Schema;

namespace ConsentHub.Extracts;

/// <summary>
/// Writes an extract's rows, one at a time, into a stream in one of the four formats. Each writer holds at most a bounded
/// part of the file (a buffer, or one Parquet row group) before it reaches the stream.
/// Values come as the column types say: string, bool, DateTime (UTC) or long; null where the record has no value.
/// </summary>
public abstract class ExtractFileWriter : IAsyncDisposable
{
    protected ExtractFileWriter(IReadOnlyList<ExtractColumn> columns) => Columns = columns;

    protected IReadOnlyList<ExtractColumn> Columns { get; }

    public static ExtractFileWriter Create(string format, Stream output, IReadOnlyList<ExtractColumn> columns, int parquetRowGroup) => format switch
    {
        ExtractFormats.Csv => new CsvExtractWriter(output, columns),
        ExtractFormats.Json => new JsonExtractWriter(output, columns, lines: false),
        ExtractFormats.Ndjson => new JsonExtractWriter(output, columns, lines: true),
        ExtractFormats.Parquet => new ParquetExtractWriter(output, columns, parquetRowGroup),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Not an extract format."),
    };

    public abstract ValueTask WriteAsync(object?[] row, CancellationToken ct);

    /// <summary>Writes whatever closes the file (the JSON array's end, Parquet's last row group and footer) and flushes.</summary>
    public abstract Task CompleteAsync(CancellationToken ct);

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>An instant as the JSON and CSV files write it: ISO 8601 in UTC with milliseconds, as the hub's API does.</summary>
    protected static string Instant(object value) => HubTime.Format((DateTime)value)!;
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

    public override async ValueTask WriteAsync(object?[] row, CancellationToken ct)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            switch (row[i])
            {
                case null: csv.WriteField(""); break;
                case string s: csv.WriteField(s); break;
                case bool b: csv.WriteField(b ? "true" : "false"); break;
                case DateTime d: csv.WriteField(Instant(d)); break;
                case long l: csv.WriteField(l.ToString(CultureInfo.InvariantCulture)); break;
                default: csv.WriteField(Convert.ToString(row[i], CultureInfo.InvariantCulture)); break;
            }
        }
        await csv.EndRecordAsync(ct);
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

    public override async ValueTask WriteAsync(object?[] row, CancellationToken ct)
    {
        json.WriteStartObject();
        for (var i = 0; i < names.Length; i++)
        {
            switch (row[i])
            {
                case null: json.WriteNull(names[i]); break;
                case string s: json.WriteString(names[i], s); break;
                case bool b: json.WriteBoolean(names[i], b); break;
                case DateTime d: json.WriteString(names[i], Instant(d)); break;
                case long l: json.WriteNumber(names[i], l); break;
                default: json.WriteString(names[i], Convert.ToString(row[i], CultureInfo.InvariantCulture)); break;
            }
        }
        json.WriteEndObject();
        if (lines)
        {
            // Each line is a JSON text of its own: the writer's pending bytes go out, then the line end, before the next.
            await json.FlushAsync(ct);
            json.Reset();
            await output.WriteAsync(NewLine, ct);
        }
        else if (json.BytesPending > FlushBytes)
        {
            await json.FlushAsync(ct);
        }
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
/// adjusted to UTC, never INT96), one row group per <c>rowGroup</c> rows, so memory holds one row group at most.
/// </summary>
sealed class ParquetExtractWriter : ExtractFileWriter
{
    readonly Stream output;
    readonly int rowGroup;
    readonly DataField[] fields;
    readonly object?[][] buffer;
    ParquetWriter? writer;
    int count;

    public ParquetExtractWriter(Stream output, IReadOnlyList<ExtractColumn> columns, int rowGroup) : base(columns)
    {
        this.output = output;
        this.rowGroup = rowGroup;
        fields = [.. columns.Select(Field)];
        buffer = [.. columns.Select(_ => new object?[rowGroup])];
    }

    static DataField Field(ExtractColumn column) => column.Type switch
    {
        ExtractColumnType.Boolean => new DataField<bool?>(column.Name),
        ExtractColumnType.Count => new DataField<long>(column.Name),
        ExtractColumnType.Timestamp => new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis, isNullable: true),
        _ => new DataField<string>(column.Name, true),
    };

    public override async ValueTask WriteAsync(object?[] row, CancellationToken ct)
    {
        for (var i = 0; i < fields.Length; i++) buffer[i][count] = row[i];
        if (++count == rowGroup) await FlushGroupAsync(ct);
    }

    async Task FlushGroupAsync(CancellationToken ct)
    {
        writer ??= await ParquetWriter.CreateAsync(new ParquetSchema(fields), output, cancellationToken: ct);
        if (count == 0) return;
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < fields.Length; i++)
        {
            var values = buffer[i];
            switch (Columns[i].Type)
            {
                case ExtractColumnType.Boolean:
                    await group.WriteAsync<bool>(fields[i], (ReadOnlyMemory<bool?>)Take(values, v => (bool?)v), cancellationToken: ct);
                    break;
                case ExtractColumnType.Count:
                    await group.WriteAsync<long>(fields[i], (ReadOnlyMemory<long>)Take(values, v => (long)v!), cancellationToken: ct);
                    break;
                case ExtractColumnType.Timestamp:
                    await group.WriteAsync<DateTime>(fields[i], (ReadOnlyMemory<DateTime?>)Take(values, v => (DateTime?)v), cancellationToken: ct);
                    break;
                default:
                    await group.WriteAsync(fields[i], (IReadOnlyCollection<string>)Take(values, v => (string)v!));
                    break;
            }
            Array.Clear(values, 0, count);
        }
        group.CompleteValidate();
        count = 0;
    }

    T[] Take<T>(object?[] values, Func<object?, T> convert)
    {
        var array = new T[count];
        for (var i = 0; i < count; i++) array[i] = convert(values[i]);
        return array;
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
