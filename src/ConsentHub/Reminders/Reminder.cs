using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Reminders;

/// <summary>
/// An organisation's reminder rule: which records are asked to revisit which consents (the rule's flag, validated longer
/// ago than <c>olderThan</c>), how (email, or a signed message to the communication system) and when it runs (cron).
/// </summary>
public sealed class ReminderRule
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    /// <summary>The normalised definition (<see cref="ReminderSpec.ToJson"/>).</summary>
    public required string Spec { get; set; }
    public required string Schedule { get; set; }
    /// <summary>The next slot of <see cref="Schedule"/>; a sweep that finds it passed runs the rule once for it.</summary>
    public DateTime? NextRunAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One run of a rule: the slot it filled and what it selected and sent. Unique per (rule, slot) across instances.</summary>
public sealed class ReminderRun
{
    public Guid Id { get; set; }
    public Guid RuleId { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    public required string Slot { get; set; }
    public required string Trigger { get; set; }
    /// <summary><see cref="ReminderRunStates"/>.</summary>
    public required string State { get; set; }
    /// <summary>Records the run chose (each one reminder).</summary>
    public int Selected { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
    public long? LedgerIndex { get; set; }
}

/// <summary>
/// One record reminded by one run: sent by email (with a one-time link to the revisit page) or to the communication
/// system, and what became of it. At most one per rule and record within the rule's period.
/// </summary>
public sealed class Reminder
{
    public Guid Id { get; set; }
    public Guid RuleId { get; set; }
    public Guid RunId { get; set; }
    public required string Nmsc { get; set; }
    public long CustomerId { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SourceCustomerId { get; set; }
    public string? Language { get; set; }
    /// <summary>The rule's categories the record was reminded of, comma-separated.</summary>
    public required string Categories { get; set; }
    /// <summary><see cref="ReminderChannels"/>.</summary>
    public required string Channel { get; set; }
    /// <summary><see cref="ReminderStates"/>.</summary>
    public required string State { get; set; }
    /// <summary>SHA-256 of the revisit link's token (email reminders); the token itself is only in the email.</summary>
    public string? TokenHash { get; set; }
    public DateTime? TokenExpiresAt { get; set; }
    public int Attempts { get; set; }
    public DateTime DueAt { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public string? LastError { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? SentAt { get; set; }
    public DateTime? OutcomeAt { get; set; }
}

public static class ReminderRunStates
{
    public const string Running = "running";
    public const string Completed = "completed";
}

public static class ReminderStates
{
    public const string Queued = "queued";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Confirmed = "confirmed";
    public const string Changed = "changed";
}

public static class ReminderChannels
{
    public const string Email = "email";
    public const string Webhook = "webhook";
}

/// <summary>The ledger entries of reminders: no personal data, record ids and categories only.</summary>
public static class ReminderEvents
{
    public const string RuleConfigured = "reminder-rule-configured";
    public const string RuleDeleted = "reminder-rule-deleted";
    public const string RunCompleted = "reminder-run-completed";
    public const string Sent = "reminder-sent";
    public const string Delivered = "reminder-delivered";
    public const string Failed = "reminder-failed";
    public const string Confirmed = "reminder-confirmed";
    public const string Changed = "reminder-changed";
}

sealed class ReminderConfiguration :
    IEntityTypeConfiguration<ReminderRule>, IEntityTypeConfiguration<ReminderRun>, IEntityTypeConfiguration<Reminder>
{
    public void Configure(EntityTypeBuilder<ReminderRule> b)
    {
        b.ToTable("reminder_rules");
        b.HasIndex(r => new { r.Nmsc, r.Name }).IsUnique();
        b.HasIndex(r => r.NextRunAt);
        b.Property(r => r.Nmsc).HasMaxLength(64);
        b.Property(r => r.Name).HasMaxLength(64);
        b.Property(r => r.Schedule).HasMaxLength(100);
    }

    public void Configure(EntityTypeBuilder<ReminderRun> b)
    {
        b.ToTable("reminder_runs");
        b.HasIndex(r => new { r.RuleId, r.Slot }).IsUnique();
        b.HasIndex(r => new { r.Nmsc, r.Name, r.StartedAt });
        b.Property(r => r.Nmsc).HasMaxLength(64);
        b.Property(r => r.Name).HasMaxLength(64);
        b.Property(r => r.Slot).HasMaxLength(80);
        b.Property(r => r.Trigger).HasMaxLength(16);
        b.Property(r => r.State).HasMaxLength(16);
    }

    public void Configure(EntityTypeBuilder<Reminder> b)
    {
        b.ToTable("reminders");
        b.HasIndex(r => new { r.RuleId, r.CustomerId, r.CreatedAt });
        b.HasIndex(r => new { r.RunId, r.CustomerId }).IsUnique();
        b.HasIndex(r => new { r.State, r.DueAt });
        b.HasIndex(r => r.TokenHash).IsUnique();
        b.Property(r => r.Nmsc).HasMaxLength(64);
        b.Property(r => r.Context).HasMaxLength(64);
        b.Property(r => r.SourceSystem).HasMaxLength(64);
        b.Property(r => r.SourceCustomerId).HasMaxLength(200);
        b.Property(r => r.Language).HasMaxLength(35);
        b.Property(r => r.Categories).HasMaxLength(1000);
        b.Property(r => r.Channel).HasMaxLength(16);
        b.Property(r => r.State).HasMaxLength(16);
        b.Property(r => r.TokenHash).HasMaxLength(64);
        b.Property(r => r.LastError).HasMaxLength(1000);
    }
}
