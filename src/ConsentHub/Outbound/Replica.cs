using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Outbound;

public static class ReplicaStates
{
    /// <summary>The initial copy has not finished: it starts again from the beginning.</summary>
    public const string Copying = "copying";
    /// <summary>Copied; changes are applied from the change log after <see cref="Replica.AppliedIndex"/>.</summary>
    public const string Live = "live";
}

/// <summary>
/// A table in a third party's PostgreSQL database kept equal to the organisation's current consents and channels
/// (seed 000's "direct database injection"): an initial copy, then every change of the change log in ledger order,
/// resumable from (<see cref="AppliedIndex"/>, <see cref="AppliedPosition"/>) after an outage of either side.
/// </summary>
public sealed class Replica
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    /// <summary>The target's connection string, protected with ASP.NET Data Protection (it holds a password).</summary>
    public required string ConnectionString { get; set; }
    public required string Schema { get; set; }
    public required string Table { get; set; }
    public required string State { get; set; }
    public long AppliedIndex { get; set; }
    public int AppliedPosition { get; set; }
    public long RowsApplied { get; set; }
    public DateTime? LastAppliedAt { get; set; }
    public string? LastError { get; set; }
    public DateTime? LastErrorAt { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class ReplicaConfiguration : IEntityTypeConfiguration<Replica>
{
    public void Configure(EntityTypeBuilder<Replica> b)
    {
        b.ToTable("replicas");
        b.HasKey(r => r.Id);
        b.HasIndex(r => new { r.Nmsc, r.Name }).IsUnique();
        b.Property(r => r.Nmsc).HasMaxLength(64);
        b.Property(r => r.Name).HasMaxLength(64);
        b.Property(r => r.Schema).HasMaxLength(63);
        b.Property(r => r.Table).HasMaxLength(63);
        b.Property(r => r.State).HasMaxLength(16);
        b.Property(r => r.LeaseOwner).HasMaxLength(200);
        b.Property(r => r.LastError).HasMaxLength(2000);
    }
}
