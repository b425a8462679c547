using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Ledger;

/// <summary>One event in the append-only log. Its hash covers its canonical encoding and the previous hash.</summary>
public sealed class LedgerEntry
{
    public long Index { get; set; }
    public required string Type { get; set; }
    public DateTime Timestamp { get; set; }
    /// <summary>Compact JSON, stored as text so that the hashed bytes come back byte for byte.</summary>
    public required string Payload { get; set; }
    public required string PrevHash { get; set; }
    public required string Hash { get; set; }
    /// <summary>Its Merkle leaf hash, known when it was appended here (not stored: the tree's level 0 holds it).</summary>
    public byte[]? LeafHash { get; set; }
}

/// <summary>The single row every writer locks: the next index and the hash it must chain to.</summary>
public sealed class LedgerHead
{
    public const int SingletonId = 1;
    public int Id { get; set; }
    public long NextIndex { get; set; }
    public required string LastHash { get; set; }
    /// <summary>The Merkle tree's right edge: the roots of its perfect subtrees, largest first (see <see cref="MerkleFrontier"/>).</summary>
    public byte[]? Frontier { get; set; }
}

sealed class LedgerConfiguration : IEntityTypeConfiguration<LedgerEntry>, IEntityTypeConfiguration<LedgerHead>
{
    public void Configure(EntityTypeBuilder<LedgerEntry> b)
    {
        b.ToTable("ledger_entries");
        b.HasKey(e => e.Index);
        b.Property(e => e.Index).ValueGeneratedNever();
        b.Property(e => e.Type).HasMaxLength(64);
        b.Property(e => e.PrevHash).HasMaxLength(64);
        b.Property(e => e.Hash).HasMaxLength(64);
        b.Ignore(e => e.LeafHash);
    }

    public void Configure(EntityTypeBuilder<LedgerHead> b)
    {
        b.ToTable("ledger_head");
        b.Property(h => h.Id).ValueGeneratedNever();
        b.Property(h => h.LastHash).HasMaxLength(64);
        b.HasData(new LedgerHead { Id = LedgerHead.SingletonId, NextIndex = 0, LastHash = LedgerHash.Genesis });
    }
}
