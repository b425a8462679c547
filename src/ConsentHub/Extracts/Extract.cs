using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Extracts;

/// <summary>
/// An organisation's named extract: which records and consents it selects, which columns it writes, in which format, and
/// when it runs by itself. The definition is kept as the normalised JSON the admin sent (<see cref="ExtractSpec"/>).
/// </summary>
public sealed class ExtractDefinition
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    /// <summary>The normalised definition (<see cref="ExtractSpec.ToJson"/>).</summary>
    public required string Spec { get; set; }
    /// <summary>The 5-field cron expression (UTC) it runs on by itself; null: on demand only.</summary>
    public string? Schedule { get; set; }
    /// <summary>The next slot of <see cref="Schedule"/>; the runner claims it once it has passed.</summary>
    public DateTime? NextRunAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// One run of an extract, from its request (or its schedule's slot) to its file. A run takes the definition as it was when
/// it was asked for. The unique (definition, slot) makes one run per scheduled slot however many instances sweep; the
/// lease and its token hand an abandoned run to another instance without letting the first one finish it too.
/// </summary>
public sealed class ExtractRun
{
    public Guid Id { get; set; }
    public Guid DefinitionId { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    /// <summary>"schedule:{instant}" for a scheduled run; "on-demand:{id}" for one asked for.</summary>
    public required string Slot { get; set; }
    /// <summary><see cref="ExtractTriggers"/>.</summary>
    public required string Trigger { get; set; }
    public required string Spec { get; set; }
    /// <summary><see cref="ExtractRunStates"/>.</summary>
    public required string State { get; set; }
    public long Rows { get; set; }
    public long Bytes { get; set; }
    /// <summary>Lower-case hex SHA-256 of the file; empty until it completes.</summary>
    public string Sha256 { get; set; } = "";
    public string? Error { get; set; }
    public required string RequestedBy { get; set; }
    public DateTime RequestedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public Guid LeaseToken { get; set; }
    public int Attempts { get; set; }
    /// <summary>The <c>extract-issued</c> entry that holds the file's SHA-256; null until it completes.</summary>
    public long? LedgerIndex { get; set; }
}

/// <summary>A piece of a run's file, in order, stored compressed (<see cref="Hosting.IssuedFile.Deflate"/>); the file is the concatenation of its chunks inflated.</summary>
public sealed class ExtractChunk
{
    public Guid RunId { get; set; }
    public int Sequence { get; set; }
    public required byte[] Bytes { get; set; }
}

public static class ExtractRunStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    /// <summary>Completed, and its file deleted after <see cref="ExtractOptions.KeepDays"/>.</summary>
    public const string Expired = "expired";
}

public static class ExtractTriggers
{
    public const string Schedule = "schedule";
    public const string OnDemand = "on-demand";
}

/// <summary>The ledger entries of extracts.</summary>
public static class ExtractEvents
{
    public const string Configured = "extract-configured";
    public const string Deleted = "extract-deleted";
    public const string Issued = "extract-issued";
    public const string Failed = "extract-failed";
    public const string Downloaded = "extract-downloaded";
}

sealed class ExtractConfiguration :
    IEntityTypeConfiguration<ExtractDefinition>, IEntityTypeConfiguration<ExtractRun>, IEntityTypeConfiguration<ExtractChunk>
{
    public void Configure(EntityTypeBuilder<ExtractDefinition> b)
    {
        b.ToTable("extract_definitions");
        b.HasIndex(d => new { d.Nmsc, d.Name }).IsUnique();
        b.HasIndex(d => d.NextRunAt);
        b.Property(d => d.Nmsc).HasMaxLength(64);
        b.Property(d => d.Name).HasMaxLength(64);
        b.Property(d => d.Schedule).HasMaxLength(100);
    }

    public void Configure(EntityTypeBuilder<ExtractRun> b)
    {
        b.ToTable("extract_runs");
        b.HasIndex(r => new { r.DefinitionId, r.Slot }).IsUnique();
        b.HasIndex(r => new { r.Nmsc, r.Name, r.RequestedAt });
        b.HasIndex(r => new { r.State, r.LeaseUntil });
        b.Property(r => r.Nmsc).HasMaxLength(64);
        b.Property(r => r.Name).HasMaxLength(64);
        b.Property(r => r.Slot).HasMaxLength(80);
        b.Property(r => r.Trigger).HasMaxLength(16);
        b.Property(r => r.State).HasMaxLength(16);
        b.Property(r => r.Sha256).HasMaxLength(64);
        b.Property(r => r.Error).HasMaxLength(1000);
        b.Property(r => r.RequestedBy).HasMaxLength(200);
    }

    public void Configure(EntityTypeBuilder<ExtractChunk> b)
    {
        b.ToTable("extract_chunks");
        b.HasKey(c => new { c.RunId, c.Sequence });
    }
}
