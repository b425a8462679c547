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
}
