using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Ledger;

sealed class LedgerTreeConfiguration : IEntityTypeConfiguration<LedgerTreeNode>, IEntityTypeConfiguration<LedgerCheckpoint>
{
    public void Configure(EntityTypeBuilder<LedgerTreeNode> b)
    {
        b.ToTable("ledger_tree_nodes");
        b.HasKey(n => new { n.Level, n.Index });
        b.Property(n => n.Hash).HasMaxLength(32);
    }

    public void Configure(EntityTypeBuilder<LedgerCheckpoint> b)
    {
        b.ToTable("ledger_checkpoints");
        // One checkpoint per size, even when several instances sign at once.
        b.HasIndex(c => c.Size).IsUnique();
        b.Property(c => c.RootHash).HasMaxLength(32);
        b.Property(c => c.Note).HasMaxLength(2000);
    }
}
