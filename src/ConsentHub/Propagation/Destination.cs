using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Propagation;

/// <summary>
/// Where the hub delivers a source system's propagated subscription data: its webhook URI and the payload
/// version it expects (seed 004 "Destination"). The API key and signing secrets must be sent, so they are kept
/// recoverable, encrypted with ASP.NET Data Protection rather than hashed.
/// </summary>
public sealed class Destination
{
    public long Id { get; set; }
    public long SourceSystemId { get; set; }
    public required string Uri { get; set; }
    public required string Version { get; set; }
    public required string ProtectedApiKey { get; set; }
    public required string ProtectedSigningSecret { get; set; }
    /// <summary>The secret before the last rotation, still sent beside the new one until <see cref="PreviousSecretUntil"/>.</summary>
    public string? ProtectedPreviousSigningSecret { get; set; }
    public DateTime? PreviousSecretUntil { get; set; }
    /// <summary>The API key before the last rotation, still sent beside the new one until <see cref="PreviousApiKeyUntil"/>.</summary>
    public string? ProtectedPreviousApiKey { get; set; }
    public DateTime? PreviousApiKeyUntil { get; set; }
    public bool Enabled { get; set; } = true;
    public string? DisabledReason { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class DestinationConfiguration : IEntityTypeConfiguration<Destination>
{
    public void Configure(EntityTypeBuilder<Destination> b)
    {
        b.ToTable("destinations");
        b.HasIndex(d => d.SourceSystemId).IsUnique();
        b.Property(d => d.Uri).HasMaxLength(2000);
        b.Property(d => d.Version).HasMaxLength(16);
        b.Property(d => d.DisabledReason).HasMaxLength(500);
    }
}
