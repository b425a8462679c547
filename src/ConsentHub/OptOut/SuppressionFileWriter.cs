using System.Text.Json;
using ConsentHub.Hosting;
using CsvHelper;

namespace ConsentHub.OptOut;

/// <summary>One line of a suppression file. <see cref="OptedOutAt"/> is null for the industry pool's lines, which carry no time.</summary>
public sealed record SuppressionLine(string Kind, string Value, DateTime? OptedOutAt, string Source, bool Hashed);

/// <summary>
/// Writes a suppression file's lines as they come: CSV (RFC 4180 through CsvHelper: header row, CRLF, quoted where needed)
/// or JSON (an array of objects with the same members). A clear file has a fifth column, <c>hashed</c>, true on the lines
/// whose value is a hash all the same (an erased person, the industry pool); a hashed file has none, as every value is.
/// </summary>
public abstract class SuppressionFileWriter : IAsyncDisposable
{
    public const string KindColumn = "kind", ValueColumn = "value", OptedOutAtColumn = "opted_out_at", SourceColumn = "source", HashedColumn = "hashed";

    public int Lines { get; private set; }

    public static SuppressionFileWriter Create(string format, Stream output, bool hashedFile) => format switch
    {
        SuppressionFileFormats.Csv => new Csv(output, hashedFile),
        SuppressionFileFormats.Json => new Json(output, hashedFile),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown format"),
    };

    public async Task WriteAsync(SuppressionLine line, CancellationToken ct)
    {
        await WriteLineAsync(line, ct);
        Lines++;
    }

    protected abstract Task WriteLineAsync(SuppressionLine line, CancellationToken ct);

    /// <summary>Ends the file (the JSON array) and flushes it.</summary>
    public abstract Task CompleteAsync(CancellationToken ct);

    public abstract ValueTask DisposeAsync();

    protected static string? Time(DateTime? utc) => HubTime.Format(utc);

    sealed class Csv : SuppressionFileWriter
    {
        readonly CsvWriter csv;
        readonly bool hashedFile;
        bool started;

        public Csv(Stream output, bool hashedFile)
        {
            this.hashedFile = hashedFile;
            // The defaults are RFC 4180: CRLF, quoted when needed, quotes doubled, UTF-8 without a byte order mark.
            csv = CsvWriter.Create(output, CsvWriterOptions.Default, leaveOpen: true);
        }

        async Task HeaderAsync(CancellationToken ct)
        {
            if (started) return;
            started = true;
            await csv.WriteRecordAsync(hashedFile
                ? [KindColumn, ValueColumn, OptedOutAtColumn, SourceColumn]
                : [KindColumn, ValueColumn, OptedOutAtColumn, SourceColumn, HashedColumn], ct);
        }

        protected override async Task WriteLineAsync(SuppressionLine line, CancellationToken ct)
        {
            await HeaderAsync(ct);
            await csv.WriteRecordAsync(hashedFile
                ? [line.Kind, line.Value, Time(line.OptedOutAt) ?? "", line.Source]
                : [line.Kind, line.Value, Time(line.OptedOutAt) ?? "", line.Source, line.Hashed ? "true" : "false"], ct);
        }

        public override async Task CompleteAsync(CancellationToken ct)
        {
            await HeaderAsync(ct);
            await csv.FlushAsync(ct);
        }

        public override ValueTask DisposeAsync() => csv.DisposeAsync();
    }

    sealed class Json : SuppressionFileWriter
    {
        readonly Utf8JsonWriter json;
        readonly bool hashedFile;

        public Json(Stream output, bool hashedFile)
        {
            this.hashedFile = hashedFile;
            json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
            json.WriteStartArray();
        }

        protected override async Task WriteLineAsync(SuppressionLine line, CancellationToken ct)
        {
            json.WriteStartObject();
            json.WriteString(KindColumn, line.Kind);
            json.WriteString(ValueColumn, line.Value);
            if (Time(line.OptedOutAt) is { } at) json.WriteString(OptedOutAtColumn, at);
            else json.WriteNull(OptedOutAtColumn);
            json.WriteString(SourceColumn, line.Source);
            if (!hashedFile) json.WriteBoolean(HashedColumn, line.Hashed);
            json.WriteEndObject();
            // Flushed as it goes, so a file of millions of lines never sits in the writer's buffer.
            if (json.BytesPending > 64 * 1024) await json.FlushAsync(ct);
        }

        public override async Task CompleteAsync(CancellationToken ct)
        {
            json.WriteEndArray();
            await json.FlushAsync(ct);
        }

        public override ValueTask DisposeAsync() => json.DisposeAsync();
    }
}
