using System.Text;
using ConsentHub.Ledger;

namespace ConsentHub.Tests.Ledger;

/// <summary>
/// The exported directory is read as bytes, without a string per line. It must find exactly what reading it line by line
/// as strings finds: the same lines, the same bytes hashed, the same first fault.
/// </summary>
public sealed class LedgerDirectoryTests
{
    const string Origin = "consenthub.local/ledger";

    static readonly (byte[] PrivateKey, byte[] PublicKey) Key = SignedNote.NewKeyPair();
    static readonly string VerifierKey = SignedNote.VerifierKey(Origin, Key.PublicKey);

    /// <summary>A chained ledger: (stored hash, canonical UTF-8) per entry, some with non-ASCII text, one longer than the read block.</summary>
    static List<(string Hash, byte[] Canonical)> Entries(int count, int longAt = -1)
    {
        var entries = new List<(string, byte[])>();
        var previous = LedgerHash.Genesis;
        for (var i = 0; i < count; i++)
        {
            var note = i == longAt ? new string('x', 2_500_000) : i % 7 == 3 ? "Zoë — 日本 🙂" : $"note {i}";
            var entry = new LedgerEntry
            {
                Index = i, Type = i % 2 == 0 ? "change-requested" : "change-applied",
                Timestamp = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(i * 1_234_560L),
                Payload = $$"""{"changeRequestId":"{{Guid.Empty}}","flag":{{(i % 3 == 0 ? "true" : "false")}},"note":"{{note}}"}""",
                PrevHash = previous, Hash = "",
            };
            var canonical = LedgerHash.Canonical(entry);
            previous = LedgerHash.Of(canonical);
            entries.Add((previous, canonical));
        }
        return entries;
    }

    static byte[] Line(string hash, byte[] canonical) => [.. Encoding.UTF8.GetBytes(hash + " "), .. canonical];

    static byte[] Join(IEnumerable<byte[]> lines, string separator = "\n", bool final = true)
    {
        var list = lines.ToList();
        var output = new List<byte>();
        for (var i = 0; i < list.Count; i++)
        {
            output.AddRange(list[i]);
            if (final || i < list.Count - 1) output.AddRange(Encoding.UTF8.GetBytes(separator));
        }
        return [.. output];
    }

    static string Checkpoint(IEnumerable<(string Hash, byte[] Canonical)> entries)
    {
        var tree = new MerkleRootBuilder();
        var count = 0L;
        foreach (var (_, canonical) in entries)
        {
            tree.Add(Merkle.LeafHash(canonical));
            count++;
        }
        return SignedNote.Sign(new CheckpointBody(Origin, count, tree.Root()).Text, Origin, Key.PrivateKey);
    }

    /// <summary>A canonical encoding with its prevHash replaced by <paramref name="prevHash"/>, and a stored hash that matches it.</summary>
    static (string, byte[]) WithPrevHash((string Hash, byte[] Canonical) entry, string prevHash)
    {
        var text = Encoding.UTF8.GetString(entry.Canonical);
        var canonical = Encoding.UTF8.GetBytes(text[..^66] + prevHash + "\"}");
        return (LedgerHash.Of(canonical), canonical);
    }

    static byte[] Renumber(byte[] canonical, long from, long to) =>
        Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(canonical).Replace($"{{\"index\":{from},", $"{{\"index\":{to},"));

    public static TheoryData<string> Cases => new(
        "plain", "no final newline", "crlf", "cr", "blank lines", "utf-8 bom", "utf-16 le bom", "utf-16 be bom", "bom only", "empty",
        "altered", "invalid utf-8", "invalid utf-8 hashed as decoded", "upper-case hash", "deleted", "duplicated", "swapped", "renumbered",
        "no space", "cr inside a line", "non-ascii prevHash of 64 characters", "non-ascii prevHash of 64 bytes", "garbage after the end",
        "long line");

    static (byte[] File, string Note) Build(string name)
    {
        var entries = Entries(name == "long line" ? 3_000 : 40, longAt: name == "long line" ? 1_500 : -1);
        var note = Checkpoint(entries);
        var lines = entries.Select(e => Line(e.Hash, e.Canonical)).ToList();
        switch (name)
        {
            case "no final newline": return (Join(lines, final: false), note);
            case "crlf": return (Join(lines, "\r\n"), note);
            case "cr": return (Join(lines, "\r"), note);
            case "blank lines": return (Join(lines, "\n\r\n\n"), note);
            case "utf-8 bom": return ([0xEF, 0xBB, 0xBF, .. Join(lines)], note);
            case "utf-16 le bom": return ([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(Join(lines)))], note);
            case "utf-16 be bom": return ([.. Encoding.BigEndianUnicode.GetPreamble(), .. Encoding.BigEndianUnicode.GetBytes(Encoding.UTF8.GetString(Join(lines)))], note);
            case "bom only": return ([0xEF, 0xBB, 0xBF], note);
            case "empty": return ([], note);
            case "altered": lines[7] = Line(entries[7].Hash, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(entries[7].Canonical).Replace("note 7", "note 8"))); break;
            case "invalid utf-8":
            {
                var canonical = (byte[])entries[9].Canonical.Clone();
                canonical[Array.LastIndexOf(canonical, (byte)'9')] = 0xFF;
                lines[9] = Line(entries[9].Hash, canonical);
                break;
            }
            case "invalid utf-8 hashed as decoded":
            {
                // Read as a string the byte becomes U+FFFD; its hash was taken over that, so only the chain tells.
                var canonical = (byte[])entries[9].Canonical.Clone();
                canonical[Array.LastIndexOf(canonical, (byte)'9')] = 0xFF;
                lines[9] = Line(LedgerHash.Of(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(canonical))), canonical);
                break;
            }
            case "upper-case hash": lines[4] = Line(entries[4].Hash.ToUpperInvariant(), entries[4].Canonical); break;
            case "deleted": lines.RemoveAt(5); break;
            case "duplicated": lines.Insert(5, lines[5]); break;
            case "swapped": (lines[5], lines[8]) = (lines[8], lines[5]); break;
            case "renumbered":
                // Two entries' indices exchanged inside their encodings, their stored hashes kept.
                lines[5] = Line(entries[8].Hash, Renumber(entries[8].Canonical, 8, 5));
                lines[8] = Line(entries[5].Hash, Renumber(entries[5].Canonical, 5, 8));
                break;
            case "no space": lines[3] = [.. lines[3].Where(b => b != (byte)' ')]; break;
            case "cr inside a line": lines[6] = [.. lines[6][..120], (byte)'\r', .. lines[6][120..]]; break;
            case "non-ascii prevHash of 64 characters":
            {
                var (hash, canonical) = WithPrevHash(entries[12], entries[11].Hash[..63] + "é");
                lines[12] = Line(hash, canonical);
                break;
            }
            case "non-ascii prevHash of 64 bytes":
            {
                var (hash, canonical) = WithPrevHash(entries[12], entries[11].Hash[..62] + "é");
                lines[12] = Line(hash, canonical);
                break;
            }
            case "garbage after the end": lines.Add("garbage"u8.ToArray()); break;
        }
        return (Join(lines), note);
    }

    [Theory, MemberData(nameof(Cases))]
    public async Task Reading_the_directory_as_bytes_finds_what_reading_it_as_strings_finds(string name)
    {
        var directory = Directory.CreateTempSubdirectory("ledger-dir-").FullName;
        try
        {
            var (file, note) = Build(name);
            await File.WriteAllBytesAsync(Path.Combine(directory, LedgerSource.EntriesFile), file);
            await File.WriteAllTextAsync(Path.Combine(directory, LedgerSource.CheckpointFile), note);

            using var bytes = LedgerSource.Directory(directory);
            using var strings = new LineByLine(LedgerSource.Directory(directory));
            List<long> expectedProgress = [], actualProgress = [];
            var expected = await LedgerCheck.RunAsync(strings, VerifierKey, null, (done, _) => expectedProgress.Add(done), CancellationToken.None);
            var actual = await LedgerCheck.RunAsync(bytes, VerifierKey, null, (done, _) => actualProgress.Add(done), CancellationToken.None);

            Assert.Equal(expected.Fault, actual.Fault);
            Assert.Equal(expected.Checked, actual.Checked);
            Assert.Equal(expectedProgress, actualProgress);
            Assert.Equal<(string, long)?>(name switch
            {
                "plain" or "no final newline" or "crlf" or "cr" or "blank lines" or "utf-8 bom" or "utf-16 le bom" or "utf-16 be bom" or "long line" => ((string, long)?)null,
                "bom only" or "empty" => (LedgerFaults.Missing, 0L),
                "altered" => (LedgerFaults.Altered, 7L),
                "invalid utf-8" => (LedgerFaults.Altered, 9L),
                "invalid utf-8 hashed as decoded" => (LedgerFaults.Altered, 9L),
                "upper-case hash" => (LedgerFaults.Altered, 4L),
                "deleted" => (LedgerFaults.Missing, 5L),
                "duplicated" => (LedgerFaults.Reordered, 5L),
                "swapped" => (LedgerFaults.Missing, 5L),
                "renumbered" => (LedgerFaults.Reordered, 5L),
                "no space" => (LedgerFaults.Altered, 3L),
                "cr inside a line" => (LedgerFaults.Altered, 6L),
                "non-ascii prevHash of 64 characters" => (LedgerFaults.Altered, 11L),
                "non-ascii prevHash of 64 bytes" => (LedgerFaults.Altered, 12L),
                "garbage after the end" => (LedgerFaults.Altered, 40L),
                _ => throw new ArgumentOutOfRangeException(nameof(name)),
            }, actual.Fault is { } f ? (f.Kind, f.Index) : null);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void An_entry_given_as_bytes_is_audited_as_the_same_entry_given_as_a_string()
    {
        var entries = Entries(20);
        var fromStrings = new LedgerAudit([20]);
        var fromBytes = new LedgerAudit([20]);
        foreach (var (hash, canonical) in entries)
        {
            Assert.True(fromStrings.Add(hash, Encoding.UTF8.GetString(canonical)));
            Assert.True(fromBytes.Add(Encoding.UTF8.GetBytes(hash), canonical));
        }
        Assert.Equal(entries[^1].Hash, fromBytes.LastHash);
        Assert.Equal(fromStrings.LastHash, fromBytes.LastHash);
        Assert.Equal(fromStrings.Roots[20], fromBytes.Roots[20]);
        var tree = new MerkleRootBuilder();
        foreach (var (_, canonical) in entries) tree.Add(Merkle.LeafHash(canonical));
        Assert.Equal(tree.Root(), fromBytes.Root);
    }

    /// <summary>A source that only offers its entries line by line as strings: the audit is fed as before.</summary>
    sealed class LineByLine(LedgerSource inner) : LedgerSource
    {
        public override IAsyncEnumerable<(string Hash, string Canonical)> EntriesAsync(CancellationToken ct) => inner.EntriesAsync(ct);
        public override Task<string> CheckpointNoteAsync(CancellationToken ct) => inner.CheckpointNoteAsync(ct);
        public override Task<IReadOnlyList<byte[]>?> ConsistencyProofAsync(long from, long to, CancellationToken ct) => inner.ConsistencyProofAsync(from, to, ct);

        public override void Dispose()
        {
            inner.Dispose();
            base.Dispose();
        }
    }
}
