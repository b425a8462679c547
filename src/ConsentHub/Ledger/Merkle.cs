using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;

namespace ConsentHub.Ledger;

/// <summary>
/// The Merkle tree of RFC 9162 §2.1 (the same tree as RFC 6962) over SHA-256:
/// hashes, root, inclusion and consistency proofs, and their verification.
/// </summary>
/// <remarks>
/// Proofs and roots are read from stored nodes. A node (level, index) is the hash of the
/// perfect, aligned subtree of leaves [index·2^level, (index+1)·2^level); level 0 holds the
/// leaf hashes. A tree of size n stores every such node that is complete within n, so any
/// range the RFC's recursion asks for is a handful of stored nodes, one per set bit of its
/// length, and a perfect range is always exactly one read.
/// </remarks>
public static class Merkle
{
    public const int HashSize = 32;

    // Inputs up to this size are hashed from the stack; larger ones from a pooled array.
    private const int StackLimit = 512;

    /// <summary>SHA-256 of the empty input: the root of the empty tree.</summary>
    public static byte[] EmptyRoot => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x00 ‖ entry).</summary>
    public static byte[] LeafHash(ReadOnlySpan<byte> entry)
    {
        var hash = new byte[HashSize];
        LeafHash(entry, hash);
        return hash;
    }

    /// <summary>SHA-256(0x00 ‖ entry) written to <paramref name="destination"/>, without allocating.</summary>
    public static void LeafHash(ReadOnlySpan<byte> entry, Span<byte> destination) =>
        PrefixedHash(0x00, entry, [], destination);

    /// <summary>SHA-256(0x01 ‖ left ‖ right).</summary>
    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var hash = new byte[HashSize];
        NodeHash(left, right, hash);
        return hash;
    }

    /// <summary>
    /// SHA-256(0x01 ‖ left ‖ right) written to <paramref name="destination"/>, without allocating.
    /// The destination may overlap either input.
    /// </summary>
    public static void NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination) =>
        PrefixedHash(0x01, left, right, destination);

    private static void PrefixedHash(byte prefix, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination)
    {
        var length = 1 + a.Length + b.Length;
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        // The inputs are copied before hashing, which is what lets destination overlap them.
        buffer[0] = prefix;
        a.CopyTo(buffer[1..]);
        b.CopyTo(buffer[(1 + a.Length)..]);
        Sha256(buffer, destination);
        if (rented is not null)
            ArrayPool<byte>.Shared.Return(rented);
    }

    [ThreadStatic] private static IncrementalHash? t_sha256;

    /// <summary>
    /// SHA-256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes), the same as
    /// <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>. A verifier hashes hundreds of bytes at a time,
    /// millions of times, and a one-shot hash sets up a fresh digest context each time (with OpenSSL 3, a large part of
    /// the cost at these sizes); one context per thread is reset and reused instead.
    /// </summary>
    internal static void Sha256(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var sha256 = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            sha256.AppendData(data);
            sha256.GetHashAndReset(destination);
        }
        catch
        {
            // Say the destination was too short: the data is appended but not hashed. Never reuse such a context.
            t_sha256 = null;
            sha256.Dispose();
            throw;
        }
    }

    /// <summary>MTH of the first <paramref name="size"/> leaves, from at most log2(size)+1 node reads.</summary>
    public static ValueTask<byte[]> RootAsync(IMerkleNodes nodes, long size, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return size == 0 ? ValueTask.FromResult(EmptyRoot) : RangeHashAsync(nodes, 0, size, ct);
    }

    /// <summary>PATH(m, D[n]) of RFC 9162 §2.1.3.1: the leaf's sibling first, then upward.</summary>
    public static async ValueTask<IReadOnlyList<byte[]>> InclusionProofAsync(IMerkleNodes nodes, long leafIndex, long size, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, size);

        // Walk down the RFC's recursion while the subtree is ragged; siblings are found top-down.
        var upper = new List<byte[]>();
        long start = 0, n = size, m = leafIndex;
        while (!IsPowerOfTwo(n))
        {
            var k = LargestPowerOfTwoBelow(n);
            if (m < k)
            {
                upper.Add(await RangeHashAsync(nodes, start + k, n - k, ct));
                n = k;
            }
            else
            {
                upper.Add(await RangeHashAsync(nodes, start, k, ct));
                start += k;
                m -= k;
                n -= k;
            }
        }

        // Inside a perfect subtree the siblings are simply the neighbouring node at each level.
        var proof = new List<byte[]>(upper.Count + 64);
        var leaf = start + m;
        for (var level = 0; (1L << level) < n; level++)
            proof.Add(await nodes.NodeAsync(level, (leaf >> level) ^ 1, ct));
        upper.Reverse();
        proof.AddRange(upper);
        return proof;
    }

    /// <summary>
    /// PROOF(m, D[n]) of RFC 9162 §2.1.4.1 that the tree of <paramref name="from"/> leaves is a
    /// prefix of the tree of <paramref name="to"/> leaves. Empty when from is 0 or equals to.
    /// </summary>
    public static async ValueTask<IReadOnlyList<byte[]>> ConsistencyProofAsync(IMerkleNodes nodes, long from, long to, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from, to);
        if (from == 0 || from == to)
            return [];

        // SUBPROOF(m, D[start:start+n], b), unrolled: each step appends one hash after the
        // sub-proof it recurses into, so the hashes are collected top-down and reversed.
        var upper = new List<byte[]>();
        long start = 0, n = to, m = from;
        var haveFromRoot = true;
        while (m != n)
        {
            var k = LargestPowerOfTwoBelow(n);
            if (m <= k)
            {
                upper.Add(await RangeHashAsync(nodes, start + k, n - k, ct));
                n = k;
            }
            else
            {
                upper.Add(await RangeHashAsync(nodes, start, k, ct));
                start += k;
                m -= k;
                n -= k;
                haveFromRoot = false;
            }
        }

        var proof = new List<byte[]>(upper.Count + 1);
        if (!haveFromRoot)
            proof.Add(await RangeHashAsync(nodes, start, m, ct));
        upper.Reverse();
        proof.AddRange(upper);
        return proof;
    }

    /// <summary>
    /// Verifies an inclusion proof by the steps of RFC 9162 §2.1.3.2. False for an index outside
    /// the tree, a proof of the wrong length, or any hash that is not 32 bytes.
    /// </summary>
    public static bool VerifyInclusion(ReadOnlySpan<byte> leafHash, long leafIndex, long size, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (leafIndex < 0 || leafIndex >= size || leafHash.Length != HashSize || root.Length != HashSize || !AllHashes(proof))
            return false;

        var fn = (ulong)leafIndex;
        var sn = (ulong)(size - 1);
        Span<byte> r = stackalloc byte[HashSize];
        leafHash.CopyTo(r);
        foreach (var p in proof)
        {
            if (sn == 0)
                return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                NodeHash(p, r, r);
                // Right edge of a ragged level: the node moves up without a sibling.
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
            }
            else
            {
                NodeHash(r, p, r);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && CryptographicOperations.FixedTimeEquals(r, root);
    }

    /// <summary>
    /// Verifies a consistency proof by the steps of RFC 9162 §2.1.4.2. Beyond the RFC's
    /// 0 &lt; from &lt; to: equal sizes need equal roots and an empty proof, and size 0 needs
    /// <see cref="EmptyRoot"/> as its root and an empty proof.
    /// </summary>
    public static bool VerifyConsistency(long from, long to, ReadOnlySpan<byte> fromRoot, ReadOnlySpan<byte> toRoot, IReadOnlyList<byte[]> proof)
    {
        if (from < 0 || from > to || fromRoot.Length != HashSize || toRoot.Length != HashSize || !AllHashes(proof))
            return false;
        if (from == 0)
            return proof.Count == 0 && fromRoot.SequenceEqual(EmptyRoot) && (to > 0 || toRoot.SequenceEqual(EmptyRoot));
        if (from == to)
            return proof.Count == 0 && fromRoot.SequenceEqual(toRoot);
        if (proof.Count == 0)
            return false;

        // A power-of-two first tree is itself a node of the second: the RFC prepends first_hash.
        var prepend = IsPowerOfTwo(from);
        var seed = prepend ? fromRoot : proof[0];
        var next = prepend ? 0 : 1;

        var fn = (ulong)(from - 1);
        var sn = (ulong)(to - 1);
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        Span<byte> fr = stackalloc byte[HashSize];
        Span<byte> sr = stackalloc byte[HashSize];
        seed.CopyTo(fr);
        seed.CopyTo(sr);
        for (var i = next; i < proof.Count; i++)
        {
            var c = proof[i];
            if (sn == 0)
                return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                NodeHash(c, fr, fr);
                NodeHash(c, sr, sr);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
            }
            else
            {
                NodeHash(sr, c, sr);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0
            && CryptographicOperations.FixedTimeEquals(fr, fromRoot)
            && CryptographicOperations.FixedTimeEquals(sr, toRoot);
    }

    /// <summary>
    /// MTH of leaves [start, start+count), where start is aligned to the largest power of two
    /// in count (true of every range the RFC's recursion produces): one stored node per set
    /// bit of count, largest first, folded right to left.
    /// </summary>
    private static async ValueTask<byte[]> RangeHashAsync(IMerkleNodes nodes, long start, long count, CancellationToken ct)
    {
        Debug.Assert(count > 0);
        var parts = new byte[BitOperations.PopCount((ulong)count)][];
        var position = start;
        var part = 0;
        for (var level = 62; level >= 0; level--)
        {
            if ((count & (1L << level)) == 0)
                continue;
            Debug.Assert(position % (1L << level) == 0, "range is not aligned to stored nodes");
            parts[part++] = await nodes.NodeAsync(level, position >> level, ct);
            position += 1L << level;
        }
        return MerkleFrontier.Root(parts);
    }

    private static bool AllHashes(IReadOnlyList<byte[]> proof)
    {
        foreach (var hash in proof)
            if (hash is null || hash.Length != HashSize)
                return false;
        return true;
    }

    internal static bool IsPowerOfTwo(long n) => n > 0 && (n & (n - 1)) == 0;

    /// <summary>The RFC's k: the largest power of two strictly less than n (n ≥ 2).</summary>
    internal static long LargestPowerOfTwoBelow(long n) => 1L << (63 - BitOperations.LeadingZeroCount((ulong)(n - 1)));
}

/// <summary>Stored perfect-subtree hashes; see <see cref="Merkle"/> for the node numbering.</summary>
public interface IMerkleNodes
{
    ValueTask<byte[]> NodeAsync(int level, long index, CancellationToken ct);
}

/// <summary>A node that became complete when a leaf was appended: the row to store.</summary>
public readonly record struct MerkleNode(int Level, long Index, byte[] Hash);

/// <summary>The tree after an append, and the nodes the append completed (leaf first).</summary>
public sealed record AppendResult(List<byte[]> Frontier, long Size, IReadOnlyList<MerkleNode> Nodes);

/// <summary>
/// The frontier of a tree of n leaves: the hashes of its perfect subtrees, one per set bit of n,
/// largest (leftmost) first. It is all an appender needs, so appending reads nothing.
/// </summary>
public static class MerkleFrontier
{
    /// <summary>The frontier's hashes concatenated.</summary>
    public static byte[] Serialize(IReadOnlyList<byte[]> frontier)
    {
        var data = new byte[frontier.Count * Merkle.HashSize];
        for (var i = 0; i < frontier.Count; i++)
        {
            if (frontier[i].Length != Merkle.HashSize)
                throw new ArgumentException($"Frontier hash {i} is {frontier[i].Length} bytes, not {Merkle.HashSize}.", nameof(frontier));
            frontier[i].CopyTo(data, i * Merkle.HashSize);
        }
        return data;
    }

    /// <summary>The frontier stored by <see cref="Serialize"/>; null or empty is the empty tree.</summary>
    public static List<byte[]> Deserialize(byte[]? data)
    {
        if (data is null || data.Length == 0)
            return [];
        if (data.Length % Merkle.HashSize != 0)
            throw new FormatException($"A frontier is a whole number of {Merkle.HashSize}-byte hashes; got {data.Length} bytes.");
        var frontier = new List<byte[]>(data.Length / Merkle.HashSize);
        for (var offset = 0; offset < data.Length; offset += Merkle.HashSize)
            frontier.Add(data[offset..(offset + Merkle.HashSize)]);
        return frontier;
    }

    /// <summary>
    /// Appends leaf number <paramref name="size"/>. The given frontier is left unchanged; the
    /// result holds the new one and the nodes completed: the leaf (level 0), then each parent
    /// the leaf completed, at most one per level.
    /// </summary>
    public static AppendResult Append(List<byte[]> frontier, long size, byte[] leafHash)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (frontier.Count != BitOperations.PopCount((ulong)size))
            throw new ArgumentException($"A tree of {size} leaves has a frontier of {BitOperations.PopCount((ulong)size)} hashes, not {frontier.Count}.", nameof(frontier));
        if (leafHash.Length != Merkle.HashSize)
            throw new ArgumentException($"A leaf hash is {Merkle.HashSize} bytes.", nameof(leafHash));

        var next = new List<byte[]>(frontier);
        var nodes = new List<MerkleNode> { new(0, size, leafHash) };
        var hash = leafHash;
        var level = 0;
        // Each trailing one bit of size is a perfect subtree the new leaf now completes a pair with.
        for (var s = size; (s & 1) == 1; s >>= 1)
        {
            hash = Merkle.NodeHash(next[^1], hash);
            next.RemoveAt(next.Count - 1);
            level++;
            nodes.Add(new(level, size >> level, hash));
        }
        next.Add(hash);
        return new AppendResult(next, size + 1, nodes);
    }

    /// <summary>MTH of the tree the frontier describes: its hashes folded right to left.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> frontier)
    {
        if (frontier.Count == 0)
            return Merkle.EmptyRoot;
        var root = (byte[])frontier[^1].Clone();
        for (var i = frontier.Count - 2; i >= 0; i--)
            Merkle.NodeHash(frontier[i], root, root);
        return root;
    }
}

/// <summary>Nodes held in memory, appended leaf by leaf or stored row by row.</summary>
public sealed class MemoryMerkleNodes : IMerkleNodes
{
    private readonly List<List<byte[]>> _levels = [];

    public long Size => _levels.Count == 0 ? 0 : _levels[0].Count;

    /// <summary>Appends a leaf hash and every parent node it completes.</summary>
    public void Append(byte[] leafHash)
    {
        var index = Size;
        Store(0, index, leafHash);
        for (var level = 0; (index & 1) == 1; level++, index >>= 1)
            Store(level + 1, index >> 1, Merkle.NodeHash(_levels[level][(int)index - 1], _levels[level][(int)index]));
    }

    /// <summary>Stores one node; nodes of a level must arrive in index order, as appends produce them.</summary>
    public void Store(int level, long index, byte[] hash)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        while (_levels.Count <= level)
            _levels.Add([]);
        var nodes = _levels[level];
        if (index != nodes.Count)
            throw new InvalidOperationException($"Level {level} holds {nodes.Count} nodes; node {index} cannot be stored next.");
        nodes.Add(hash);
    }

    public void Store(MerkleNode node) => Store(node.Level, node.Index, node.Hash);

    public ValueTask<byte[]> NodeAsync(int level, long index, CancellationToken ct)
    {
        if (level < 0 || level >= _levels.Count || index < 0 || index >= _levels[level].Count)
            throw new KeyNotFoundException($"No node ({level}, {index}) is stored.");
        return ValueTask.FromResult(_levels[level][(int)index]);
    }
}

/// <summary>
/// The root of a stream of leaf hashes, in memory proportional to log2 of their number:
/// for a verifier that recomputes the root of the whole ledger.
/// </summary>
public sealed class MerkleRootBuilder
{
    // The frontier, one 32-byte slot per perfect subtree, plus one slot for the incoming leaf.
    private readonly byte[] _slots = new byte[64 * Merkle.HashSize];
    private int _count;

    public long Size { get; private set; }

    public void Add(ReadOnlySpan<byte> leafHash)
    {
        if (leafHash.Length != Merkle.HashSize)
            throw new ArgumentException($"A leaf hash is {Merkle.HashSize} bytes.", nameof(leafHash));
        leafHash.CopyTo(Slot(_count++));
        for (var s = Size; (s & 1) == 1; s >>= 1)
        {
            Merkle.NodeHash(Slot(_count - 2), Slot(_count - 1), Slot(_count - 2));
            _count--;
        }
        Size++;
    }

    public byte[] Root()
    {
        if (_count == 0)
            return Merkle.EmptyRoot;
        var root = Slot(_count - 1).ToArray();
        for (var i = _count - 2; i >= 0; i--)
            Merkle.NodeHash(Slot(i), root, root);
        return root;
    }

    private Span<byte> Slot(int i) => _slots.AsSpan(i * Merkle.HashSize, Merkle.HashSize);
}
