using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Bulk;

namespace ConsentHub.Tests.Bulk;

public sealed class UploadReaderTests
{
    /// <summary>Writes <paramref name="body"/> into a pipe <paramref name="chunk"/> bytes at a time and reads every record.</summary>
    static async Task<(List<string> Records, long Bytes, string? Error)> ReadAsync(string body, int chunk, int maxRecordBytes = 1 << 20)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var bytes = Encoding.UTF8.GetBytes(body);
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < bytes.Length; i += chunk)
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
            await pipe.Writer.CompleteAsync();
        });
        var reader = new UploadReader(pipe.Reader, maxRecordBytes, long.MaxValue);
        var records = new List<string>();
        try
        {
            while (await reader.NextAsync(CancellationToken.None) is { } record) records.Add(Encoding.UTF8.GetString(record));
        }
        catch (UploadFormatException e)
        {
            return (records, reader.Bytes, e.Message);
        }
        finally
        {
            await writing;
        }
        return (records, reader.Bytes, null);
    }

    const string Record1 = """{"sourceCustomerId":"a","data":{"note":"with \"escapes\", [brackets] and {braces} \u00e9"}}""";
    const string Record2 = """{ "sourceCustomerId" : "b" , "data" : { "n" : [ 1, 2.5e3, true, null ] } }""";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task Records_of_an_array_are_read_whole_however_the_bytes_are_split(int chunk)
    {
        var body = $"\uFEFF  [\n {Record1} ,\r\n\t{Record2}\n]\n  ".TrimStart('\uFEFF');
        var (records, bytes, error) = await ReadAsync(body, chunk);
        Assert.Null(error);
        Assert.Equal([Record1, Record2], records);
        Assert.Equal(Encoding.UTF8.GetByteCount(body), bytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task Records_of_ndjson_are_read_whole_however_the_bytes_are_split(int chunk)
    {
        var (records, _, error) = await ReadAsync($"{Record1}\n{Record2}\r\n\n{Record1}", chunk);
        Assert.Null(error);
        Assert.Equal([Record1, Record2, Record1], records);
        Assert.Equal("a", JsonNode.Parse(records[2])!["sourceCustomerId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("[1, 2]", "Each element of the array must be a record")]
    [InlineData("[{}] []", "Nothing may follow the array's closing ']'")]
    [InlineData("\"text\"", "must start with '['")]
    [InlineData("{} 7", "Each line must hold one record")]
    [InlineData("   ", "holds no records")]
    [InlineData("[{}, {\"a\" 1}]", "line 1")]
    public async Task A_file_that_is_not_a_list_of_records_is_refused_with_where(string body, string expected)
    {
        var (_, _, error) = await ReadAsync(body, 2);
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_syntax_error_is_reported_at_its_line_after_the_records_before_it()
    {
        var (records, _, error) = await ReadAsync($"[\n{Record1},\n{Record2},\n{{\"a\": tru}}\n]", 3);
        Assert.Equal([Record1, Record2], records);
        Assert.Contains("line 4", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_larger_than_the_limit_stops_the_reader_without_holding_it()
    {
        var big = $"{{\"data\":\"{new string('x', 5000)}\"}}";
        var (records, _, error) = await ReadAsync($"[{Record1},{big}]", 100, maxRecordBytes: 1024);
        Assert.Equal([Record1], records);
        // Which of the two messages depends on how much of the record the first read brought: "More than 1024 bytes
        // without a complete record …" or "… has 5012 bytes, more than 1024".
        Assert.Contains("more than 1024", error, StringComparison.OrdinalIgnoreCase);
    }
}
