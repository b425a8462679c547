using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// The one row that says up to which ledger entry <see cref="ActivityRollup"/> has counted. It moves in the same
/// transaction as the counts it covers, under a row lock, so every entry is counted exactly once, by whichever instance.
/// </summary>
public sealed class ActivityMark
{
    public const int TheRow = 1;

    public int Id { get; set; }
    public long LedgerIndex { get; set; }
}

sealed class ActivityMarkConfiguration : IEntityTypeConfiguration<ActivityMark>
{
    public void Configure(EntityTypeBuilder<ActivityMark> b)
    {
        b.ToTable("activity_marks");
        b.HasKey(m => m.Id);
        b.Property(m => m.Id).ValueGeneratedNever();
        b.HasData(new ActivityMark { Id = ActivityMark.TheRow, LedgerIndex = 0 });
    }
}
