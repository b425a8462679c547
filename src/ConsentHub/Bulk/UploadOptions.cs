using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Bulk;

public sealed class UploadOptions : IValidatableObject
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

    /// <summary>How often a running upload renews its heartbeat, whether or not records arrive.</summary>
    [Range(1, 3600)]
    public int HeartbeatSeconds { get; set; } = 15;

    /// <summary>A RUNNING upload whose heartbeat is older than this was abandoned (its instance crashed or stopped): it is marked FAILED.</summary>
    [Range(2, 24 * 3600)]
    public int StaleSeconds { get; set; } = 60;

    /// <summary>How often every instance looks for abandoned uploads.</summary>
    [Range(1, 3600)]
    public int WatchdogSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A heartbeat delayed by one slow write must not make a live upload look abandoned.
        if (StaleSeconds < 2 * HeartbeatSeconds)
            yield return new ValidationResult("StaleSeconds must be at least twice HeartbeatSeconds.", [nameof(StaleSeconds)]);
    }
}
