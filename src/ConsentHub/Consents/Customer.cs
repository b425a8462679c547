using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Consents;

/// <summary>A customer record of one source system, keyed by that system's own customer id.</summary>
public sealed class Customer
{
    public long Id { get; set; }
    public long SourceSystemId { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SourceCustomerId { get; set; }
    public string? Language { get; set; }
    public string? Country { get; set; }
    /// <summary>
    /// Where older versions kept the email in clear. The address now lives sealed in personal_data; on start the hub
    /// moves any it finds here (<see cref="PersonalDataBackfill"/>), so this is null in every current row.
    /// </summary>
    public string? LegacyEmail { get; set; }
    /// <summary>The blind index of the email (<see cref="BlindIndex"/>): what built-in matching compares.</summary>
    public string? EmailKey { get; set; }
    /// <summary>As <see cref="LegacyEmail"/>, for the phone.</summary>
    public string? LegacyPhone { get; set; }
    /// <summary>The blind index of the phone in its E.164 form: what built-in matching compares.</summary>
    public string? PhoneKey { get; set; }
    public DateTime CreatedAt { get; set; }
}

public static class ChangeStatus
{
    public const string PendingValidation = "PENDING_VALIDATION";
    public const string Applied = "APPLIED";
    public const string Expired = "EXPIRED";
    public const string Rejected = "REJECTED";
    public const string ValidationFailed = "VALIDATION_FAILED";
    /// <summary>Replaced by a later change of the same flow before it was confirmed; never applied.</summary>
    public const string Superseded = "SUPERSEDED";
}

/// <summary>One REQUESTED change as a source system sent it, and what became of it.</summary>
public sealed class ChangeRequest
{
    public Guid Id { get; set; }
    public long CustomerId { get; set; }
    public required string Status { get; set; }
    public bool Validated { get; set; }
    /// <summary>The request's <c>notify</c>: once applied, the person is sent an email confirming the change.</summary>
    public bool Notify { get; set; }
    public DateTime? CommandTimestamp { get; set; }
    /// <summary>
    /// The request's subscription data as sent, without the email and phone: those are sealed in personal_data
    /// (<see cref="PersonalDataKinds.ChangeRequest"/>) and joined back by <see cref="PersonalDataVault.RequestDataAsync"/>.
    /// </summary>
    public required string Data { get; set; }
    /// <summary>Who sent it: the token's subject.</summary>
    public required string SubmittedBy { get; set; }
    public DateTime ReceivedAt { get; set; }
    public DateTime? AppliedAt { get; set; }
    /// <summary>The ledger index of its "change-requested" entry; it doubles as arrival order.</summary>
    public long Sequence { get; set; }
    public long? OutcomeLedgerIndex { get; set; }
    /// <summary>Why it ended as it did, when that needs words (e.g. the mail error of a failed validation).</summary>
    public string? StatusReason { get; set; }
}

/// <summary>The current value of one consent category for one customer record.</summary>
public sealed class ConsentEntry
{
    public long CustomerId { get; set; }
    public required string Code { get; set; }
    public bool Flag { get; set; }
    public string? Description { get; set; }
    public string? LongDescription { get; set; }
    public DateTime RequestedAt { get; set; }
    public DateTime? ValidatedAt { get; set; }
    public string? ValidationReference { get; set; }
    public string? OriginSourceSystem { get; set; }
    public string? ModifiedByOrganization { get; set; }
    public string? ModifiedByUser { get; set; }
    public Guid ChangeRequestId { get; set; }
    public long Sequence { get; set; }
}

/// <summary>The current value of one channel preference for one customer record.</summary>
public sealed class ChannelEntry
{
    public long CustomerId { get; set; }
    public required string Code { get; set; }
    public bool Flag { get; set; }
    public DateTime RequestedAt { get; set; }
    public string? OriginSourceSystem { get; set; }
    public string? ModifiedByOrganization { get; set; }
    public string? ModifiedByUser { get; set; }
    public Guid ChangeRequestId { get; set; }
    public long Sequence { get; set; }
}

sealed class ConsentsConfiguration :
    IEntityTypeConfiguration<Customer>, IEntityTypeConfiguration<ChangeRequest>,
    IEntityTypeConfiguration<ConsentEntry>, IEntityTypeConfiguration<ChannelEntry>
{
    public void Configure(EntityTypeBuilder<Customer> b)
    {
        b.ToTable("customers");
        b.HasIndex(c => new { c.SourceSystemId, c.SourceCustomerId }).IsUnique();
        b.HasIndex(c => new { c.Nmsc, c.Context, c.SourceSystem, c.SourceCustomerId }).IsUnique();
        // The DPO bulk export walks one organisation's records of one context in id order.
        b.HasIndex(c => new { c.Nmsc, c.Context, c.Id });
        b.Property(c => c.Nmsc).HasMaxLength(64);
        b.Property(c => c.Context).HasMaxLength(64);
        b.Property(c => c.SourceSystem).HasMaxLength(64);
        b.Property(c => c.SourceCustomerId).HasMaxLength(200);
        b.Property(c => c.Language).HasMaxLength(35);
        b.Property(c => c.Country).HasMaxLength(2);
        b.Property(c => c.LegacyEmail).HasColumnName("Email").HasMaxLength(254);
        b.Property(c => c.EmailKey).HasMaxLength(254);
        b.HasIndex(c => new { c.Nmsc, c.EmailKey });
        b.Property(c => c.LegacyPhone).HasColumnName("Phone").HasMaxLength(SubscriptionDataRules.MaxPhone);
        b.Property(c => c.PhoneKey).HasMaxLength(64);
        b.HasIndex(c => new { c.Nmsc, c.PhoneKey });
    }

    public void Configure(EntityTypeBuilder<ChangeRequest> b)
    {
        b.ToTable("change_requests");
        b.HasIndex(c => new { c.CustomerId, c.Sequence });
        b.HasIndex(c => c.Status);
        b.Property(c => c.Status).HasMaxLength(32);
        b.Property(c => c.SubmittedBy).HasMaxLength(100);
        b.Property(c => c.StatusReason).HasMaxLength(1000);
    }

    public void Configure(EntityTypeBuilder<ConsentEntry> b)
    {
        b.ToTable("consent_entries");
        b.HasKey(e => new { e.CustomerId, e.Code });
        b.Property(e => e.Code).HasMaxLength(40);
    }

    public void Configure(EntityTypeBuilder<ChannelEntry> b)
    {
        b.ToTable("channel_entries");
        b.HasKey(e => new { e.CustomerId, e.Code });
        b.Property(e => e.Code).HasMaxLength(8);
    }
}
