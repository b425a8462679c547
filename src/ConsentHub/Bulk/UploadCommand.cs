using System.CommandLine;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Hosting;

namespace ConsentHub.Bulk;

/// <summary>
/// <c>ConsentHub upload FILE</c>: signs in as the source system (client_credentials), streams the file to its upload
/// route, follows the job with the Upload-Id it chose and prints the summary.
/// Exit codes: 0 every record applied or skipped; 1 the upload completed but rejected records; 2 usage or connection
/// error; 3 the upload FAILED.
/// </summary>
public static class UploadCommand
{
    public static bool Matches(string[] args) => args is ["upload", ..];

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool showProgress, CancellationToken ct = default)
    {
        var file = new Argument<string>("FILE")
        {
            Description = "A JSON array of records (seed 004 §3.5) or NDJSON (*.ndjson, *.jsonl); relative to the directory you run the command in.",
        };
        var url = CommandLine.UrlOption("The hub, e.g. http://localhost:5080.", required: true);
        var clientId = new Option<string>("--client-id") { Description = "The source system's OAuth client id.", Required = true, HelpName = "ID" };
        var clientSecret = new Option<string>("--client-secret") { Description = "The source system's OAuth client secret.", Required = true, HelpName = "SECRET" };
        var context = new Option<string>("--context") { Description = "Default: the context of the first record.", HelpName = "CONTEXT" };
        var nmsc = new Option<string>("--nmsc") { Description = "Default: the organisation of the token.", HelpName = "NMSC" };
        var system = new Option<string>("--source-system") { Description = "Default: the source system of the token.", HelpName = "NAME" };
        var propagate = new Option<bool>("--propagate") { Description = "Send the records to the destinations of their clusters (default false)." };
        var upload = new Command("upload", """
            Stream a file of validated consent to the hub as one upload, follow it and print the summary.
            Exit codes: 0 all applied or skipped, 1 some records rejected, 2 usage or connection error, 3 the upload failed.
            """) { file, url, clientId, clientSecret, context, nmsc, system, propagate };
        upload.SetAction(async (parsed, token) =>
        {
            var path = CommandLine.ExistingFile("FILE", parsed.GetRequiredValue(file));
            using var http = new HttpClient { BaseAddress = new Uri(parsed.GetRequiredValue(url).TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
            var signedIn = await TokenAsync(http, parsed.GetRequiredValue(clientId), parsed.GetRequiredValue(clientSecret), token);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", signedIn.AccessToken);
            var organisation = parsed.GetValue(nmsc) ?? signedIn.Nmsc
                ?? throw new CommandLine.UsageException("--nmsc is required: the token names no organisation.");
            var sourceSystem = parsed.GetValue(system) ?? signedIn.SourceSystem
                ?? throw new CommandLine.UsageException("--source-system is required: the token names no source system.");
            var contextName = parsed.GetValue(context) ?? await FirstContextAsync(path, token)
                ?? throw new CommandLine.UsageException("--context is required: the first record names no context.");
            return await UploadAsync(http, path, contextName, organisation, sourceSystem, parsed.GetValue(propagate) ? "true" : "false",
                output, showProgress ? error : null, token);
        });
        return CommandLine.RunAsync(new RootCommand("ConsentHub command-line verbs.") { upload }, args, output, error, ct);
    }

    static async Task<int> UploadAsync(HttpClient http, string file, string context, string nmsc, string system, string propagate,
        TextWriter output, TextWriter? progress, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using var stream = new CountingStream(File.OpenRead(file));
        using var content = new StreamContent(stream, 64 * 1024);
        content.Headers.ContentType = new MediaTypeHeaderValue(
            Path.GetExtension(file).ToLowerInvariant() is ".ndjson" or ".jsonl" ? UploadApi.NdjsonMediaType : "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"contexts/{Uri.EscapeDataString(context)}/nmscs/{Uri.EscapeDataString(nmsc)}/source-systems/{Uri.EscapeDataString(system)}/uploads?propagate={propagate}")
        {
            Content = content,
        };
        request.Headers.Add(UploadApi.UploadIdHeader, id.ToString());

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watching = progress is null ? Task.CompletedTask : WatchAsync(http, id, stream, progress, stop.Token);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        finally
        {
            await stop.CancelAsync();
            await watching;
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                await output.WriteLineAsync($"upload refused: {(int)response.StatusCode} {body[..Math.Min(body.Length, 500)]}");
                return 2;
            }
            var job = JsonNode.Parse(body)!;
            long Count(string name) => job[name]!.GetValue<long>();
            var status = job["status"]!.GetValue<string>();
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"upload {id} {status}: read {Count("read")}, applied {Count("applied")}, rejected {Count("rejected")}, skipped {Count("skipped")}, " +
                $"{job["recordsPerSecond"]!.GetValue<double>():0.#} records/s"));
            if (status == UploadStatuses.Failed)
            {
                await output.WriteLineAsync($"failed: {job["failureReason"]?.GetValue<string>()}");
                return 3;
            }
            if (Count("rejected") > 0)
            {
                await output.WriteLineAsync($"rejected records: GET {UploadApi.PathOf(id)}/errors (NDJSON, or ?format=csv)");
                return 1;
            }
            return 0;
        }
    }

    /// <summary>Draws a bar of the bytes sent, with the hub's own count of records read and their rate.</summary>
    static async Task WatchAsync(HttpClient http, Guid id, CountingStream stream, TextWriter progress, CancellationToken ct)
    {
        var total = stream.Length;
        string records = "";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(500, ct);
                using var response = await http.GetAsync(UploadApi.PathOf(id).TrimStart('/'), ct);
                if (response.IsSuccessStatusCode)
                {
                    var job = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!;
                    records = string.Create(CultureInfo.InvariantCulture,
                        $" {job["read"]!.GetValue<long>():N0} records, {job["recordsPerSecond"]!.GetValue<double>():N0}/s");
                }
                await progress.WriteAsync(Bar(stream.Sent, total) + records);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (HttpRequestException)
        {
            // Progress is a courtesy: the upload itself reports its result.
        }
        await progress.WriteLineAsync(Bar(stream.Sent, total) + records);
    }

    static string Bar(long done, long total)
    {
        const int width = 30;
        var share = total <= 0 ? 1 : Math.Min(1, (double)done / total);
        var filled = (int)(share * width);
        return string.Create(CultureInfo.InvariantCulture,
            $"\r[{new string('#', filled)}{new string('.', width - filled)}] {share * 100:0}% of {total:N0} bytes,");
    }

    sealed record Token(string AccessToken, string? Nmsc, string? SourceSystem);

    static async Task<Token> TokenAsync(HttpClient http, string clientId, string clientSecret, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "oauth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}")));
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new CommandLine.UsageException($"sign-in refused: {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}");
        var json = JsonNode.Parse(body)!;
        return new Token(json["access_token"]!.GetValue<string>(), json["nmsc"]?.GetValue<string>(), json["source_system"]?.GetValue<string>());
    }

    /// <summary>The context of the file's first record, read with the hub's own reader (so only that record is read).</summary>
    static async Task<string?> FirstContextAsync(string file, CancellationToken ct)
    {
        await using var stream = File.OpenRead(file);
        var reader = PipeReader.Create(stream);
        try
        {
            var first = await new UploadReader(reader, 64 * 1024 * 1024, long.MaxValue).NextAsync(ct);
            if (first is null) return null;
            using var document = JsonDocument.Parse(first);
            return document.RootElement.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.String ? context.GetString() : null;
        }
        catch (Exception e) when (e is UploadFormatException or JsonException)
        {
            return null;
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>The file as it is sent, counting the bytes read from it.</summary>
    sealed class CountingStream(Stream inner) : Stream
    {
        long sent;
        public long Sent => Interlocked.Read(ref sent);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => Counted(await inner.ReadAsync(buffer, ct));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        int Counted(int read)
        {
            Interlocked.Add(ref sent, read);
            return read;
        }
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
