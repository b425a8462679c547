using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Preferences;

/// <summary>
/// A link asked for on the page that has been opened: its primary key makes the second opening fail, on any instance.
/// Kept until the link would have expired anyway.
/// </summary>
public sealed class PreferenceLinkUse
{
    public required string LinkId { get; set; }
    public DateTime UsedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
}

sealed class PreferenceLinkUseConfiguration : IEntityTypeConfiguration<PreferenceLinkUse>
{
    public void Configure(EntityTypeBuilder<PreferenceLinkUse> b)
    {
        b.ToTable("preference_link_uses");
        b.HasKey(u => u.LinkId);
        b.Property(u => u.LinkId).HasMaxLength(32);
        b.HasIndex(u => u.ExpiresAt);
    }
}
