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
    public required string ResponseBody { get; set; }
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
