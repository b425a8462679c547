namespace ConsentHub.Ledger;

/// <summary>
/// One stored node of the ledger's Merkle tree: the hash of the perfect, aligned subtree of leaves
/// [Index·2^Level, (Index+1)·2^Level). Level 0 holds the leaf hashes. Appending an entry writes the nodes it completes,
/// one per level at most; every root and proof of any past tree size is computed from these rows.
/// </summary>
public sealed class LedgerTreeNode
{
    public int Level { get; set; }
    public long Index { get; set; }
    public required byte[] Hash { get; set; }
}
