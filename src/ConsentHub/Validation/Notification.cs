using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Validation;

public static class NotificationStates
{
    public const string Queued = "QUEUED";
    public const string Sent = "SENT";
    public const string Failed = "FAILED";
}

/// <summary>
/// The email telling a person that a change they asked to be notified of (<c>notify: true</c>) was applied: no link, nothing
/// to do. Written with the applied change, so it is the outbox of these emails; the validation worker sends it.
/// </summary>
public sealed class Notification
{
    public Guid Id { get; set; }
    public Guid ChangeRequestId { get; set; }
    public long CustomerId { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public string? Language { get; set; }
    public required string State { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime DueAt { get; set; }
    /// <summary>An instance sending this email holds it until then; another may take it after.</summary>
    public DateTime? LeaseUntil { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public string? MessageId { get; set; }
    /// <summary>When it was sent, or when it finally failed.</summary>
    public DateTime? EndedAt { get; set; }
    /// <summary>The "notification-sent" or "notification-failed" entry.</summary>
    public long? LedgerIndex { get; set; }
}

sealed class NotificationConfiguration : IEntityTypeConfiguration<Notification>
{
    public void Configure(EntityTypeBuilder<Notification> b)
    {
        b.ToTable("notifications");
        b.HasIndex(n => n.ChangeRequestId).IsUnique();
        b.HasIndex(n => new { n.State, n.DueAt });
        b.Property(n => n.Nmsc).HasMaxLength(64);
        b.Property(n => n.Context).HasMaxLength(64);
        b.Property(n => n.Language).HasMaxLength(35);
        b.Property(n => n.State).HasMaxLength(16);
        b.Property(n => n.LastError).HasMaxLength(1000);
        b.Property(n => n.MessageId).HasMaxLength(300);
    }
}
