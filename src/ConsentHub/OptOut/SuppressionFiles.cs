using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.OptOut;

/// <summary>How often an organisation receives suppression files, in which formats, and what they carry. No row: no files.</summary>
public sealed class SuppressionFileSettings
{
    public required string Nmsc { get; set; }
    /// <summary><see cref="SuppressionFrequencies"/>.</summary>
    public required string Frequency { get; set; }
    /// <summary>The formats, comma-separated in a fixed order ("csv", "json", "csv,json").</summary>
    public required string Formats { get; set; }
    /// <summary>Values as lower-case hex SHA-256 of the normalised identifier instead of the clear value.</summary>
    public bool Hashed { get; set; }
    /// <summary>Add the industry pool (hashed) while the organisation's data sharing agreement is in force.</summary>
    public bool Industry { get; set; }
    public DateTime UpdatedAt { get; set; }

    public IReadOnlyList<string> FormatList => Formats.Split(',', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// One suppression file the hub issued (or is issuing): the slot it fills, what it holds, and its content, kept in the
/// database in chunks so that every instance serves it and no instance holds a whole file in memory. A row is claimed
/// (inserted) before it is generated: the unique slot makes sure one instance generates it; <see cref="LedgerIndex"/>
/// is set when it is issued, in the transaction that records <c>suppression-file-issued</c>.
/// </summary>
public sealed class SuppressionFile
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    /// <summary>"{frequency}:{period start}" for a scheduled file; "on-demand:{id}" for one made on request, which takes no slot.</summary>
    public required string Slot { get; set; }
    /// <summary><see cref="SuppressionFrequencies"/>, or <see cref="SuppressionFrequencies.OnDemand"/>.</summary>
    public required string Frequency { get; set; }
    public DateTime PeriodStart { get; set; }
    public DateTime PeriodEnd { get; set; }
    /// <summary>The instant the contents are as at: the period start for a scheduled file, the request's time for one on demand.</summary>
    public DateTime CutOff { get; set; }
    /// <summary>A delta's lower bound (the previous delta's cut-off); null for a full file and for the first delta.</summary>
    public DateTime? DeltaFrom { get; set; }
    /// <summary><see cref="SuppressionFileKinds"/>.</summary>
    public required string Kind { get; set; }
    /// <summary><see cref="SuppressionFileFormats"/>.</summary>
    public required string Format { get; set; }
    public bool Hashed { get; set; }
    /// <summary>The pool's lines are in the file (the organisation was a member when it was generated).</summary>
    public bool Industry { get; set; }
    public int Lines { get; set; }
    public long Size { get; set; }
    /// <summary>Lower-case hex SHA-256 of the file's bytes; empty until issued.</summary>
    public string Sha256 { get; set; } = "";
    public DateTime ClaimedAt { get; set; }
    /// <summary>While an instance generates the file; a claim whose lease ran out may be taken over.</summary>
    public DateTime? LeaseUntil { get; set; }
    /// <summary>Names the claim; a take-over gives a new one, so the instance that lost it cannot issue the file too.</summary>
    public Guid LeaseToken { get; set; }
    public DateTime? CreatedAt { get; set; }
    /// <summary>The <c>suppression-file-issued</c> entry; null while the file is being generated.</summary>
    public long? LedgerIndex { get; set; }
}

/// <summary>A piece of a file's content, in order; a file is the concatenation of its chunks.</summary>
public sealed class SuppressionFileChunk
{
    public Guid FileId { get; set; }
    public int Sequence { get; set; }
    public required byte[] Bytes { get; set; }
}

public static class SuppressionFrequencies
{
    public const string Daily = "daily";
    public const string Weekly = "weekly";
    public const string Monthly = "monthly";
    public const string OnDemand = "on-demand";

    public static bool IsScheduled(string value) => value is Daily or Weekly or Monthly;
}

public static class SuppressionFileKinds
{
    public const string Full = "full";
    public const string Delta = "delta";
}

public static class SuppressionFileFormats
{
    public const string Csv = "csv";
    public const string Json = "json";

    public static readonly string[] All = [Csv, Json];

    public static string MediaType(string format) => format == Csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
}

/// <summary>The ledger entries of suppression files.</summary>
public static class SuppressionFileEvents
{
    public const string Configured = "suppression-files-configured";
    public const string Issued = "suppression-file-issued";
}

sealed class SuppressionFilesConfiguration :
    IEntityTypeConfiguration<SuppressionFileSettings>, IEntityTypeConfiguration<SuppressionFile>, IEntityTypeConfiguration<SuppressionFileChunk>
{
    public void Configure(EntityTypeBuilder<SuppressionFileSettings> b)
    {
        b.ToTable("suppression_file_settings");
        b.HasKey(s => s.Nmsc);
        b.Property(s => s.Nmsc).HasMaxLength(64);
        b.Property(s => s.Frequency).HasMaxLength(16);
        b.Property(s => s.Formats).HasMaxLength(32);
        b.Ignore(s => s.FormatList);
    }

    public void Configure(EntityTypeBuilder<SuppressionFile> b)
    {
        b.ToTable("suppression_files");
        // Exactly one file per organisation, slot, kind and format, however many instances generate.
        b.HasIndex(f => new { f.Nmsc, f.Slot, f.Kind, f.Format }).IsUnique();
        b.HasIndex(f => new { f.Nmsc, f.LedgerIndex });
        b.Property(f => f.Nmsc).HasMaxLength(64);
        b.Property(f => f.Slot).HasMaxLength(80);
        b.Property(f => f.Frequency).HasMaxLength(16);
        b.Property(f => f.Kind).HasMaxLength(8);
        b.Property(f => f.Format).HasMaxLength(8);
        b.Property(f => f.Sha256).HasMaxLength(64);
    }

    public void Configure(EntityTypeBuilder<SuppressionFileChunk> b)
    {
        b.ToTable("suppression_file_chunks");
        b.HasKey(c => new { c.FileId, c.Sequence });
    }
}
