using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Ledger;

public sealed class LedgerOptions
{
    public const string Section = "ConsentHub:Ledger";

    /// <summary>The checkpoint origin and signing key name: a unique, schema-less name of this log.</summary>
    [Required, RegularExpression(@"^[\x21-\x2A\x2C-\x7E]{1,200}$")] // printable, no spaces, no "+" (C2SP note key names)
    public string Origin { get; set; } = "consenthub.local/ledger";

    /// <summary>While there are new entries, a checkpoint is signed at least this often.</summary>
    [Range(1, 86_400)]
    public int CheckpointIntervalSeconds { get; set; } = 10;

    public bool CheckpointWorkerEnabled { get; set; } = true;

    /// <summary>
    /// Changes arriving at the same moment at one instance are committed together: one transaction, one update of the
    /// ledger head and one flush for the group, each answered when its group is durable. Off: each in its own.
    /// </summary>
    public bool GroupCommit { get; set; } = true;

    /// <summary>The most changes one group commits.</summary>
    [Range(1, 1_000)]
    public int GroupCommitMaxChanges { get; set; } = 32;

    /// <summary>
    /// Groups staged at once by one instance, each in its own transaction; a record's changes always go to the same
    /// one. Only the ledger lock, held for each group's last statements and its flush, orders them.
    /// </summary>
    [Range(1, 16)]
    public int GroupCommitters { get; set; } = 2;
}
