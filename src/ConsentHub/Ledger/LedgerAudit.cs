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
public sealed class LedgerAudit(IEnumerable<long>? rootsAt = null)
{
    // How far from its place a moved entry is looked for, to tell a reordering from an alteration.
    const int MoveSearch = 1_000;

    readonly HashSet<long> wanted = [.. rootsAt ?? []];
    readonly MerkleRootBuilder tree = new();
    readonly Dictionary<long, byte[]> roots = [];
    string previous = LedgerHash.Genesis;

    public long Verified => tree.Size;
    public string LastHash => previous;
    public LedgerFault? Fault { get; private set; }
    public IReadOnlyDictionary<long, byte[]> Roots => roots;
    public byte[] Root => tree.Root();

    /// <summary>Feeds the next stored entry; false once a fault is found (see <see cref="Fault"/>).</summary>
    public bool Add(string storedHash, string canonical)
    {
        if (Fault is not null) return false;
        var expected = tree.Size;
        if (!TryIndex(canonical, out var index) || !TryPrevHash(canonical, out var prevHash))
            return Fail(LedgerFaults.Altered, expected, $"entry {expected} is not in canonical form");
        if (index > expected)
            return Fail(LedgerFaults.Missing, expected, $"entry {expected} is missing: the next stored entry is {index}");
        if (index < expected)
            return Fail(LedgerFaults.Reordered, index, $"entry {index} appears again after entry {expected - 1}");

        var bytes = Encoding.UTF8.GetBytes(canonical);
        var computed = LedgerHash.Of(bytes);
        if (computed != storedHash)
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
        if (prevHash != previous)
        {
            // This entry is intact, so the one before it was replaced by one with a fresh, self-consistent hash.
            return Fail(LedgerFaults.Altered, index - 1, $"entry {index - 1} was altered: entry {index} does not chain to it");
        }
        previous = computed;
        tree.Add(Merkle.LeafHash(bytes));
        if (wanted.Contains(tree.Size)) roots[tree.Size] = tree.Root();
        return true;
    }

    /// <summary>Records a fault found outside the chain (head, checkpoint, signature).</summary>
    public bool Fail(string kind, long index, string reason)
    {
        Fault ??= new LedgerFault(kind, index, reason);
        return false;
    }

    static long? OriginalIndex(string canonical, long index, string storedHash)
    {
        var rest = canonical[(canonical.IndexOf(',', StringComparison.Ordinal))..];
        for (var distance = 1; distance <= MoveSearch; distance++)
        {
            foreach (var k in (ReadOnlySpan<long>)[index - distance, index + distance])
            {
                if (k < 0) continue;
                var moved = "{\"index\":" + k.ToString(CultureInfo.InvariantCulture) + rest;
                if (LedgerHash.Of(Encoding.UTF8.GetBytes(moved)) == storedHash) return k;
            }
        }
        return null;
    }

    // The canonical form starts {"index":N, and ends ,"prevHash":"…"} (see LedgerHash.Canonical).
    static bool TryIndex(string canonical, out long index)
    {
        const string prefix = "{\"index\":";
        index = -1;
        if (!canonical.StartsWith(prefix, StringComparison.Ordinal)) return false;
        var end = canonical.IndexOf(',', prefix.Length);
        return end > 0 && long.TryParse(canonical.AsSpan(prefix.Length, end - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out index);
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
