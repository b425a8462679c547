using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Npgsql;

/// <summary>
/// --mode bulk: the initial upload of N generated records (NDJSON, streamed, never held whole), then the DPO export of
/// them, each beside PostgreSQL's own COPY of the same rows on the same server in the same run. With --server-pid the
/// hub's resident memory is sampled every 100 ms and its peak during each phase printed. Needs a database holding
/// nothing else (the COPY baselines copy whole tables) and --pg, the connection string of that database.
/// </summary>
sealed partial class BulkBench(HttpClient http, string adminToken, string token, string context, string nmsc, string system, string pg, int? serverPid)
{
    static readonly string[] UploadTables =
        ["customers", "person_keys", "personal_data", "change_requests", "consent_entries", "channel_entries", "idempotency_records",
         "ledger_entries", "ledger_tree_nodes"];

    public async Task<int> RunAsync(int records)
    {
        // Upload.
        var upload = await MeasureAsync(() => UploadAsync(records, "c", propagate: false));
        var uploadCopy = await CopyInAsync();

        // Export, as an organisation DPO signed in through the login form.
        var username = "bench-dpo-" + Guid.NewGuid().ToString("N")[..8];
        var created = JsonNode.Parse(await Hub.SendAsync(http, HttpMethod.Post, "/admin/users", adminToken, new { username, role = "dpo", context, nmsc }))!;
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var form = await browser.GetStringAsync("/dpo/login");
        var hidden = HiddenField().Match(form);
        using (var login = await browser.PostAsync("/dpo/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [hidden.Groups[1].Value] = WebUtility.HtmlDecode(hidden.Groups[2].Value), ["username"] = username, ["password"] = created["password"]!.GetValue<string>(),
        })))
        {
            if ((int)login.StatusCode is not (302 or 303)) throw new InvalidOperationException($"login: {(int)login.StatusCode}");
        }
        long exported = 0, bytes = 0;
        var export = await MeasureAsync(async () =>
        {
            using var response = await browser.GetAsync($"/exports/{context}/{nmsc}", HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"export: {(int)response.StatusCode}");
            await using var stream = await response.Content.ReadAsStreamAsync();
            // Counts the envelopes by their member "sourceSystemName", which only envelopes have.
            var member = "\"sourceSystemName\""u8.ToArray();
            var buffer = new byte[(1 << 16) + member.Length];
            var carry = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(carry, 1 << 16))) > 0)
            {
                bytes += read;
                var span = buffer.AsSpan(0, carry + read);
                for (var at = span.IndexOf(member); at >= 0; at = span.IndexOf(member))
                {
                    exported++;
                    span = span[(at + member.Length)..];
                }
                carry = Math.Min(member.Length - 1, span.Length);
                span[^carry..].CopyTo(buffer);
            }
        });
        var exportCopy = await CopyOutAsync();

        // The same number of other records of the same system again, with ?propagate=true: the single-change pipeline (its
        // group commit) instead of the set-wise bootstrap. It writes the same rows per record as the first upload (each
        // record is a cluster of its own, so no message is planned), so its baseline is the first upload's COPY FROM.
        var propagated = await MeasureAsync(() => UploadAsync(records, "p", propagate: true));

        Console.WriteLine($"| workload | ConsentHub | COPY | ratio | peak RSS |");
        Console.WriteLine($"|---|---|---|---|---|");
        Console.WriteLine($"| upload, {records:N0} records | {upload.Seconds:F2} s ({records / upload.Seconds:F0} records/s) | {uploadCopy:F3} s (COPY FROM of the {UploadTables.Length} tables it wrote) | {upload.Seconds / uploadCopy:F2}× | {Mb(upload.PeakRss)} |");
        Console.WriteLine($"| upload ?propagate=true, {records:N0} records | {propagated.Seconds:F2} s ({records / propagated.Seconds:F0} records/s) | {uploadCopy:F3} s (the first upload's COPY FROM) | {propagated.Seconds / uploadCopy:F2}× | {Mb(propagated.PeakRss)} |");
        Console.WriteLine($"| export, {exported:N0} records ({bytes / 1e6:F0} MB) | {export.Seconds:F2} s ({exported / export.Seconds:F0} records/s) | {exportCopy:F3} s (COPY TO of the rows it reads) | {export.Seconds / exportCopy:F2}× | {Mb(export.PeakRss)} |");
        return exported == records ? 0 : 1;
    }

    /// <summary>Uploads N generated records (customer ids PREFIX0…) as NDJSON and checks that every one applied.</summary>
    async Task UploadAsync(int records, string prefix, bool propagate)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"/contexts/{context}/nmscs/{nmsc}/source-systems/{system}/uploads" + (propagate ? "?propagate=true" : ""))
        {
            Content = new RecordsContent(records, context, nmsc, system, prefix, emailPrefix: prefix == "c" ? "" : prefix + "-"),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"upload: {(int)response.StatusCode} {text}");
        var job = JsonNode.Parse(text)!;
        Console.Error.WriteLine($"upload job (propagate={propagate}): {job["status"]} applied={job["applied"]} rejected={job["rejected"]} skipped={job["skipped"]}");
        if (job["applied"]!.GetValue<long>() != records) throw new InvalidOperationException($"upload applied {job["applied"]} of {records}");
    }

    static string Mb(long? bytes) => bytes is { } b ? $"{b / (1024.0 * 1024):F0} MiB" : "(no --server-pid)";

    async Task<(double Seconds, long? PeakRss)> MeasureAsync(Func<Task> work)
    {
        long? peak = null;
        using var stop = new CancellationTokenSource();
        var sampler = serverPid is { } pid ? Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var rss = ResidentBytes(pid);
                peak = Math.Max(peak ?? 0, rss);
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
            }
        }) : Task.CompletedTask;
        var clock = Stopwatch.StartNew();
        await work();
        var seconds = clock.Elapsed.TotalSeconds;
        stop.Cancel();
        await sampler;
        return (seconds, peak);
    }

    static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    /// <summary>Copies each table the upload wrote out to a file (not timed), then times COPY FROM of all of them into empty twins with the same indexes.</summary>
    async Task<double> CopyInAsync()
    {
        await using var connection = new NpgsqlConnection(pg);
        await connection.OpenAsync();
        var directory = Directory.CreateTempSubdirectory("consenthub-bench-copy-");
        try
        {
            foreach (var table in UploadTables)
            {
                await using var file = File.Create(Path.Combine(directory.FullName, table));
                await using (var output = await connection.BeginRawBinaryCopyAsync($"COPY {table} TO STDOUT (FORMAT BINARY)"))
                    await output.CopyToAsync(file);
                await ExecuteAsync(connection, $"DROP TABLE IF EXISTS bench_{table}; CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)");
            }
            var clock = Stopwatch.StartNew();
            foreach (var table in UploadTables)
            {
                await using var file = File.OpenRead(Path.Combine(directory.FullName, table));
                await using var input = await connection.BeginRawBinaryCopyAsync($"COPY bench_{table} FROM STDIN (FORMAT BINARY)");
                await file.CopyToAsync(input);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            foreach (var table in UploadTables) await ExecuteAsync(connection, $"DROP TABLE bench_{table}");
            return seconds;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Times COPY TO of what the export reads: the organisation's records, their consents, channels and sealed contacts.</summary>
    async Task<double> CopyOutAsync()
    {
        await using var connection = new NpgsqlConnection(pg);
        await connection.OpenAsync();
        string[] queries =
        [
            $"""SELECT * FROM customers WHERE "Nmsc" = '{nmsc}' AND "Context" = '{context}'""",
            $"""SELECT e.* FROM consent_entries e JOIN customers c ON c."Id" = e."CustomerId" WHERE c."Nmsc" = '{nmsc}' AND c."Context" = '{context}'""",
            $"""SELECT e.* FROM channel_entries e JOIN customers c ON c."Id" = e."CustomerId" WHERE c."Nmsc" = '{nmsc}' AND c."Context" = '{context}'""",
            $"""SELECT p.*, k.* FROM personal_data p JOIN person_keys k ON k."CustomerId" = p."CustomerId" JOIN customers c ON c."Id" = p."CustomerId" WHERE p."Kind" = 'contact' AND c."Nmsc" = '{nmsc}' AND c."Context" = '{context}'""",
        ];
        var clock = Stopwatch.StartNew();
        foreach (var query in queries)
        {
            await using var output = await connection.BeginRawBinaryCopyAsync($"COPY ({query}) TO STDOUT (FORMAT BINARY)");
            await output.CopyToAsync(Stream.Null);
        }
        return clock.Elapsed.TotalSeconds;
    }

    static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex HiddenField();

    /// <summary>N upload records as NDJSON (customer ids PREFIX0…, emails EMAILPREFIXperson0@…), written as the request is sent.</summary>
    internal sealed class RecordsContent(int records, string context, string nmsc, string system, string prefix = "c", string emailPrefix = "") : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? transport)
        {
            var buffer = new MemoryStream();
            for (var n = 0; n < records; n++)
            {
                var envelope = new { context, nmsc, sourceSystemName = system, sourceCustomerId = $"{prefix}{n}", data = Hub.Body(n, $"{emailPrefix}person{n}@example.com") };
                JsonSerializer.Serialize(buffer, envelope);
                buffer.WriteByte((byte)'\n');
                if (buffer.Length > 1 << 16)
                {
                    buffer.Position = 0;
                    await buffer.CopyToAsync(stream);
                    buffer.SetLength(0);
                }
            }
            buffer.Position = 0;
            await buffer.CopyToAsync(stream);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

    }
}
