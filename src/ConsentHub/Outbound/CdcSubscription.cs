using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Outbound;

/// <summary>
/// A change data capture subscription (seed 000): the organisation's changes that touch one of <see cref="Fields"/> are
/// published to <see cref="Exchange"/> on the broker, as CloudEvents, in ledger order, from the change log read forward
/// from the cursor (<see cref="CursorIndex"/>, <see cref="CursorPosition"/>: the last row handled, published or skipped).
/// </summary>
public sealed class CdcSubscription
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    /// <summary>JSON array of context names; null for every context of the organisation.</summary>
    public string? Contexts { get; set; }
    /// <summary>JSON array of field names (<see cref="RecordImage"/>), as saved.</summary>
    public required string Fields { get; set; }
    public required string Exchange { get; set; }
    public bool IncludePersonalData { get; set; }
    public long CursorIndex { get; set; }
    public int CursorPosition { get; set; }
    public long PublishedCount { get; set; }
    public DateTime? LastPublishedAt { get; set; }
    public string? LastError { get; set; }
    public DateTime? LastErrorAt { get; set; }
    /// <summary>The instance publishing it now, and until when its claim holds.</summary>
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class CdcSubscriptionConfiguration : IEntityTypeConfiguration<CdcSubscription>
{
    public void Configure(EntityTypeBuilder<CdcSubscription> b)
    {
        b.ToTable("cdc_subscriptions");
        b.HasKey(s => s.Id);
        b.HasIndex(s => new { s.Nmsc, s.Name }).IsUnique();
        b.Property(s => s.Nmsc).HasMaxLength(64);
        b.Property(s => s.Name).HasMaxLength(64);
        b.Property(s => s.Exchange).HasMaxLength(255);
        b.Property(s => s.LeaseOwner).HasMaxLength(200);
        b.Property(s => s.LastError).HasMaxLength(2000);
    }
}
