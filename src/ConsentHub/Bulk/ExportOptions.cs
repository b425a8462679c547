using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Bulk;

public sealed class ExportOptions
{
    public const string Section = "ConsentHub:Export";

    /// <summary>Records read from the database per batch of an export: memory holds two (one written, the next read meanwhile), however large the organisation.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1_000;
}
