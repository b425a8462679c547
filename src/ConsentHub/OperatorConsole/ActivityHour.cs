using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// How many ledger events of one kind (<see cref="ActivityRollup.Kinds"/>) one organisation's context had in one hour
/// (UTC), as <see cref="ActivityRollup"/> counted them. The console's charts read these, a few hundred rows, instead of
/// counting a month of changes on every view.
/// </summary>
public sealed class ActivityHour
{
    public required string Kind { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public DateTime Hour { get; set; }
    public long Count { get; set; }
}

sealed class ActivityHourConfiguration : IEntityTypeConfiguration<ActivityHour>
{
    public void Configure(EntityTypeBuilder<ActivityHour> b)
    {
        b.ToTable("activity_hours");
        b.HasKey(h => new { h.Kind, h.Nmsc, h.Context, h.Hour });
        b.Property(h => h.Kind).HasMaxLength(64);
        b.Property(h => h.Nmsc).HasMaxLength(Names.MaxNameLength);
        b.Property(h => h.Context).HasMaxLength(Names.MaxNameLength);
        b.HasIndex(h => new { h.Kind, h.Hour });
    }
}
