using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Clusters;

/// <summary>
/// One customer record's membership of a cluster, as an external feed declared it. The record is named by its key
/// (context, source system, source customer id), so a feed may name records the hub has not seen yet.
/// </summary>
public sealed class ClusterMember
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public required string ClusterId { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SourceCustomerId { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class ClusterMemberConfiguration : IEntityTypeConfiguration<ClusterMember>
{
    public void Configure(EntityTypeBuilder<ClusterMember> b)
    {
        b.ToTable("cluster_members");
        // A record belongs to at most one cluster of its organisation.
        b.HasIndex(m => new { m.Nmsc, m.Context, m.SourceSystem, m.SourceCustomerId }).IsUnique();
        b.HasIndex(m => new { m.Nmsc, m.ClusterId });
        b.Property(m => m.Nmsc).HasMaxLength(64);
        b.Property(m => m.ClusterId).HasMaxLength(ClusterRules.MaxClusterIdLength);
        b.Property(m => m.Context).HasMaxLength(64);
        b.Property(m => m.SourceSystem).HasMaxLength(64);
        b.Property(m => m.SourceCustomerId).HasMaxLength(200);
    }
}
