namespace ConsentHub.Ledger;

/// <summary>A signed checkpoint: a C2SP signed note over the tlog-checkpoint body of one tree size.</summary>
public sealed class LedgerCheckpoint
{
    public long Id { get; set; }
    public long Size { get; set; }
    public required byte[] RootHash { get; set; }
    public required string Note { get; set; }
    public DateTime CreatedAt { get; set; }
}
