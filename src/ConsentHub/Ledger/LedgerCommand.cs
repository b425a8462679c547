using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Unicode;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

/// <summary>
/// <c>ConsentHub ledger verify</c> and <c>ledger export</c>. Verification reads the configured database, a running hub
/// (<c>--url</c>) or an exported directory (<c>--dir</c>); against a hub or a directory the checkpoint's signature is
/// checked with a public key the auditor supplies, never with one the server offers.
/// </summary>
public static class LedgerCommand
{
    public static bool Matches(string[] args) => args is ["ledger", ..];

    /// <summary>Runs the verb as the hub's command line does: on the console, with a progress bar when stderr is a terminal.</summary>
    public static Task<int> RunAsync(IServiceProvider services, string[] args) =>
        RunAsync(services, args, Console.Out, Console.Error, showProgress: !Console.IsErrorRedirected);

    /// <summary>Runs the verb writing its results to <paramref name="output"/> and errors (and any progress) to <paramref name="error"/>.</summary>
    public static Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, TextWriter error, bool showProgress) =>
        CommandLine.RunAsync(Commands(services, output, error, showProgress), args, output, error);

    static RootCommand Commands(IServiceProvider services, TextWriter output, TextWriter error, bool showProgress)
    {
        var url = CommandLine.UrlOption("A running hub to verify or export, e.g. http://localhost:5080.");
        var dir = new Option<string>("--dir") { Description = "A directory written by 'ledger export'.", HelpName = "DIR" };
        var publicKey = new Option<string>("--public-key")
        {
            Description = "The verifier key \"name+keyid+base64\" of GET /ledger/public-key, obtained out of band. Required with --url or --dir.",
            HelpName = "KEY",
        };
        var token = new Option<string>("--token")
        {
            Description = "An admin access token; default: the CONSENTHUB_TOKEN environment variable.",
            HelpName = "TOKEN",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONSENTHUB_TOKEN")!,
        };
        var since = new Option<string>("--since") { Description = "A checkpoint saved earlier (--save): check that the ledger only grew since.", HelpName = "FILE" };
        var save = new Option<string>("--save") { Description = "Write the verified latest checkpoint to this file.", HelpName = "FILE" };

        var verify = new Command("verify", """
            Verify the ledger: the hash chain, the Merkle tree and the signed checkpoints. Without --url or --dir, the
            configured database with this hub's own key; with them, with the key given (never one the server offers).
            Exit codes: 0 valid, 1 invalid (the first bad index and the kind of fault are printed), 2 usage or connection error.
            """) { url, dir, publicKey, token, since, save };
        verify.Validators.Add(result =>
        {
            var remote = result.GetResult(url) is not null;
            var local = result.GetResult(dir) is not null;
            if (remote && local) result.AddError("Give either --url or --dir, not both.");
            else if ((remote || local) && result.GetResult(publicKey) is null) result.AddError("--public-key is required with --url or --dir.");
            else if (!remote && !local && (result.GetResult(publicKey) ?? result.GetResult(since) ?? result.GetResult(save)) is not null)
                result.AddError("--public-key, --since and --save need --url or --dir; without them the configured database is verified with the hub's own key.");
            if (local && result.GetResult(save) is not null) result.AddError("--save needs --url.");
        });
        var progress = showProgress ? error : null;
        verify.SetAction((parsed, ct) => parsed.GetValue(url) is { } hub
            ? VerifyOfflineAsync(LedgerSource.Remote(hub, parsed.GetValue(token)), parsed.GetRequiredValue(publicKey), parsed.GetValue(since), parsed.GetValue(save), output, progress, ct)
            : parsed.GetValue(dir) is { } directory
                ? VerifyOfflineAsync(LedgerSource.Directory(ExistingDirectory("--dir", directory)), parsed.GetRequiredValue(publicKey), parsed.GetValue(since), null, output, progress, ct)
                : VerifyDatabaseAsync(services, output));

        var exportUrl = CommandLine.UrlOption("The running hub to export from.", required: true);
        var outDir = new Option<string>("--out") { Description = "The directory to write entries.txt and checkpoint.txt into (created if missing).", Required = true, HelpName = "DIR" };
        var export = new Command("export", "Copy a hub's ledger entries and latest signed checkpoint into a directory, for 'ledger verify --dir'.")
        {
            exportUrl, outDir, token,
        };
        export.SetAction((parsed, ct) => ExportAsync(parsed.GetRequiredValue(exportUrl), parsed.GetValue(token), CommandLine.ResolvePath(parsed.GetRequiredValue(outDir)), output, ct));

        return new RootCommand("ConsentHub command-line verbs.") { new Command("ledger", "Verify or export the tamper-evident ledger.") { verify, export } };
    }

    static string ExistingDirectory(string option, string path)
    {
        var full = CommandLine.ResolvePath(path);
        return Directory.Exists(full) ? full : throw new CommandLine.UsageException($"{option}: no such directory: {full}");
    }

    static async Task<int> VerifyDatabaseAsync(IServiceProvider services, TextWriter output)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ConsentDb>();
        var key = scope.ServiceProvider.GetRequiredService<CheckpointKey>();
        await key.LoadAsync(db, scope.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(),
            scope.ServiceProvider.GetRequiredService<TimeProvider>(), CancellationToken.None);
        var result = await LedgerVerifier.VerifyAsync(db, CancellationToken.None, key.VerifierKey);
        if (result.Valid)
        {
            await output.WriteLineAsync($"ledger valid: {result.Entries} entries verified");
            return 0;
        }
        await output.WriteLineAsync($"ledger INVALID at index {result.FirstBadIndex}: {result.Kind}: {result.Reason} ({result.Entries} entries verified before it)");
        return 1;
    }

    /// <param name="progress">Where the progress bar goes (a terminal), or null for none.</param>
    static async Task<int> VerifyOfflineAsync(
        LedgerSource source, string key, string? since, string? save, TextWriter output, TextWriter? progress, CancellationToken ct)
    {
        using var _ = source;
        if (SignedNote.ParseVerifierKey(key, out var keyError) is null) throw new CommandLine.UsageException($"--public-key: {keyError}");
        var savedNote = since is null ? null : await File.ReadAllTextAsync(CommandLine.ExistingFile("--since", since), ct);
        var savePath = save is null ? null : CommandLine.ResolvePath(save);

        var result = await LedgerCheck.RunAsync(source, key, savedNote,
            progress: progress is null ? null : (done, total) => progress.Write(Progress(done, total)), ct);
        progress?.WriteLine();
        foreach (var line in result.Checked) await output.WriteLineAsync(line);
        if (result.Fault is { } fault)
        {
            await output.WriteLineAsync($"ledger INVALID at index {fault.Index}: {fault.Kind}: {fault.Reason}");
            return 1;
        }
        if (savePath is not null) await File.WriteAllTextAsync(savePath, result.CheckpointNote, ct);
        await output.WriteLineAsync("ledger valid");
        return 0;
    }

    static async Task<int> ExportAsync(string url, string? token, string path, TextWriter output, CancellationToken ct)
    {
        var directory = Directory.CreateDirectory(path).FullName;
        using var source = LedgerSource.Remote(url, token);
        var note = await source.CheckpointNoteAsync(ct);
        long count = 0;
        await using (var entries = new StreamWriter(Path.Combine(directory, LedgerSource.EntriesFile)))
        {
            await foreach (var (hash, canonical) in source.EntriesAsync(ct))
            {
                await entries.WriteAsync($"{hash} {canonical}\n");
                count++;
            }
        }
        await File.WriteAllTextAsync(Path.Combine(directory, LedgerSource.CheckpointFile), note, ct);
        await output.WriteLineAsync($"exported {count} entries and the latest checkpoint to {directory}");
        return 0;
    }

    static string Progress(long done, long total)
    {
        const int width = 30;
        var share = total <= 0 ? 0 : Math.Min(1, (double)done / total);
        var filled = (int)(share * width);
        return $"\r[{new string('#', filled)}{new string('.', width - filled)}] {done.ToString("N0", CultureInfo.InvariantCulture)} / {total.ToString("N0", CultureInfo.InvariantCulture)}";
    }
}

/// <summary>Where an offline verification reads the ledger: a running hub's export endpoint, or an exported directory.</summary>
public abstract class LedgerSource : IDisposable
{
    public const string EntriesFile = "entries.txt";
    public const string CheckpointFile = "checkpoint.txt";

    public abstract IAsyncEnumerable<(string Hash, string Canonical)> EntriesAsync(CancellationToken ct);
    public abstract Task<string> CheckpointNoteAsync(CancellationToken ct);
    /// <summary>The hub's consistency proof between two sizes, or null where there is no hub to ask.</summary>
    public abstract Task<IReadOnlyList<byte[]>?> ConsistencyProofAsync(long from, long to, CancellationToken ct);
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>
    /// Feeds every entry of <see cref="EntriesAsync"/> to the audit in order, up to its first fault;
    /// <paramref name="added"/> after each entry it accepts.
    /// </summary>
    internal virtual async Task AuditAsync(LedgerAudit audit, Action? added, CancellationToken ct)
    {
        await foreach (var (hash, canonical) in EntriesAsync(ct))
        {
            if (!audit.Add(hash, canonical)) break;
            added?.Invoke();
        }
    }

    public static LedgerSource Remote(string url, string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new RemoteSource(http);
    }

    /// <summary>A hub reached through a client already pointed (and authorised) at it.</summary>
    public static LedgerSource Remote(HttpClient http) => new RemoteSource(http);
    public static LedgerSource Directory(string path) => new DirectorySource(path);

    static (string, string) Split(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? (line, "") : (line[..space], line[(space + 1)..]);
    }

    sealed class RemoteSource(HttpClient http) : LedgerSource
    {
        public override async IAsyncEnumerable<(string Hash, string Canonical)> EntriesAsync(
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            long from = 0;
            while (true)
            {
                var text = await GetAsync($"/ledger/export?from={from}&limit={LedgerApi.MaxExportLines}", ct);
                var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                foreach (var line in lines) yield return Split(line);
                if (lines.Length < LedgerApi.MaxExportLines) yield break;
                from += lines.Length;
            }
        }

        public override Task<string> CheckpointNoteAsync(CancellationToken ct) => GetAsync("/ledger/checkpoint?format=note", ct);

        public override async Task<IReadOnlyList<byte[]>?> ConsistencyProofAsync(long from, long to, CancellationToken ct)
        {
            var proof = JsonNode.Parse(await GetAsync($"/ledger/proofs/consistency?from={from}&to={to}", ct))!["proof"]!.AsArray();
            return [.. proof.Select(p => Convert.FromBase64String(p!.GetValue<string>()))];
        }

        async Task<string> GetAsync(string path, CancellationToken ct)
        {
            using var response = await http.GetAsync(path, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"GET {path}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}");
            return body;
        }

        public override void Dispose()
        {
            http.Dispose();
            base.Dispose();
        }
    }

    sealed class DirectorySource(string path) : LedgerSource
    {
        public override async IAsyncEnumerable<(string Hash, string Canonical)> EntriesAsync(
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            using var reader = new StreamReader(Path.Combine(path, EntriesFile));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.Length > 0) yield return Split(line);
            }
        }

        public override Task<string> CheckpointNoteAsync(CancellationToken ct) => File.ReadAllTextAsync(Path.Combine(path, CheckpointFile), ct);

        public override Task<IReadOnlyList<byte[]>?> ConsistencyProofAsync(long from, long to, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<byte[]>?>(null);

        /// <summary>
        /// The entries as <see cref="EntriesAsync"/> reads them, but read as bytes in large blocks and given to the audit
        /// as UTF-8, without a string per line: the same lines (split at '\n', '\r' and "\r\n", empty ones skipped) and
        /// the same bytes hashed. A line that is not valid UTF-8 or holds a '\r' goes through strings, as before; a file
        /// with a UTF-16 or UTF-32 byte order mark is read entirely as before.
        /// </summary>
        internal override async Task AuditAsync(LedgerAudit audit, Action? added, CancellationToken ct)
        {
            await using var file = new FileStream(Path.Combine(path, EntriesFile), FileMode.Open, FileAccess.Read, FileShare.Read,
                bufferSize: 0, FileOptions.SequentialScan);
            var buffer = new byte[1 << 20];
            var filled = 0;
            var first = true;
            while (true)
            {
                var read = await file.ReadAsync(buffer.AsMemory(filled), ct);
                filled += read;
                var start = 0;
                if (first)
                {
                    // Byte order marks, as StreamReader detects them: from the first four bytes, or all there are.
                    if (filled < 4 && read > 0) continue;
                    first = false;
                    var head = buffer.AsSpan(0, filled);
                    if (head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])
                        || head.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0xFE, 0xFF]))
                    {
                        await base.AuditAsync(audit, added, ct);
                        return;
                    }
                    if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) start = 3;
                }
                var consumed = Feed(buffer.AsSpan(start, filled - start), final: read == 0, audit, added, out var stop) + start;
                if (stop || read == 0) return;
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                if (filled == buffer.Length) Array.Resize(ref buffer, 2 * buffer.Length);
            }
        }

        /// <summary>Feeds the complete lines of <paramref name="data"/> (all of it when final); the bytes consumed.</summary>
        static int Feed(ReadOnlySpan<byte> data, bool final, LedgerAudit audit, Action? added, out bool stop)
        {
            stop = false;
            var complete = final ? data.Length : data.LastIndexOf((byte)'\n') + 1;
            var lines = data[..complete];
            // Entries the hub exported are plain UTF-8 without '\r': then each line needs no further check.
            var plain = lines.IndexOf((byte)'\r') < 0 && Utf8.IsValid(lines);
            while (!lines.IsEmpty)
            {
                var end = lines.IndexOf((byte)'\n');
                var line = end < 0 ? lines : lines[..end];
                lines = end < 0 ? [] : lines[(end + 1)..];
                if (line.IsEmpty) continue;
                bool accepted;
                if (plain || (line.IndexOf((byte)'\r') < 0 && Utf8.IsValid(line)))
                {
                    var space = line.IndexOf((byte)' ');
                    accepted = space < 0 ? audit.Add(line, []) : audit.Add(line[..space], line[(space + 1)..]);
                    if (accepted) added?.Invoke();
                }
                else
                {
                    accepted = true;
                    // As StreamReader: invalid sequences decode to U+FFFD, and '\r' ends a line too.
                    foreach (var part in Encoding.UTF8.GetString(line).Split('\r', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var (hash, canonical) = Split(part);
                        if (!(accepted = audit.Add(hash, canonical))) break;
                        added?.Invoke();
                    }
                }
                if (!accepted)
                {
                    stop = true;
                    break;
                }
            }
            return complete;
        }
    }
}

public sealed record LedgerCheckResult(IReadOnlyList<string> Checked, LedgerFault? Fault, string CheckpointNote);

/// <summary>The offline verification: signature, hash chain, tree root against the checkpoint, and consistency with a saved one.</summary>
public static class LedgerCheck
{
    public static async Task<LedgerCheckResult> RunAsync(
        LedgerSource source, string verifierKey, string? savedNote, Action<long, long>? progress, CancellationToken ct)
    {
        var checkedLines = new List<string>();
        var note = await source.CheckpointNoteAsync(ct);
        LedgerCheckResult Fail(string kind, long index, string reason) => new(checkedLines, new LedgerFault(kind, index, reason), note);

        var text = SignedNote.Open(note, verifierKey, out var signatureError);
        var checkpoint = text is null ? null : CheckpointBody.Parse(text);
        if (checkpoint is null)
            return Fail(LedgerFaults.BadSignature, -1, $"the latest checkpoint does not verify with the given key: {signatureError ?? "malformed checkpoint"}");
        checkedLines.Add($"checkpoint  signature OK ({checkpoint.Origin}), tree size {checkpoint.Size}");

        CheckpointBody? saved = null;
        if (savedNote is not null)
        {
            var savedText = SignedNote.Open(savedNote, verifierKey, out var savedError);
            saved = savedText is null ? null : CheckpointBody.Parse(savedText);
            if (saved is null) return Fail(LedgerFaults.BadSignature, -1, $"the saved checkpoint does not verify with the given key: {savedError ?? "malformed checkpoint"}");
            checkedLines.Add($"saved       signature OK, tree size {saved.Size}");
            if (saved.Size > checkpoint.Size)
                return Fail(LedgerFaults.InconsistentCheckpoint, checkpoint.Size,
                    $"the saved checkpoint covers {saved.Size} entries but the latest only {checkpoint.Size}: the log shrank");
        }

        var audit = new LedgerAudit(saved is null ? [checkpoint.Size] : [checkpoint.Size, saved.Size]);
        await source.AuditAsync(audit, progress is null ? null : () =>
        {
            if (audit.Verified % 10_000 == 0) progress(audit.Verified, checkpoint.Size);
        }, ct);
        progress?.Invoke(audit.Verified, checkpoint.Size);
        if (audit.Fault is { } fault) return new(checkedLines, fault, note);
        checkedLines.Add($"entries     {audit.Verified} verified: every hash and link of the chain holds");
        if (audit.Verified < checkpoint.Size)
            return Fail(LedgerFaults.Missing, audit.Verified, $"the checkpoint covers {checkpoint.Size} entries but only {audit.Verified} are stored");

        if (!audit.Roots.TryGetValue(checkpoint.Size, out var root) || !root.AsSpan().SequenceEqual(checkpoint.RootHash))
            return Fail(LedgerFaults.InconsistentCheckpoint, checkpoint.Size - 1,
                $"the Merkle root of the first {checkpoint.Size} entries differs from the signed checkpoint: entries were rewritten");
        checkedLines.Add($"tree        root of the first {checkpoint.Size} entries matches the checkpoint");

        if (saved is not null)
        {
            if (!audit.Roots.TryGetValue(saved.Size, out var savedRoot) || !savedRoot.AsSpan().SequenceEqual(saved.RootHash))
                return Fail(LedgerFaults.InconsistentCheckpoint, saved.Size - 1,
                    $"the first {saved.Size} entries no longer have the root of the saved checkpoint: history was rewritten");
            var proof = saved.Size == checkpoint.Size ? [] : await source.ConsistencyProofAsync(saved.Size, checkpoint.Size, ct);
            if (proof is not null && saved.Size < checkpoint.Size && !Merkle.VerifyConsistency(saved.Size, checkpoint.Size, saved.RootHash, checkpoint.RootHash, proof))
                return Fail(LedgerFaults.InconsistentCheckpoint, saved.Size - 1,
                    $"the hub's consistency proof from {saved.Size} to {checkpoint.Size} does not verify");
            checkedLines.Add($"since       the saved checkpoint ({saved.Size}) is a prefix of the latest ({checkpoint.Size})"
                + (proof is null ? "" : "; the hub's consistency proof verifies"));
        }
        return new(checkedLines, null, note);
    }
}
