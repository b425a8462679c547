using System.ComponentModel.DataAnnotations;

namespace ConsentHub.OptOut;

public sealed class IndustryOptions
{
    public const string Section = "ConsentHub:Industry";

    /// <summary>The largest provider list accepted; the import route lifts the server's general request size limit up to this.</summary>
    [Range(1, long.MaxValue)]
    public long MaxImportBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Lines inserted together (one statement on PostgreSQL).</summary>
    [Range(1, 50_000)]
    public int ImportBatchSize { get; set; } = 5_000;
}
