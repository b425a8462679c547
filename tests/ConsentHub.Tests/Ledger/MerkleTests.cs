using System.Numerics;
using ConsentHub.Ledger;

namespace ConsentHub.Tests.Ledger;

public sealed class MerkleTests
{
    // The reference tree of RFC 6962 as used by the Certificate Transparency test suites
    // (google/certificate-transparency cpp/merkletree/merkle_tree_test.cc and
    // transparency-dev/merkle proof/verify_test.go): eight leaves, roots for sizes 0..8.
    private static readonly string[] Inputs =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    private static readonly string[] Roots =
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    // The CT vectors number leaves from 1; these indexes are 0-based.
    public static TheoryData<long, long, string[]> InclusionVectors => new()
    {
        { 0, 1, [] },
        { 0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
        { 1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
    };

    public static TheoryData<long, long, string[]> ConsistencyVectors => new()
    {
        { 1, 1, [] },
        { 1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
    };

    private static readonly byte[] SomeHash = Convert.FromHexString("abacaba000000000000000000000000000000000000000000060061e00123456");

    private static List<byte[]> ReferenceLeaves() => [.. Inputs.Select(i => Merkle.LeafHash(Convert.FromHexString(i)))];

    private static MemoryMerkleNodes ReferenceTree()
    {
        var nodes = new MemoryMerkleNodes();
        foreach (var leaf in ReferenceLeaves())
            nodes.Append(leaf);
        return nodes;
    }

    private static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    private static byte[] Root(int size) => Convert.FromHexString(Roots[size]);

    [Fact]
    public void Empty_root_and_hash_prefixes_match_RFC_6962()
    {
        Assert.Equal(Roots[0], Hex(Merkle.EmptyRoot));
        Assert.Equal(Roots[1], Hex(Merkle.LeafHash([])));
        var left = Merkle.LeafHash([]);
        var right = Merkle.LeafHash([0x00]);
        Assert.Equal(Roots[2], Hex(Merkle.NodeHash(left, right)));
    }

    [Fact]
    public async Task Every_way_of_computing_the_root_matches_the_reference_roots()
    {
        var leaves = ReferenceLeaves();
        var nodes = ReferenceTree();
        var frontier = new List<byte[]>();
        var builder = new MerkleRootBuilder();
        Assert.Equal(Roots[0], Hex(MerkleFrontier.Root(frontier)));
        Assert.Equal(Roots[0], Hex(builder.Root()));
        for (var size = 0; size <= 8; size++)
        {
            Assert.Equal(Roots[size], Hex(await Merkle.RootAsync(nodes, size, default)));
            if (size == 0)
                continue;
            frontier = MerkleFrontier.Append(frontier, size - 1, leaves[size - 1]).Frontier;
            builder.Add(leaves[size - 1]);
            Assert.Equal(Roots[size], Hex(MerkleFrontier.Root(frontier)));
            Assert.Equal(Roots[size], Hex(builder.Root()));
            Assert.Equal(size, builder.Size);
        }
    }

    [Theory, MemberData(nameof(InclusionVectors))]
    public async Task Inclusion_proofs_match_the_reference_vectors_and_reject_tampering(long index, long size, string[] expected)
    {
        var proof = await Merkle.InclusionProofAsync(ReferenceTree(), index, size, default);
        Assert.Equal(expected, proof.Select(Hex));

        var leaf = ReferenceLeaves()[(int)index];
        var root = Root((int)size);
        Assert.True(Merkle.VerifyInclusion(leaf, index, size, proof, root));

        // The corruptions the CT verifier tests try.
        Assert.False(Merkle.VerifyInclusion(leaf, index - 1, size, proof, root));
        Assert.False(Merkle.VerifyInclusion(leaf, index + 1, size, proof, root));
        Assert.False(Merkle.VerifyInclusion(leaf, index ^ 2, size, proof, root));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size * 2, proof, root));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size / 2, proof, root));
        Assert.False(Merkle.VerifyInclusion(Merkle.LeafHash("WrongLeaf"u8), index, size, proof, root));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size, proof, Merkle.EmptyRoot));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size, proof, SomeHash));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size, [.. proof, []], root));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size, [.. proof, root], root));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size, [[], .. proof], root));
        Assert.False(Merkle.VerifyInclusion(leaf, index, size, [root, .. proof], root));
        foreach (var tampered in EachElementFlipped(proof))
            Assert.False(Merkle.VerifyInclusion(leaf, index, size, tampered, root));
        if (proof.Count > 0)
            Assert.False(Merkle.VerifyInclusion(leaf, index, size, proof.Take(proof.Count - 1).ToList(), root));
    }

    [Theory, MemberData(nameof(ConsistencyVectors))]
    public async Task Consistency_proofs_match_the_reference_vectors_and_reject_tampering(long from, long to, string[] expected)
    {
        var proof = await Merkle.ConsistencyProofAsync(ReferenceTree(), from, to, default);
        Assert.Equal(expected, proof.Select(Hex));

        var fromRoot = Root((int)from);
        var toRoot = Root((int)to);
        Assert.True(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, proof));
        if (proof.Count == 0)
            return;

        Assert.False(Merkle.VerifyConsistency(from - 1, to, fromRoot, toRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from + 1, to, fromRoot, toRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from ^ 2, to, fromRoot, toRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from, to * 2, fromRoot, toRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from, to / 2, fromRoot, toRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from, to, SomeHash, toRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, SomeHash, proof));
        Assert.False(Merkle.VerifyConsistency(from, to, toRoot, fromRoot, proof));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, []));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [.. proof, []]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [.. proof, fromRoot]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [.. proof, toRoot]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [[], .. proof]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [fromRoot, .. proof]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [toRoot, .. proof]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, [proof[0], .. proof]));
        Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, proof.Take(proof.Count - 1).ToList()));
        foreach (var tampered in EachElementFlipped(proof))
            Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, tampered));
    }

    [Fact]
    public void Degenerate_inclusion_claims_are_rejected()
    {
        foreach (var (index, size) in new[] { (0L, 0L), (1L, 0L), (2L, 1L), (1L, 1L), (-1L, 1L) })
        {
            Assert.False(Merkle.VerifyInclusion(SomeHash, index, size, [], Merkle.EmptyRoot));
            Assert.False(Merkle.VerifyInclusion(SomeHash, index, size, [], SomeHash));
        }
        // A one-leaf tree's root is its leaf hash, and the proof is empty.
        var leaf = Merkle.LeafHash("data"u8);
        Assert.True(Merkle.VerifyInclusion(leaf, 0, 1, [], leaf));
        Assert.False(Merkle.VerifyInclusion(leaf, 0, 1, [], []));
        Assert.False(Merkle.VerifyInclusion([], 0, 1, [], leaf));
        Assert.False(Merkle.VerifyInclusion(leaf, 0, 1, [leaf], leaf));
    }

    [Fact]
    public void Degenerate_consistency_claims_follow_the_sizes_and_roots()
    {
        var empty = Merkle.EmptyRoot;
        var one = Root(1);
        var two = Root(2);
        Assert.True(Merkle.VerifyConsistency(0, 0, empty, empty, []));
        Assert.True(Merkle.VerifyConsistency(0, 1, empty, one, []));
        Assert.True(Merkle.VerifyConsistency(1, 1, one, one, []));

        Assert.False(Merkle.VerifyConsistency(0, 1, SomeHash, one, []));      // size 0 has one root
        Assert.False(Merkle.VerifyConsistency(1, 1, one, two, []));           // same size, different roots
        Assert.False(Merkle.VerifyConsistency(1, 0, one, empty, []));         // time travel
        Assert.False(Merkle.VerifyConsistency(2, 1, two, one, []));
        Assert.False(Merkle.VerifyConsistency(1, 2, one, two, []));           // growth needs a proof
        Assert.False(Merkle.VerifyConsistency(0, 0, empty, empty, [empty])); // nothing to prove
        Assert.False(Merkle.VerifyConsistency(0, 1, empty, one, [empty]));
        Assert.False(Merkle.VerifyConsistency(1, 1, one, one, [one]));
        Assert.False(Merkle.VerifyConsistency(-1, 1, empty, one, []));
    }

    [Fact]
    public async Task Proof_requests_outside_the_tree_are_refused()
    {
        var nodes = ReferenceTree();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Merkle.InclusionProofAsync(nodes, 8, 8, default).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Merkle.InclusionProofAsync(nodes, -1, 8, default).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Merkle.ConsistencyProofAsync(nodes, 5, 4, default).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Merkle.RootAsync(nodes, -1, default).AsTask());
        Assert.Empty(await Merkle.ConsistencyProofAsync(nodes, 0, 8, default));
        Assert.Empty(await Merkle.ConsistencyProofAsync(nodes, 8, 8, default));
        // Sizes beyond what is stored need nodes that do not exist.
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Merkle.RootAsync(nodes, 9, default).AsTask());
    }

    [Fact]
    public void Frontier_round_trips_through_its_stored_form()
    {
        var frontier = new List<byte[]>();
        for (var size = 0L; size < 11; size++)
            frontier = MerkleFrontier.Append(frontier, size, Merkle.LeafHash([(byte)size])).Frontier;
        Assert.Equal(3, frontier.Count); // 11 = 8 + 2 + 1

        var stored = MerkleFrontier.Serialize(frontier);
        Assert.Equal(3 * 32, stored.Length);
        Assert.Equal(frontier, MerkleFrontier.Deserialize(stored));
        Assert.Empty(MerkleFrontier.Deserialize(null));
        Assert.Empty(MerkleFrontier.Deserialize([]));
        Assert.Empty(MerkleFrontier.Serialize([]));
        Assert.Throws<FormatException>(() => MerkleFrontier.Deserialize(new byte[33]));
    }

    [Fact]
    public void Append_refuses_a_frontier_that_does_not_fit_the_size()
    {
        var leaf = Merkle.LeafHash([1]);
        var oneLeaf = MerkleFrontier.Append([], 0, leaf).Frontier;
        Assert.Throws<ArgumentException>(() => MerkleFrontier.Append(oneLeaf, 0, leaf)); // size 0 has no subtree
        Assert.Throws<ArgumentException>(() => MerkleFrontier.Append(oneLeaf, 3, leaf)); // size 3 has two
        Assert.Throws<ArgumentException>(() => MerkleFrontier.Append([], 0, [1, 2, 3]));
    }

    [Fact]
    public void Append_leaves_the_given_frontier_untouched_and_reports_the_completed_nodes()
    {
        var leaves = ReferenceLeaves();
        var frontier = new List<byte[]>();
        for (var i = 0; i < 7; i++)
            frontier = MerkleFrontier.Append(frontier, i, leaves[i]).Frontier;
        var before = frontier.ToList();

        var result = MerkleFrontier.Append(frontier, 7, leaves[7]);

        Assert.Equal(before, frontier);
        Assert.Equal(8, result.Size);
        Assert.Equal([(0, 7L), (1, 3L), (2, 1L), (3, 0L)], result.Nodes.Select(n => (n.Level, n.Index)));
        Assert.Equal(Roots[8], Hex(result.Nodes[^1].Hash));
        Assert.Equal([Roots[8]], result.Frontier.Select(Hex));
    }

    [Fact]
    public async Task Root_reads_one_stored_node_per_set_bit_of_the_size()
    {
        var nodes = new MemoryMerkleNodes();
        for (var i = 0; i < 1100; i++)
            nodes.Append(Merkle.LeafHash(BitConverter.GetBytes(i)));
        var counting = new CountingNodes(nodes);
        foreach (var (size, reads) in new[] { (1024L, 1), (1L, 1), (1023L, 10), (1025L, 2), (1100L, 4) })
        {
            counting.Reads = 0;
            await Merkle.RootAsync(counting, size, default);
            Assert.Equal(reads, counting.Reads);
        }
    }

    [Fact]
    public async Task Every_construction_agrees_and_every_proof_verifies_over_random_trees()
    {
        var random = new Random(6962);
        long[] edges = [1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025, 2000];
        var sizes = edges.Concat(Enumerable.Range(0, 60).Select(_ => (long)random.Next(1, 2001)));
        foreach (var size in sizes)
            await CheckTree(random, size);
    }

    private static async Task CheckTree(Random random, long size)
    {
        var leaves = new List<byte[]>();
        var nodes = new MemoryMerkleNodes();
        var frontier = new List<byte[]>();
        var builder = new MerkleRootBuilder();
        for (var i = 0L; i < size; i++)
        {
            var entry = new byte[random.Next(0, 300)];
            random.NextBytes(entry);
            var leaf = Merkle.LeafHash(entry);
            leaves.Add(leaf);

            var appended = MerkleFrontier.Append(frontier, i, leaf);
            Assert.Equal(new MerkleNode(0, i, leaf), appended.Nodes[0]);
            Assert.InRange(appended.Nodes.Count, 1, Log2(i + 1) + 1);
            foreach (var node in appended.Nodes)
                nodes.Store(node);
            frontier = appended.Frontier;
            Assert.Equal(BitOperations.PopCount((ulong)(i + 1)), frontier.Count);
            builder.Add(leaf);
        }

        var expected = Hex(ReferenceRoot(leaves));
        Assert.Equal(expected, Hex(await Merkle.RootAsync(nodes, size, default)));
        Assert.Equal(expected, Hex(MerkleFrontier.Root(MerkleFrontier.Deserialize(MerkleFrontier.Serialize(frontier)))));
        Assert.Equal(expected, Hex(builder.Root()));
        Assert.Equal(size, builder.Size);

        var counting = new CountingNodes(nodes);
        var rootOf = new Dictionary<long, byte[]>();
        byte[] RootOf(long n) => rootOf.TryGetValue(n, out var r) ? r : rootOf[n] = ReferenceRoot(leaves.GetRange(0, (int)n));

        for (var q = 0; q < 8; q++)
        {
            var n = random.NextInt64(1, size + 1);
            var m = random.NextInt64(0, n);
            counting.Reads = 0;
            var proof = await Merkle.InclusionProofAsync(counting, m, n, default);
            Assert.InRange(counting.Reads, 0, 2 * (Log2(n) + 1));
            Assert.Equal(ReferencePath(leaves.GetRange(0, (int)n), (int)m).Select(Hex), proof.Select(Hex));

            var root = RootOf(n);
            Assert.True(Merkle.VerifyInclusion(leaves[(int)m], m, n, proof, root));
            Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n, proof, Flipped(root)));
            // A wrong size fails against that size's root. (The same root can still verify at a
            // neighbouring size whose path has the same shape: the root is what commits to the size.)
            Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n * 2, proof, root));
            Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n / 2, proof, root));
            if (n < size)
                Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n + 1, proof, RootOf(n + 1)));
            if (n - 1 > m)
                Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n - 1, proof, RootOf(n - 1)));
            if (m + 1 < n)
                Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m + 1, n, proof, root));
            if (m > 0)
                Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m - 1, n, proof, root));
            if (proof.Count > 0)
                Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n, proof.Take(proof.Count - 1).ToList(), root));
            Assert.False(Merkle.VerifyInclusion(leaves[(int)m], m, n, [.. proof, root], root));
        }

        for (var q = 0; q < 8; q++)
        {
            var to = random.NextInt64(1, size + 1);
            var from = random.NextInt64(1, to + 1);
            counting.Reads = 0;
            var proof = await Merkle.ConsistencyProofAsync(counting, from, to, default);
            Assert.InRange(counting.Reads, 0, 2 * (Log2(to) + 1));
            Assert.Equal(ReferenceConsistency(leaves.GetRange(0, (int)to), (int)from).Select(Hex), proof.Select(Hex));

            var (fromRoot, toRoot) = (RootOf(from), RootOf(to));
            Assert.True(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, proof));
            Assert.False(Merkle.VerifyConsistency(from, to, Flipped(fromRoot), toRoot, proof));
            Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, Flipped(toRoot), proof));
            // Sizes are checked as the CT verifier tests do: the old size moved with the same
            // roots, the new size doubled or halved, or either moved by one with its own root.
            Assert.False(Merkle.VerifyConsistency(from - 1, to, fromRoot, toRoot, proof));
            Assert.False(Merkle.VerifyConsistency(from + 1, to, fromRoot, toRoot, proof));
            Assert.False(Merkle.VerifyConsistency(from, to * 2, fromRoot, toRoot, proof));
            if (from < to)
            {
                Assert.False(Merkle.VerifyConsistency(from, to / 2, fromRoot, toRoot, proof));
                Assert.False(Merkle.VerifyConsistency(from, to, toRoot, fromRoot, proof));
                Assert.False(Merkle.VerifyConsistency(from, to, fromRoot, toRoot, proof.Take(proof.Count - 1).ToList()));
                Assert.False(Merkle.VerifyConsistency(from, to - 1, fromRoot, RootOf(to - 1), proof));
                if (to < size)
                    Assert.False(Merkle.VerifyConsistency(from, to + 1, fromRoot, RootOf(to + 1), proof));
                if (from > 1)
                    Assert.False(Merkle.VerifyConsistency(from - 1, to, RootOf(from - 1), toRoot, proof));
                Assert.False(Merkle.VerifyConsistency(from + 1, to, RootOf(from + 1), toRoot, proof));
            }
        }
    }

    // Reference implementations, straight from the recursive definitions of RFC 9162 §2.1.

    private static long SplitOf(long n)
    {
        var k = 1L;
        while (k * 2 < n)
            k *= 2;
        return k;
    }

    private static byte[] ReferenceRoot(List<byte[]> leaves) => leaves.Count switch
    {
        0 => Merkle.EmptyRoot,
        1 => leaves[0],
        var n => Merkle.NodeHash(ReferenceRoot(leaves.GetRange(0, (int)SplitOf(n))), ReferenceRoot(leaves.GetRange((int)SplitOf(n), n - (int)SplitOf(n)))),
    };

    private static List<byte[]> ReferencePath(List<byte[]> leaves, int m)
    {
        if (leaves.Count == 1)
            return [];
        var k = (int)SplitOf(leaves.Count);
        var (left, right) = (leaves.GetRange(0, k), leaves.GetRange(k, leaves.Count - k));
        return m < k ? [.. ReferencePath(left, m), ReferenceRoot(right)] : [.. ReferencePath(right, m - k), ReferenceRoot(left)];
    }

    private static List<byte[]> ReferenceConsistency(List<byte[]> leaves, int m) =>
        m == leaves.Count ? [] : ReferenceSubproof(leaves, m, true);

    private static List<byte[]> ReferenceSubproof(List<byte[]> leaves, int m, bool haveRoot)
    {
        if (m == leaves.Count)
            return haveRoot ? [] : [ReferenceRoot(leaves)];
        var k = (int)SplitOf(leaves.Count);
        var (left, right) = (leaves.GetRange(0, k), leaves.GetRange(k, leaves.Count - k));
        return m <= k
            ? [.. ReferenceSubproof(left, m, haveRoot), ReferenceRoot(right)]
            : [.. ReferenceSubproof(right, m - k, false), ReferenceRoot(left)];
    }

    private static int Log2(long n) => BitOperations.Log2((ulong)n);

    private static byte[] Flipped(byte[] hash)
    {
        var copy = (byte[])hash.Clone();
        copy[0] ^= 0x10;
        return copy;
    }

    private static IEnumerable<List<byte[]>> EachElementFlipped(IReadOnlyList<byte[]> proof)
    {
        for (var i = 0; i < proof.Count; i++)
        {
            var copy = proof.ToList();
            copy[i] = Flipped(copy[i]);
            yield return copy;
        }
    }

    private sealed class CountingNodes(IMerkleNodes inner) : IMerkleNodes
    {
        public int Reads { get; set; }

        public ValueTask<byte[]> NodeAsync(int level, long index, CancellationToken ct)
        {
            Reads++;
            return inner.NodeAsync(level, index, ct);
        }
    }
}
