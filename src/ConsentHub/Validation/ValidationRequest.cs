using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Validation;

public static class ValidationStates
{
    /// <summary>Waiting for its first email to go out.</summary>
    public const string Queued = "QUEUED";
    /// <summary>The first email went out; the first window runs.</summary>
    public const string Sent = "SENT";
    /// <summary>The reminder went out; the second and last window runs.</summary>
    public const string Reminded = "REMINDED";
    public const string Confirmed = "CONFIRMED";
    public const string Expired = "EXPIRED";
    public const string Failed = "FAILED";
    /// <summary>
    /// No email from the hub: the partner that asked for the change (an opt-in flow of seed 003) confirms it for the
    /// person, until the window ends; then it expires like any other.
    /// </summary>
    public const string AwaitingPartner = "AWAITING_PARTNER";
    /// <summary>Its change was replaced by another before anyone confirmed it (an opt-in flow's new selection).</summary>
    public const string Superseded = "SUPERSEDED";

    public static bool IsOpen(string state) => state is Queued or Sent or Reminded or AwaitingPartner;
}

/// <summary>
/// The double opt-in of one unvalidated change: the address to ask, what the worker must do next and when,
/// and the ledger indices of each step. It is also the outbox of the validation emails.
/// </summary>
public sealed class ValidationRequest
{
    public Guid Id { get; set; }
    public Guid ChangeRequestId { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    /// <summary>
    /// Where older versions kept the address in clear; null in current rows. The address to ask is the one its
    /// change request carried, sealed in personal_data.
    /// </summary>
    public string? LegacyEmail { get; set; }
    public string? Language { get; set; }
    public required string State { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>When the worker must act next: send, remind or expire.</summary>
    public DateTime DueAt { get; set; }
    public DateTime? WindowEndsAt { get; set; }
    /// <summary>An instance working on this row holds it until then; another may take it after.</summary>
    public DateTime? LeaseUntil { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public string? MessageId { get; set; }
    public DateTime? SentAt { get; set; }
    public long? SentLedgerIndex { get; set; }
    public DateTime? ReminderSentAt { get; set; }
    public long? ReminderLedgerIndex { get; set; }
    public DateTime? EndedAt { get; set; }
    public long? EndLedgerIndex { get; set; }
    /// <summary>
    /// The validation reference its confirmation gives the consents (an opt-in flow's extRefNo); null gives this
    /// validation's id.
    /// </summary>
    public string? Reference { get; set; }
}

/// <summary>A link token, stored only as its SHA-256. Each email carries a fresh one; all die with the validation.</summary>
public sealed class ValidationToken
{
    public required string Hash { get; set; }
    public Guid ValidationId { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>An organisation's or a context's own words for one language, over the built-in ones.</summary>
public sealed class ContextTexts
{
    public required string Context { get; set; }
    public required string Language { get; set; }
    /// <summary>The members of <see cref="ValidationTexts"/> given, as a JSON object.</summary>
    public required string Overrides { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class ValidationConfiguration :
    IEntityTypeConfiguration<ValidationRequest>, IEntityTypeConfiguration<ValidationToken>, IEntityTypeConfiguration<ContextTexts>
{
    public void Configure(EntityTypeBuilder<ValidationRequest> b)
    {
        b.ToTable("validations");
        b.HasIndex(v => v.ChangeRequestId).IsUnique();
        b.HasIndex(v => new { v.State, v.DueAt });
        b.Property(v => v.Nmsc).HasMaxLength(64);
        b.Property(v => v.Context).HasMaxLength(64);
        b.Property(v => v.LegacyEmail).HasColumnName("Email").HasMaxLength(254);
        b.Property(v => v.Language).HasMaxLength(35);
        b.Property(v => v.State).HasMaxLength(16);
        b.Property(v => v.LastError).HasMaxLength(1000);
        b.Property(v => v.MessageId).HasMaxLength(300);
        b.Property(v => v.Reference).HasMaxLength(200);
    }

    public void Configure(EntityTypeBuilder<ValidationToken> b)
    {
        b.ToTable("validation_tokens");
        b.HasKey(t => t.Hash);
        b.Property(t => t.Hash).HasMaxLength(64);
        b.HasIndex(t => t.ValidationId);
    }

    public void Configure(EntityTypeBuilder<ContextTexts> b)
    {
        b.ToTable("context_texts");
        b.HasKey(t => new { t.Context, t.Language });
        b.Property(t => t.Context).HasMaxLength(64);
        b.Property(t => t.Language).HasMaxLength(35);
    }
}
