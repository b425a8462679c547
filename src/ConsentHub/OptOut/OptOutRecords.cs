using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.OptOut;

/// <summary>
/// One <c>POST /RestServices/OptOut/Upload</c> (seed 002): who sent it, from where, and how its records fared.
/// The records' personal fields are kept sealed on each <see cref="OptOutRecord"/>, never here.
/// </summary>
public sealed class OptOutTransaction
{
    /// <summary>The seed's <c>transaction_id</c>.</summary>
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    /// <summary>The API key that authenticated the upload (<see cref="Auth.ApiKey"/>).</summary>
    public Guid ApiKeyId { get; set; }
    public DateTime ReceivedAt { get; set; }
    /// <summary>The client's address; X-Forwarded-For counts only from the configured trusted proxies.</summary>
    public string? ClientIp { get; set; }
    /// <summary>The Referer URL the seed lets a white-labelled page or iFrame pass.</summary>
    public string? Referer { get; set; }
    public int Successful { get; set; }
    public int Unsuccessful { get; set; }
}

/// <summary>
/// One record of an upload, in its position. <see cref="Sealed"/> holds the fields as sent (JSON), sealed under the
/// record's own key (<see cref="ProtectedKey"/>): destroying that key (erasure) leaves nothing readable of the person.
/// </summary>
public sealed class OptOutRecord
{
    /// <summary>The seed's <c>recordID</c> (answered for a successful record only).</summary>
    public Guid Id { get; set; }
    public Guid TransactionId { get; set; }
    /// <summary>0-based position in the request, as <c>unsuccessful_ids</c> counts.</summary>
    public int Position { get; set; }
    public required string Nmsc { get; set; }
    public bool Successful { get; set; }
    public string? UnsuccessfulReason { get; set; }
    /// <summary>"1": the sender verified the person's request; "2": it did not. Null when the record was refused without one.</summary>
    public string? Validation { get; set; }
    /// <summary>The seed's passthrough campaign reference; not personal data.</summary>
    public string? ProjectId { get; set; }
    /// <summary>The record's fields as sent, sealed with <see cref="OptOutVault"/>; null once erased.</summary>
    public byte[]? Sealed { get; set; }
    /// <summary>The record's key, wrapped (<see cref="OptOutVault.Wrap"/>); null once erased.</summary>
    public string? ProtectedKey { get; set; }
    public DateTime ReceivedAt { get; set; }
    /// <summary>Set when the consent core has applied the opt-out to every matching record; null while that is still owed.</summary>
    public DateTime? AppliedAt { get; set; }
    /// <summary>Customer records of the organisation the identifiers matched.</summary>
    public int MatchedRecords { get; set; }
    /// <summary>Changes the consent core recorded for them (a record already withdrawn everywhere needs none).</summary>
    public int ChangesApplied { get; set; }
    /// <summary>The ledger entry that records the opt-out (keyed commitments only).</summary>
    public long? LedgerIndex { get; set; }
}

sealed class OptOutRecordsConfiguration : IEntityTypeConfiguration<OptOutTransaction>, IEntityTypeConfiguration<OptOutRecord>
{
    public void Configure(EntityTypeBuilder<OptOutTransaction> b)
    {
        b.ToTable("opt_out_transactions");
        b.HasIndex(t => new { t.Nmsc, t.ReceivedAt });
        b.Property(t => t.Nmsc).HasMaxLength(64);
        b.Property(t => t.Context).HasMaxLength(64);
        b.Property(t => t.SourceSystem).HasMaxLength(64);
        b.Property(t => t.ClientIp).HasMaxLength(64);
        b.Property(t => t.Referer).HasMaxLength(2048);
    }

    public void Configure(EntityTypeBuilder<OptOutRecord> b)
    {
        b.ToTable("opt_out_records");
        b.HasIndex(r => new { r.TransactionId, r.Position }).IsUnique();
        b.HasIndex(r => new { r.Nmsc, r.Id });
        // The recovery sweep looks for successful records whose application is still owed.
        b.HasIndex(r => r.AppliedAt);
        b.Property(r => r.Nmsc).HasMaxLength(64);
        b.Property(r => r.UnsuccessfulReason).HasMaxLength(300);
        b.Property(r => r.Validation).HasMaxLength(1);
        b.Property(r => r.ProjectId).HasMaxLength(20);
        b.Property(r => r.ProtectedKey).HasMaxLength(200);
    }
}
