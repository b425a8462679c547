using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Rights;

/// <summary>How an erasure or a subject access request named the person.</summary>
public static class PersonCriteria
{
    public const string Email = "email";
    public const string Phone = "phone";
    public const string Record = "record";
}

/// <summary>
/// One erasure of a person (GDPR art. 17): the records whose keys were destroyed, when, by whom, and the ledger entry
/// that records it. The address or phone it was asked for is not kept, only its blind index (<see cref="CriterionKey"/>),
/// so that asking again answers this erasure instead of erasing twice.
/// </summary>
public sealed class Erasure
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    /// <summary><see cref="PersonCriteria"/>: email, phone or record.</summary>
    public required string Criterion { get; set; }
    /// <summary>The blind index of the email or phone asked for (HMAC under the hub's key, never the address); null for a record.</summary>
    public string? CriterionKey { get; set; }
    /// <summary>Who asked: the token's subject.</summary>
    public required string RequestedBy { get; set; }
    public required string RequestedByRole { get; set; }
    public DateTime ErasedAt { get; set; }
    public long LedgerIndex { get; set; }
}

/// <summary>A customer record an erasure destroyed the key of; its source ids stay, as every other table keeps them.</summary>
public sealed class ErasedRecord
{
    public Guid ErasureId { get; set; }
    public long CustomerId { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SourceCustomerId { get; set; }
}

sealed class ErasureConfiguration : IEntityTypeConfiguration<Erasure>, IEntityTypeConfiguration<ErasedRecord>
{
    public void Configure(EntityTypeBuilder<Erasure> b)
    {
        b.ToTable("erasures");
        b.HasIndex(e => new { e.Nmsc, e.Criterion, e.CriterionKey });
        b.Property(e => e.Nmsc).HasMaxLength(64);
        b.Property(e => e.Criterion).HasMaxLength(16);
        b.Property(e => e.CriterionKey).HasMaxLength(64);
        b.Property(e => e.RequestedBy).HasMaxLength(100);
        b.Property(e => e.RequestedByRole).HasMaxLength(32);
    }

    public void Configure(EntityTypeBuilder<ErasedRecord> b)
    {
        b.ToTable("erased_records");
        b.HasKey(r => new { r.ErasureId, r.CustomerId });
        b.HasIndex(r => r.CustomerId);
        b.Property(r => r.Context).HasMaxLength(64);
        b.Property(r => r.SourceSystem).HasMaxLength(64);
        b.Property(r => r.SourceCustomerId).HasMaxLength(200);
    }
}
