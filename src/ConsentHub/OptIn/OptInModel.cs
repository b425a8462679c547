using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.OptIn;

/// <summary>The lookup values of seed 003, exactly as its CRM spells them.</summary>
public static class OptInValues
{
    public const string Consent = "Zus_C0Approval";
    public const string Refusal = "Abl_C0Approval";
    public const string Current = "C0OPTINSTATUS_CURRENT";
    public const string Requested = "C0OPTINSTATUS_REQUESTED";

    public static bool? Flag(string approval) => approval switch { Consent => true, Refusal => false, _ => null };

    public static string Approval(bool flag) => flag ? Consent : Refusal;
}

/// <summary>The seed's error codes, used as the HTTP status and as <c>result.code</c>.</summary>
public static class OptInCodes
{
    public const int Ok = 200;
    public const int NoContact = 520;
    public const int NoFlow = 521;
    public const int InvalidRequest = 522;
    public const int MailFailed = 525;
}

/// <summary>One opt-in type of an organisation (<c>C0INFOTYPE_NEWSLETTER</c>) and the hub category it stands for.</summary>
public sealed class OptInType
{
    public required string Nmsc { get; set; }
    public required string Type { get; set; }
    public required string Category { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class OptInFlowKinds
{
    /// <summary>A double opt-in: a pending change until confirmed (by the partner or by the person's click).</summary>
    public const string DoubleOptIn = "DOI";
    /// <summary>A single opt-in: applied at once.</summary>
    public const string SingleOptIn = "SOI";
    /// <summary>An opt-out (<c>?approval=false</c>): applied at once.</summary>
    public const string OptOut = "OPT_OUT";
}

/// <summary>
/// One call of the opt-in interface that created consent data, named by its <c>extRefNo</c>: which record it concerns,
/// the selection it carries, and the change request of the consent core that carries it now. Its status is that change
/// request's: pending is <c>C0OPTINSTATUS_REQUESTED</c>, applied is <c>C0OPTINSTATUS_CURRENT</c>.
/// </summary>
public sealed class OptInFlow
{
    public Guid ExtRefNo { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public long SourceSystemId { get; set; }
    public long CustomerId { get; set; }
    public required string Kind { get; set; }
    /// <summary>For a double opt-in: <see cref="Tenancy.OptInConfirmations"/>, as the organisation set it when the flow began.</summary>
    public string? Confirmation { get; set; }
    /// <summary>The selection as a JSON array of <c>{ "type", "approval" }</c>, in the order it was sent.</summary>
    public required string Items { get; set; }
    public Guid ChangeRequestId { get; set; }
    /// <summary>The validation of a double opt-in's current change request.</summary>
    public Guid? ValidationId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

sealed class OptInConfiguration : IEntityTypeConfiguration<OptInType>, IEntityTypeConfiguration<OptInFlow>
{
    public void Configure(EntityTypeBuilder<OptInType> b)
    {
        b.ToTable("opt_in_types");
        b.HasKey(t => new { t.Nmsc, t.Type });
        b.Property(t => t.Nmsc).HasMaxLength(64);
        b.Property(t => t.Type).HasMaxLength(OptInTypes.MaxTypeLength);
        b.Property(t => t.Category).HasMaxLength(64);
    }

    public void Configure(EntityTypeBuilder<OptInFlow> b)
    {
        b.ToTable("opt_in_flows");
        b.HasKey(f => f.ExtRefNo);
        b.HasIndex(f => f.CustomerId);
        b.HasIndex(f => f.ChangeRequestId);
        b.Property(f => f.Nmsc).HasMaxLength(64);
        b.Property(f => f.Context).HasMaxLength(64);
        b.Property(f => f.Kind).HasMaxLength(16);
        b.Property(f => f.Confirmation).HasMaxLength(16);
    }
}
