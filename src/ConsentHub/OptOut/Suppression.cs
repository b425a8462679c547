using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.OptOut;

/// <summary>
/// One identifier on an organisation's suppression list: what an opt-out named (an email, a phone, a postal identity),
/// kept as the SHA-256 of its normalised form (what data providers exchange), the hub's blind index (to find the
/// organisation's records), and the clear value sealed under the opt-out record's key.
/// </summary>
public sealed class SuppressionEntry
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    /// <summary>The <see cref="OptOutRecord"/> that put it here.</summary>
    public Guid OptOutId { get; set; }
    /// <summary><see cref="SuppressionKinds"/>.</summary>
    public required string Kind { get; set; }
    /// <summary>Lower-case hex SHA-256 of <see cref="SuppressionIdentifier.Normalised"/>.</summary>
    public required string Sha256 { get; set; }
    /// <summary>The hub's blind index of an email or phone (<see cref="Consents.BlindIndex"/>); null for a postal identity.</summary>
    public string? BlindKey { get; set; }
    /// <summary>The normalised value sealed under the opt-out record's key (<see cref="OptOutVault"/>); null once erased.</summary>
    public byte[]? SealedValue { get; set; }
    /// <summary>Who sent it: "{context}/{sourceSystem}" of the API key.</summary>
    public required string Source { get; set; }
    public DateTime OptedOutAt { get; set; }
    /// <summary>When a later validated opt-in of the same person was honoured as the newer choice; null while in force.</summary>
    public DateTime? SupersededAt { get; set; }
}

/// <summary>An organisation's data sharing agreement: while in force, its opt-outs join the industry pool and its files may include the pool.</summary>
public sealed class DataSharingAgreement
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public required string AgreementReference { get; set; }
    public DateOnly SignedOn { get; set; }
    public DateTime JoinedAt { get; set; }
    /// <summary>When the organisation left; null while the agreement is in force. Earlier agreements stay as history.</summary>
    public DateTime? LeftAt { get; set; }
    public long JoinedLedgerIndex { get; set; }
    public long? LeftLedgerIndex { get; set; }
}

/// <summary>An opt-out an external provider shares with the industry: the SHA-256 of a normalised identifier, never its value.</summary>
public sealed class IndustryOptOut
{
    public long Id { get; set; }
    public required string Provider { get; set; }
    public required string Kind { get; set; }
    public required string Sha256 { get; set; }
    public DateTime AddedAt { get; set; }
}

sealed class SuppressionConfiguration :
    IEntityTypeConfiguration<SuppressionEntry>, IEntityTypeConfiguration<DataSharingAgreement>, IEntityTypeConfiguration<IndustryOptOut>
{
    public void Configure(EntityTypeBuilder<SuppressionEntry> b)
    {
        b.ToTable("suppression_entries");
        b.HasIndex(e => new { e.Nmsc, e.Kind, e.Sha256 });
        b.HasIndex(e => new { e.Nmsc, e.BlindKey });
        b.HasIndex(e => new { e.Nmsc, e.OptedOutAt });
        b.HasIndex(e => e.OptOutId);
        b.HasIndex(e => new { e.Kind, e.Sha256 });
        b.Property(e => e.Nmsc).HasMaxLength(64);
        b.Property(e => e.Kind).HasMaxLength(16);
        b.Property(e => e.Sha256).HasMaxLength(64);
        b.Property(e => e.BlindKey).HasMaxLength(64);
        b.Property(e => e.Source).HasMaxLength(130);
    }

    public void Configure(EntityTypeBuilder<DataSharingAgreement> b)
    {
        b.ToTable("data_sharing_agreements");
        b.HasIndex(a => new { a.Nmsc, a.LeftAt });
        b.Property(a => a.Nmsc).HasMaxLength(64);
        b.Property(a => a.AgreementReference).HasMaxLength(200);
    }

    public void Configure(EntityTypeBuilder<IndustryOptOut> b)
    {
        b.ToTable("industry_opt_outs");
        // One line per provider and identifier: importing the same list again adds nothing.
        b.HasIndex(o => new { o.Provider, o.Kind, o.Sha256 }).IsUnique();
        b.HasIndex(o => new { o.Kind, o.Sha256 });
        b.Property(o => o.Provider).HasMaxLength(64);
        b.Property(o => o.Kind).HasMaxLength(16);
        b.Property(o => o.Sha256).HasMaxLength(64);
    }
}
