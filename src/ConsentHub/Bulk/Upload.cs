using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Bulk;

/// <summary>One initial upload of a source system: its progress, updated after every batch, and how it ended.</summary>
public sealed class Upload
{
    public Guid Id { get; set; }
    public long SourceSystemId { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SubmittedBy { get; set; }
    public required string Status { get; set; }
    public bool Propagate { get; set; }
    /// <summary>Records read from the file, whatever became of them.</summary>
    public long Read { get; set; }
    public long Applied { get; set; }
    public long Rejected { get; set; }
    /// <summary>Records applied by an earlier upload (the same customer with the same data).</summary>
    public long Skipped { get; set; }
    public long Bytes { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>Renewed by the instance running the job while it runs; a RUNNING job whose heartbeat is stale was abandoned.</summary>
    public DateTime HeartbeatAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public string? FailureReason { get; set; }
}

public static class UploadStatuses
{
    public const string Running = "RUNNING";
    public const string Completed = "COMPLETED";
    public const string Failed = "FAILED";
}

/// <summary>One broken rule of one rejected record; a record breaking several rules has several rows.</summary>
public sealed class UploadError
{
    public long Id { get; set; }
    public Guid UploadId { get; set; }
    /// <summary>The record's number in the file, from 1.</summary>
    public long Position { get; set; }
    public string? SourceCustomerId { get; set; }
    public required string Field { get; set; }
    public required string Rule { get; set; }
    public required string Message { get; set; }
}

sealed class UploadConfiguration : IEntityTypeConfiguration<Upload>, IEntityTypeConfiguration<UploadError>
{
    public const int MaxField = 200;
    public const int MaxMessage = 1000;

    public void Configure(EntityTypeBuilder<Upload> b)
    {
        b.ToTable("uploads");
        b.HasKey(u => u.Id);
        b.Property(u => u.Id).ValueGeneratedNever();
        // The watchdog looks for abandoned uploads; readers list a system's uploads.
        b.HasIndex(u => new { u.Status, u.HeartbeatAt });
        b.HasIndex(u => new { u.SourceSystemId, u.StartedAt });
        b.Property(u => u.Nmsc).HasMaxLength(64);
        b.Property(u => u.Context).HasMaxLength(64);
        b.Property(u => u.SourceSystem).HasMaxLength(64);
        b.Property(u => u.SubmittedBy).HasMaxLength(200);
        b.Property(u => u.Status).HasMaxLength(16);
        b.Property(u => u.FailureReason).HasMaxLength(MaxMessage);
    }

    public void Configure(EntityTypeBuilder<UploadError> b)
    {
        b.ToTable("upload_errors");
        b.HasKey(e => e.Id);
        b.HasIndex(e => new { e.UploadId, e.Position, e.Id });
        b.HasOne<Upload>().WithMany().HasForeignKey(e => e.UploadId).OnDelete(DeleteBehavior.Cascade);
        b.Property(e => e.SourceCustomerId).HasMaxLength(Tenancy.Names.MaxSourceCustomerIdLength);
        b.Property(e => e.Field).HasMaxLength(MaxField);
        b.Property(e => e.Rule).HasMaxLength(64);
        b.Property(e => e.Message).HasMaxLength(MaxMessage);
    }
}
