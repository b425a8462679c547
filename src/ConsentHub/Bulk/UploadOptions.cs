using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Bulk;

public sealed class UploadOptions
{
    public const string Section = "ConsentHub:Upload";

    /// <summary>The largest upload body accepted; the route lifts the server's general request size limit up to this.</summary>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>Records read before they are applied together and the upload's progress is saved.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1_000;

    /// <summary>The largest single record (envelope): a reader never holds more than about this much of the file.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxRecordBytes { get; set; } = 1024 * 1024;

    /// <summary>A RUNNING upload not updated for this long when an instance starts was interrupted: it is marked FAILED.</summary>
    [Range(1, 24 * 60)]
    public int StaleMinutes { get; set; } = 10;
}
