using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ConsentHub.Ledger;

/// <summary>The kinds of fault a verification names.</summary>
public static class LedgerFaults
{
    public const string Altered = "altered";
    public const string Missing = "missing";
    public const string Inserted = "inserted";
    public const string Reordered = "reordered";
    public const string BadSignature = "bad signature";
    public const string InconsistentCheckpoint = "inconsistent checkpoint";
}

public sealed record LedgerFault(string Kind, long Index, string Reason);

/// <summary>
/// Walks a ledger in index order, one entry at a time, as "stored hash" and canonical encoding: checks the hash chain,
/// grows the Merkle tree and remembers its root at the sizes asked for (the checkpoints to compare with). The first
/// fault is named with its index and kind. Used by the server's own check and by the offline verifier alike.
/// </summary>
/// <remarks>
/// The work is done on UTF-8 bytes, the bytes that are hashed: hashes are compared as lower-case hex digits without
/// building strings, so an entry costs its two SHA-256s (chain and leaf) and its share of the tree's node hashes.
/// </remarks>
public sealed class LedgerAudit(IEnumerable<long>? rootsAt = null)
{
    // How far from its place a moved entry is looked for, to tell a reordering from an alteration.
    const int MoveSearch = 1_000;
    const int HexSize = 2 * Merkle.HashSize;

    // The canonical form starts {"index":N, and ends ,"prevHash":"…"} (see LedgerHash.Canonical).
    static ReadOnlySpan<byte> IndexPrefix => "{\"index\":"u8;
    static ReadOnlySpan<byte> PrevHashMarker => ",\"prevHash\":\""u8;
    static ReadOnlySpan<byte> Closing => "\"}"u8;
    const int PrevHashTail = 13 + HexSize + 2; // marker, 64 hex digits, closing

    readonly HashSet<long> wanted = [.. rootsAt ?? []];
    readonly MerkleRootBuilder tree = new();
    readonly Dictionary<long, byte[]> roots = [];
    // The last verified entry's hash as hex digits (ASCII), what the next entry's prevHash must read.
    readonly byte[] previous = Encoding.ASCII.GetBytes(LedgerHash.Genesis);
    // Reused for the UTF-8 of entries given as strings.
    byte[] utf8 = [];

    public long Verified => tree.Size;
    public string LastHash => Encoding.ASCII.GetString(previous);
    public LedgerFault? Fault { get; private set; }
    public IReadOnlyDictionary<long, byte[]> Roots => roots;
    public byte[] Root => tree.Root();

    /// <summary>Feeds the next stored entry; false once a fault is found (see <see cref="Fault"/>).</summary>
    public bool Add(string storedHash, string canonical)
    {
        if (Fault is not null) return false;
        var hashLength = Encoding.UTF8.GetByteCount(storedHash);
        var needed = hashLength + Encoding.UTF8.GetMaxByteCount(canonical.Length);
        if (utf8.Length < needed) utf8 = new byte[Math.Max(needed, 2 * utf8.Length)];
        Encoding.UTF8.GetBytes(storedHash, utf8);
        var canonicalLength = Encoding.UTF8.GetBytes(canonical, utf8.AsSpan(hashLength));
        return Add(utf8.AsSpan(0, hashLength), utf8.AsSpan(hashLength, canonicalLength), canonical);
    }

    /// <summary>
    /// Feeds the next stored entry as UTF-8: its stored hash (hex digits) and its canonical encoding, the bytes that are
    /// hashed. For valid UTF-8 the same as <see cref="Add(string, string)"/> with the decoded strings.
    /// </summary>
    public bool Add(ReadOnlySpan<byte> storedHash, ReadOnlySpan<byte> canonical) => Add(storedHash, canonical, null);

    /// <param name="text">The canonical encoding as a string when the caller has it (only read on the rare paths).</param>
    bool Add(ReadOnlySpan<byte> storedHash, ReadOnlySpan<byte> canonical, string? text)
    {
        if (Fault is not null) return false;
        var expected = tree.Size;
        if (!TryIndex(canonical, out var index) || !TryPrevHash(canonical, text, out var prevHash, out var prevHashText))
            return Fail(LedgerFaults.Altered, expected, $"entry {expected} is not in canonical form");
        if (index > expected)
            return Fail(LedgerFaults.Missing, expected, $"entry {expected} is missing: the next stored entry is {index}");
        if (index < expected)
            return Fail(LedgerFaults.Reordered, index, $"entry {index} appears again after entry {expected - 1}");

        Span<byte> computed = stackalloc byte[HexSize];
        LedgerHash.Of(canonical, computed);
        if (!computed.SequenceEqual(storedHash))
        {
            // Its content does not match its hash. Was it moved here from another place (its index changed)?
            var origin = OriginalIndex(canonical, index, storedHash);
            return origin switch
            {
                null => Fail(LedgerFaults.Altered, index, $"entry {index} was altered: its content does not match its hash"),
                { } k when k < index => Fail(LedgerFaults.Inserted, k, $"{index - k} entr{(index - k == 1 ? "y was" : "ies were")} inserted at index {k}: entry {k} now stands at {index}"),
                { } k when k == index + 1 => Fail(LedgerFaults.Missing, index, $"entry {index} is missing: entry {k} was renumbered into its place"),
                { } k => Fail(LedgerFaults.Reordered, index, $"entries were reordered: entry {k} stands at index {index}"),
            };
        }
        if (prevHashText is not null ? prevHashText != LastHash : !prevHash.SequenceEqual(previous))
        {
            // This entry is intact, so the one before it was replaced by one with a fresh, self-consistent hash.
            return Fail(LedgerFaults.Altered, index - 1, $"entry {index - 1} was altered: entry {index} does not chain to it");
        }
        computed.CopyTo(previous);
        Span<byte> leaf = stackalloc byte[Merkle.HashSize];
        Merkle.LeafHash(canonical, leaf);
        tree.Add(leaf);
        if (wanted.Contains(tree.Size)) roots[tree.Size] = tree.Root();
        return true;
    }

    /// <summary>Records a fault found outside the chain (head, checkpoint, signature).</summary>
    public bool Fail(string kind, long index, string reason)
    {
        Fault ??= new LedgerFault(kind, index, reason);
        return false;
    }

    static long? OriginalIndex(ReadOnlySpan<byte> canonical, long index, ReadOnlySpan<byte> storedHash)
    {
        // The entry as it would read at index k: {"index":k followed by the rest from the first comma on.
        var rest = canonical[canonical.IndexOf((byte)',')..];
        var moved = new byte[IndexPrefix.Length + 20 + rest.Length];
        IndexPrefix.CopyTo(moved);
        Span<byte> computed = stackalloc byte[HexSize];
        for (var distance = 1; distance <= MoveSearch; distance++)
        {
            foreach (var k in (ReadOnlySpan<long>)[index - distance, index + distance])
            {
                if (k < 0) continue;
                k.TryFormat(moved.AsSpan(IndexPrefix.Length), out var digits, provider: CultureInfo.InvariantCulture);
                rest.CopyTo(moved.AsSpan(IndexPrefix.Length + digits));
                LedgerHash.Of(moved.AsSpan(0, IndexPrefix.Length + digits + rest.Length), computed);
                if (computed.SequenceEqual(storedHash)) return k;
            }
        }
        return null;
    }

    static bool TryIndex(ReadOnlySpan<byte> canonical, out long index)
    {
        index = -1;
        if (!canonical.StartsWith(IndexPrefix)) return false;
        var end = canonical[IndexPrefix.Length..].IndexOf((byte)',');
        return end >= 0 && long.TryParse(canonical.Slice(IndexPrefix.Length, end), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    /// <summary>
    /// The 64 characters between ,"prevHash":" and the closing "} at the end, counted in characters as the string form
    /// counts them: as bytes when the tail is ASCII (always, for entries the hub wrote), otherwise as a decoded string.
    /// </summary>
    static bool TryPrevHash(ReadOnlySpan<byte> canonical, string? text, out ReadOnlySpan<byte> prevHash, out string? prevHashText)
    {
        prevHash = default;
        prevHashText = null;
        // A string has at most as many characters as its UTF-8 has bytes.
        if (canonical.Length < PrevHashTail) return false;
        var tail = canonical[^PrevHashTail..];
        if (Ascii.IsValid(tail))
        {
            if (!tail.EndsWith(Closing) || !tail.StartsWith(PrevHashMarker)) return false;
            prevHash = tail.Slice(PrevHashMarker.Length, HexSize);
            return true;
        }
        // Non-ASCII among the last characters: the hash cannot be hex digits, but whether the form holds decides the fault.
        text ??= Encoding.UTF8.GetString(canonical);
        if (!TryPrevHash(text, out var found)) return false;
        prevHashText = found;
        return true;
    }

    static bool TryPrevHash(string canonical, out string prevHash)
    {
        const string marker = ",\"prevHash\":\"";
        prevHash = "";
        var length = marker.Length + 64 + 2;
        if (canonical.Length < length || !canonical.EndsWith("\"}", StringComparison.Ordinal)) return false;
        if (!canonical.AsSpan(canonical.Length - length, marker.Length).SequenceEqual(marker)) return false;
        prevHash = canonical.Substring(canonical.Length - 66, 64);
        return true;
    }

    /// <summary>The hash of SHA-256 alone over the same bytes, for comparing verification speed with raw hashing.</summary>
    public static byte[] RawHash(string canonical) => SHA256.HashData(Encoding.UTF8.GetBytes(canonical));
}
