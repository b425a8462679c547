// Measures the offline ledger verification against raw SHA-256 over the same bytes, in one run.
// It synthesises a ledger the way the hub writes one (LedgerHash, MerkleRootBuilder, a signed checkpoint),
// exports it as DIR/entries.txt and DIR/checkpoint.txt, then times, round by round:
//   (a) LedgerCheck.RunAsync over the directory: file, chain, tree, signature, as `ConsentHub ledger verify --dir`;
//   (b) StreamReader line by line, as the directory source reads, and ONE SHA-256 over each line's canonical bytes;
//   and, for insight, raw SHA-256 with the file read as bytes, and both sides without file reading.
//   dotnet run -c Release --project bench/LedgerVerify -- --entries 1000000 [--rounds 3] [--dir DIR] [--reuse]
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConsentHub.Ledger;

var options = Options.Parse(args);
var entries = long.Parse(options.Get("entries", "1000000"), CultureInfo.InvariantCulture);
var rounds = int.Parse(options.Get("rounds", "3"), CultureInfo.InvariantCulture);
var dir = Path.GetFullPath(options.Get("dir", Path.Combine(Path.GetTempPath(), $"ledger-verify-{entries}")));
var reuse = options.Has("reuse");
if (entries < 1 || rounds < 1) throw new ArgumentException("--entries and --rounds must be positive");

var key = Synthetic.Ensure(dir, entries, reuse);
Console.WriteLine($"verifier key  {key}");
// A small ledger beside it, verified once by every measurement first, so that none is timed cold.
var warmDir = Path.Combine(dir, "warm-up");
var warmKey = Synthetic.Ensure(warmDir, Math.Min(entries, 20_000), reuse);

var entriesPath = Path.Combine(dir, LedgerSource.EntriesFile);
var fileBytes = new FileInfo(entriesPath).Length;
var preloaded = Preloaded.Load(entriesPath);
var canonicalBytes = preloaded.CanonicalBytes;
Console.WriteLine($"ledger        {dir}: {entries:N0} entries, {fileBytes:N0} bytes in {LedgerSource.EntriesFile}, " +
    $"{canonicalBytes:N0} of them canonical encodings ({canonicalBytes / (double)entries:F0} bytes an entry on average)");
Console.WriteLine($"machine       {Environment.ProcessorCount} cores, load average {Machine.Load()} (before), " +
    $"{RuntimeInfo()}, SHA-256 by {Machine.ShaEngine()}");

var main = new Target(dir, key, preloaded);
var warm = new Target(warmDir, warmKey, Preloaded.Load(Path.Combine(warmDir, LedgerSource.EntriesFile)));
var measures = new Measure[]
{
    new("a", "verification: LedgerCheck.RunAsync --dir (file, chain, tree, signature)", fileBytes,
        t => Runs.VerifyDirectoryAsync(t.Dir, t.Key)),
    new("b", "baseline: StreamReader lines, one SHA-256 over each canonical", fileBytes,
        t => Runs.RawStreamReaderAsync(t.EntriesPath)),
    new("b'", "raw SHA-256, the file read as UTF-8 bytes (no strings)", fileBytes,
        t => Task.FromResult(Runs.RawFileBytes(t.EntriesPath))),
    new("c1", "raw SHA-256, canonical bytes preloaded in memory", canonicalBytes,
        t => Task.FromResult(Runs.RawInMemory(t.Data))),
    new("c1'", "raw SHA-256 as c1, one IncrementalHash reset and reused", canonicalBytes,
        t => Task.FromResult(Runs.RawInMemoryReused(t.Data))),
    new("c2", "audit (chain + tree), (hash, canonical) strings preloaded", canonicalBytes,
        t => Task.FromResult(Runs.AuditStrings(t.Data))),
    new("c2'", "audit (chain + tree), UTF-8 bytes preloaded (LedgerAudit.Add on spans)", canonicalBytes,
        t => Task.FromResult(Runs.AuditBytes(t.Data))),
    new("c3", "the SHA-256s verification needs (chain, leaf, node), one-shot, preloaded", canonicalBytes,
        t => Task.FromResult(Runs.HashFloor(t.Data, reused: false))),
    new("c3'", "the SHA-256s verification needs, one IncrementalHash reused, preloaded", canonicalBytes,
        t => Task.FromResult(Runs.HashFloor(t.Data, reused: true))),
};

foreach (var m in measures) await m.Run(warm);
for (var round = 1; round <= rounds; round++)
{
    foreach (var m in measures)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var stopwatch = Stopwatch.StartNew();
        var count = await m.Run(main);
        stopwatch.Stop();
        if (count != entries) throw new InvalidOperationException($"({m.Id}) processed {count} entries, not {entries}");
        m.Seconds.Add(stopwatch.Elapsed.TotalSeconds);
    }
    Console.Error.WriteLine($"round {round}/{rounds}: " + string.Join("  ", measures.Select(m => $"({m.Id}) {m.Seconds[^1]:F3}s")));
}
Console.WriteLine($"machine       load average {Machine.Load()} (after)");

Console.WriteLine();
Console.WriteLine($"{rounds} rounds each, interleaved; best and median wall-clock seconds; rates from the best round.");
Console.WriteLine();
var baseline = measures.Single(m => m.Id == "b");
Console.WriteLine($"|     | {"measurement",-72} |   entries |        bytes |  best s | median s |  entries/s |    MB/s | ÷ (b) best | ÷ (b) median |");
Console.WriteLine($"|-----|{new string('-', 74)}|----------:|-------------:|--------:|---------:|-----------:|--------:|-----------:|-------------:|");
foreach (var m in measures)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {m.Id,-3} | {m.Label,-72} | {entries,9} | {m.Bytes,12} | {m.Best,7:F3} | {m.Median,8:F3} | {entries / m.Best,10:N0} | {m.Bytes / m.Best / 1e6,7:F1} | {m.Best / baseline.Best,10:F2} | {m.Median / baseline.Median,12:F2} |"));
}
Console.WriteLine();
var a = measures.Single(m => m.Id == "a");
var verdict = a.Median / baseline.Median <= 2 ? "within" : "NOT within";
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"ratio (a)/(b): {a.Best / baseline.Best:F2} (best), {a.Median / baseline.Median:F2} (median): {verdict} 2×"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"ratio (a)/(b'): {a.Best / measures.Single(m => m.Id == "b'").Best:F2} (best), against raw SHA-256 with the file read as bytes"));
if (!options.Has("dir") && !options.Has("keep"))
    Directory.Delete(dir, recursive: true);

static string RuntimeInfo() =>
    $".NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC";

sealed record Target(string Dir, string Key, Preloaded Data)
{
    public string EntriesPath => Path.Combine(Dir, LedgerSource.EntriesFile);
}

sealed class Measure(string id, string label, long bytes, Func<Target, Task<long>> run)
{
    public string Id => id;
    public string Label => label;
    public long Bytes => bytes;
    public List<double> Seconds { get; } = [];
    public double Best => Seconds.Min();
    public double Median
    {
        get
        {
            var sorted = Seconds.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        }
    }
    public Task<long> Run(Target target) => run(target);
}

static class Runs
{
    // Keeps the hashes observably used.
    public static int Sink;

    public static async Task<long> VerifyDirectoryAsync(string dir, string key)
    {
        using var source = LedgerSource.Directory(dir);
        var result = await LedgerCheck.RunAsync(source, key, null, null, CancellationToken.None);
        if (result.Fault is { } fault) throw new InvalidOperationException($"the synthetic ledger does not verify: {fault}");
        var size = CheckpointBody.Parse(SignedNote.Open(result.CheckpointNote, key, out _)!)!.Size;
        return size;
    }

    /// <summary>The directory source's reading (StreamReader, ReadLineAsync, split at the first space), then one SHA-256.</summary>
    public static async Task<long> RawStreamReaderAsync(string path)
    {
        using var reader = new StreamReader(path);
        var buffer = new byte[4096];
        var hash = new byte[32];
        long count = 0;
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            if (line.Length == 0) continue;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var canonical = space < 0 ? [] : line.AsSpan(space + 1);
            var max = Encoding.UTF8.GetMaxByteCount(canonical.Length);
            if (buffer.Length < max) buffer = new byte[max * 2];
            var length = Encoding.UTF8.GetBytes(canonical, buffer);
            SHA256.HashData(buffer.AsSpan(0, length), hash);
            Sink ^= hash[0];
            count++;
        }
        return count;
    }

    /// <summary>The file read in large blocks of bytes, split on '\n' and the first ' ', one SHA-256 per canonical.</summary>
    public static long RawFileBytes(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        var filled = 0;
        long count = 0;
        Span<byte> hash = stackalloc byte[32];
        while (true)
        {
            var read = file.Read(buffer, filled, buffer.Length - filled);
            filled += read;
            var data = buffer.AsSpan(0, filled);
            var consumed = 0;
            while (true)
            {
                var rest = data[consumed..];
                var newline = rest.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    if (read > 0) break;
                    newline = rest.Length; // the last line, without its newline
                    if (newline == 0) break;
                }
                var line = rest[..newline];
                consumed += Math.Min(newline + 1, rest.Length);
                if (line.Length == 0) continue;
                var space = line.IndexOf((byte)' ');
                SHA256.HashData(space < 0 ? [] : line[(space + 1)..], hash);
                Sink ^= hash[0];
                count++;
            }
            if (read == 0) return count;
            data[consumed..].CopyTo(buffer);
            filled -= consumed;
            if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        }
    }

    public static long RawInMemory(Preloaded ledger)
    {
        Span<byte> hash = stackalloc byte[32];
        var bytes = ledger.Bytes;
        for (var i = 0; i < ledger.Count; i++)
        {
            SHA256.HashData(bytes.AsSpan(ledger.Start[i], ledger.Length[i]), hash);
            Sink ^= hash[0];
        }
        return ledger.Count;
    }

    public static long RawInMemoryReused(Preloaded ledger)
    {
        Span<byte> hash = stackalloc byte[32];
        var bytes = ledger.Bytes;
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var i = 0; i < ledger.Count; i++)
        {
            sha256.AppendData(bytes.AsSpan(ledger.Start[i], ledger.Length[i]));
            sha256.GetHashAndReset(hash);
            Sink ^= hash[0];
        }
        return ledger.Count;
    }

    public static long AuditStrings(Preloaded ledger)
    {
        var (hashes, canonicals) = ledger.Strings();
        var audit = new LedgerAudit([ledger.Count]);
        for (var i = 0; i < hashes.Length; i++)
            if (!audit.Add(hashes[i], canonicals[i])) throw new InvalidOperationException($"audit fault: {audit.Fault}");
        return audit.Verified;
    }

    public static long AuditBytes(Preloaded ledger)
    {
        var bytes = ledger.Bytes;
        var audit = new LedgerAudit([ledger.Count]);
        for (var i = 0; i < ledger.Count; i++)
        {
            var hash = bytes.AsSpan(ledger.HashStart[i], ledger.Start[i] - 1 - ledger.HashStart[i]);
            if (!audit.Add(hash, bytes.AsSpan(ledger.Start[i], ledger.Length[i]))) throw new InvalidOperationException($"audit fault: {audit.Fault}");
        }
        return audit.Verified;
    }

    /// <summary>
    /// What any verifier of this format must hash per entry: SHA-256(canonical) for the chain, SHA-256(0x00 ‖ canonical)
    /// for the leaf, and (amortised, n − 1 in all) one SHA-256(0x01 ‖ left ‖ right) for an interior node.
    /// </summary>
    public static long HashFloor(Preloaded ledger, bool reused)
    {
        var bytes = ledger.Bytes;
        Span<byte> chain = stackalloc byte[32];
        Span<byte> node = stackalloc byte[65];
        var leafInput = new byte[64 * 1024];
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
        {
            if (!reused)
            {
                SHA256.HashData(data, destination);
                return;
            }
            sha256.AppendData(data);
            sha256.GetHashAndReset(destination);
        }
        for (var i = 0; i < ledger.Count; i++)
        {
            var canonical = bytes.AsSpan(ledger.Start[i], ledger.Length[i]);
            Hash(canonical, chain);
            if (leafInput.Length < canonical.Length + 1) leafInput = new byte[canonical.Length * 2];
            leafInput[0] = 0x00;
            canonical.CopyTo(leafInput.AsSpan(1));
            Hash(leafInput.AsSpan(0, canonical.Length + 1), node[1..33]);
            node[0] = 0x01;
            chain.CopyTo(node[33..]);
            Hash(node, chain);
            Sink ^= chain[0];
        }
        return ledger.Count;
    }
}

/// <summary>The exported file in memory: one array, the offset and length of each entry's canonical encoding.</summary>
sealed class Preloaded
{
    public required byte[] Bytes { get; init; }
    public required int[] Start { get; init; }
    public required int[] Length { get; init; }
    public required int[] HashStart { get; init; }
    public int Count => Start.Length;
    public long CanonicalBytes => Length.Sum(l => (long)l);

    public static Preloaded Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        List<int> start = [], length = [], hashStart = [];
        var position = 0;
        while (position < bytes.Length)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', position);
            if (newline < 0) newline = bytes.Length;
            var space = Array.IndexOf(bytes, (byte)' ', position, newline - position);
            hashStart.Add(position);
            start.Add(space + 1);
            length.Add(newline - space - 1);
            position = newline + 1;
        }
        return new Preloaded { Bytes = bytes, Start = [.. start], Length = [.. length], HashStart = [.. hashStart] };
    }

    (string[], string[])? strings;

    public (string[] Hashes, string[] Canonicals) Strings() => strings ??= (
        [.. HashStart.Select((h, i) => Encoding.UTF8.GetString(Bytes, h, Start[i] - 1 - h))],
        [.. Start.Select((s, i) => Encoding.UTF8.GetString(Bytes, s, Length[i]))]);
}

/// <summary>A ledger shaped like the hub's: mostly change-requested / change-applied pairs, with validations between some.</summary>
static class Synthetic
{
    const string Origin = "consenthub.local/ledger";
    static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);
    static readonly string[] Nmscs = ["tgb", "tde", "tfr", "tes", "tit", "tnl", "tbe", "tpl", "tse", "tdk", "tat", "tch"];
    static readonly string[] Contexts = ["toyota", "lexus"];
    static readonly string[] Systems = ["crm", "dms", "web", "app"];
    static readonly string[] Consents = ["REMINDERS", "OFFERS", "SURVEYS", "EVENTS"];
    static readonly string[] Channels = ["EMAIL", "SMS", "PHONE", "POST", "APP"];

    /// <summary>Writes DIR/entries.txt and DIR/checkpoint.txt (unless reusing a ledger of that size); the verifier key.</summary>
    public static string Ensure(string dir, long count, bool reuse)
    {
        var keyFile = Path.Combine(dir, "verifier-key.txt");
        var entriesFile = Path.Combine(dir, LedgerSource.EntriesFile);
        var checkpointFile = Path.Combine(dir, LedgerSource.CheckpointFile);
        if (reuse && File.Exists(keyFile) && File.Exists(entriesFile) && File.Exists(checkpointFile))
        {
            var existing = File.ReadAllText(keyFile).Trim();
            var body = CheckpointBody.Parse(SignedNote.Open(File.ReadAllText(checkpointFile), existing, out _) ?? "");
            if (body?.Size == count) return existing;
        }
        Directory.CreateDirectory(dir);
        var stopwatch = Stopwatch.StartNew();
        var random = new Random(20_260_101);
        var tree = new MerkleRootBuilder();
        var previous = LedgerHash.Genesis;
        var time = new DateTime(2026, 1, 5, 8, 0, 0, DateTimeKind.Utc);
        var newline = new byte[] { (byte)'\n' };
        using (var output = new FileStream(entriesFile, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            long index = 0;
            void Append(string type, object payload)
            {
                if (index >= count) return;
                // As LedgerWriter.Append: microsecond UTC timestamps, Web-default JSON payloads, chained hashes.
                time = time.AddTicks(random.Next(10, 20_000_000) / 10 * 10);
                var entry = new LedgerEntry
                {
                    Index = index, Type = type, Timestamp = time,
                    Payload = JsonSerializer.Serialize(payload, PayloadJson),
                    PrevHash = previous, Hash = "",
                };
                var canonical = LedgerHash.Canonical(entry);
                entry.Hash = LedgerHash.Of(canonical);
                tree.Add(Merkle.LeafHash(canonical));
                // As `ConsentHub ledger export` writes it: "{hash} {canonical}\n", UTF-8.
                output.Write(Encoding.ASCII.GetBytes(entry.Hash + " "));
                output.Write(canonical);
                output.Write(newline);
                previous = entry.Hash;
                index++;
            }

            while (index < count)
            {
                var nmsc = Nmscs[random.Next(Nmscs.Length)];
                var changeRequestId = Guid.CreateVersion7(time);
                var validated = random.NextDouble() < 0.85;
                Append(LedgerEvents.ChangeRequested, new
                {
                    changeRequestId,
                    nmsc,
                    context = Contexts[random.Next(Contexts.Length)],
                    sourceSystem = Systems[random.Next(Systems.Length)],
                    sourceCustomerId = "C" + random.Next(100_000_000).ToString("D8", CultureInfo.InvariantCulture),
                    validated,
                    submittedBy = "client_" + Hex(random, 12),
                    dataSha256 = Hex(random, 32),
                });
                if (!validated)
                {
                    var validationId = Guid.CreateVersion7(time);
                    Append(LedgerEvents.ValidationSent, new
                    {
                        validationId, changeRequestId, messageId = $"{Hex(random, 6).ToUpperInvariant()}.{Hex(random, 4)}@mail.consenthub.local",
                        emailSha256 = Hex(random, 32), windowEndsAt = time.AddHours(72),
                    });
                    if (random.NextDouble() < 0.2)
                    {
                        Append(LedgerEvents.ValidationExpired, new { validationId, changeRequestId });
                        continue;
                    }
                    Append(LedgerEvents.ValidationConfirmed, new
                    {
                        validationId, changeRequestId, confirmedAt = time,
                        remoteAddressSha256 = Hex(random, 32), userAgentSha256 = Hex(random, 32),
                    });
                }
                Append(LedgerEvents.ChangeApplied, new
                {
                    changeRequestId,
                    consents = Pick(random, Consents, 1).Select(code => new { code, flag = random.Next(3) > 0 }),
                    channels = Pick(random, Channels, 0).Select(code => new { code, flag = random.Next(3) > 0 }),
                });
            }
        }

        var (privateKey, publicKey) = SignedNote.NewKeyPair();
        var note = SignedNote.Sign(new CheckpointBody(Origin, count, tree.Root()).Text, Origin, privateKey);
        File.WriteAllText(checkpointFile, note);
        var key = SignedNote.VerifierKey(Origin, publicKey);
        File.WriteAllText(keyFile, key + "\n");
        Console.Error.WriteLine($"synthesised {count:N0} entries in {stopwatch.Elapsed.TotalSeconds:F1}s ({dir})");
        return key;
    }

    static string Hex(Random random, int bytes)
    {
        Span<byte> data = stackalloc byte[bytes];
        random.NextBytes(data);
        return Convert.ToHexStringLower(data);
    }

    static List<string> Pick(Random random, string[] from, int atLeast)
    {
        var picked = from.Where(_ => random.Next(2) == 0).ToList();
        while (picked.Count < atLeast) picked.Add(from[random.Next(from.Length)]);
        return picked;
    }
}

static class Machine
{
    public static string Load()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }

    public static string ShaEngine()
    {
        try
        {
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
            return flags.Split(' ').Contains("sha_ni") ? "the platform library, CPU with SHA extensions" : "the platform library, CPU without SHA extensions";
        }
        catch (IOException) { return "the platform library"; }
    }
}

sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            var name = args[i][2..];
            values[name] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "";
        }
        return new Options(values);
    }

    public string Get(string name, string fallback) => values.TryGetValue(name, out var value) && value.Length > 0 ? value : fallback;
    public bool Has(string name) => values.ContainsKey(name);
}
