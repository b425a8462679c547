using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Hosting;

/// <summary>The first answer to a POST carrying an Idempotency-Key, replayed for its retries.</summary>
public sealed class IdempotencyRecord
{
    /// <summary>Whose key it is (the caller's subject), so keys never collide across callers.</summary>
    public required string Scope { get; set; }
    public required string Key { get; set; }
    public required string RequestHash { get; set; }
    public int StatusCode { get; set; }
    public string? Location { get; set; }
    /// <summary>
    /// The body in clear, for answers without personal data. A change request's answer carries the email, so it is
    /// sealed in personal_data instead (<see cref="Consents.PersonalDataKinds.Response"/>) and this is null.
    /// </summary>
    public string? ResponseBody { get; set; }
    /// <summary>The change request whose answer this is, when the body is sealed.</summary>
    public Guid? ChangeRequestId { get; set; }
    public DateTime CreatedAt { get; set; }
}

sealed class IdempotencyConfiguration : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> b)
    {
        b.ToTable("idempotency_records");
        b.HasKey(r => new { r.Scope, r.Key });
        b.Property(r => r.Scope).HasMaxLength(100);
        b.Property(r => r.Key).HasMaxLength(Idempotency.MaxKeyLength);
        b.Property(r => r.RequestHash).HasMaxLength(64);
        b.Property(r => r.Location).HasMaxLength(200);
    }
}
