using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Tenancy;

/// <summary>An external system that feeds the clusters of one organisation (the Consumer Domain), through its OAuth client.</summary>
public sealed class ClusterFeed
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    public required string ClientId { get; set; }
    public DateTime CreatedAt { get; set; }
}

sealed class ClusterFeedConfiguration : IEntityTypeConfiguration<ClusterFeed>
{
    public void Configure(EntityTypeBuilder<ClusterFeed> b)
    {
        b.ToTable("cluster_feeds");
        b.HasIndex(f => f.ClientId).IsUnique();
        b.HasIndex(f => new { f.Nmsc, f.Name }).IsUnique();
        b.Property(f => f.Nmsc).HasMaxLength(64);
        b.Property(f => f.Name).HasMaxLength(64);
        b.Property(f => f.ClientId).HasMaxLength(100);
    }
}
