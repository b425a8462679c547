using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Inbound;

/// <summary>
/// An organisation's inbound event type (seed 001): the logical source system its events are attributed to, and the
/// declarative mapping that turns one of its JSON events into subscription data.
/// </summary>
public sealed class EventType
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    /// <summary>The <c>eventTypeId</c> of the routes: unique in its organisation.</summary>
    public required string Name { get; set; }
    public required string Context { get; set; }
    public long SourceSystemId { get; set; }
    public required string SourceSystem { get; set; }
    /// <summary>The mapping as saved (JSON), checked by <see cref="EventMapping.Parse"/>.</summary>
    public required string Mapping { get; set; }
    /// <summary>A JSON Pointer to the event's own id: a delivery with an id seen before is applied once.</summary>
    public string? IdPointer { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// An event that became a change request, under the key that recognises a second delivery of it: the keyed hash of its
/// id (when the type has an id pointer; for ever) or of its body (otherwise; for <see cref="EventIntake.BodyWindow"/>).
/// </summary>
public sealed class InboundEvent
{
    public long Id { get; set; }
    public Guid EventTypeId { get; set; }
    public required string DedupKey { get; set; }
    public bool ByEventId { get; set; }
    /// <summary><c>post</c>, or <c>poller:{name}</c>.</summary>
    public required string Via { get; set; }
    public DateTime ReceivedAt { get; set; }
    public Guid ChangeRequestId { get; set; }
    public long CustomerId { get; set; }
}

public static class PollerStates
{
    public const string Active = "active";
    public const string Paused = "paused";
    /// <summary>Stopped by a 4xx answer (or a refused address) until resumed; the reason is kept.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// A polling adapter: the hub GETs <see cref="Url"/> every <see cref="Interval"/> for the window since the last
/// successful one, and takes each item in as an event of <see cref="EventTypeId"/>.
/// </summary>
public sealed class Poller
{
    public Guid Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Name { get; set; }
    public Guid EventTypeId { get; set; }
    public required string EventType { get; set; }
    public required string Url { get; set; }
    /// <summary>The remote system's token, protected with ASP.NET Data Protection (the hub must send it, so it cannot be hashed).</summary>
    public required string ProtectedToken { get; set; }
    /// <summary><c>header</c> or <c>query</c>.</summary>
    public required string TokenIn { get; set; }
    public required string TokenName { get; set; }
    /// <summary>An ISO 8601 duration (PT1M) or a cron expression, as configured.</summary>
    public required string Interval { get; set; }
    public required string WindowStart { get; set; }
    public required string WindowEnd { get; set; }
    public string? TimeFormat { get; set; }
    public required string ItemsPointer { get; set; }
    public string? NextPointer { get; set; }
    /// <summary>The window ends this long before now, so items the remote system is still committing are not missed.</summary>
    public int SafetyLagSeconds { get; set; }
    public required string State { get; set; }
    public string? FailureReason { get; set; }
    /// <summary>The end of the last successful window: the next window starts here.</summary>
    public DateTime Watermark { get; set; }
    public DateTime NextRunAt { get; set; }
    /// <summary>Failed runs in a row, for the backoff.</summary>
    public int Attempts { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public Guid? LeaseToken { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One run of a poller: its window, what it fetched and applied, and its error if it failed.</summary>
public sealed class PollerRun
{
    public long Id { get; set; }
    public Guid PollerId { get; set; }
    /// <summary><c>schedule</c> or <c>manual</c> (<c>POST …:run</c>).</summary>
    public required string Trigger { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime WindowStart { get; set; }
    public DateTime WindowEnd { get; set; }
    public int Pages { get; set; }
    public int Items { get; set; }
    public int Applied { get; set; }
    public int Rejected { get; set; }
    public int Duplicates { get; set; }
    public bool Succeeded { get; set; }
    public string? Error { get; set; }
    public long DurationMs { get; set; }
}

sealed class InboundConfiguration :
    IEntityTypeConfiguration<EventType>, IEntityTypeConfiguration<InboundEvent>, IEntityTypeConfiguration<Poller>, IEntityTypeConfiguration<PollerRun>
{
    public void Configure(EntityTypeBuilder<EventType> b)
    {
        b.ToTable("event_types");
        b.HasIndex(t => new { t.Nmsc, t.Name }).IsUnique();
        b.HasIndex(t => t.SourceSystemId);
        b.Property(t => t.Nmsc).HasMaxLength(64);
        b.Property(t => t.Name).HasMaxLength(64);
        b.Property(t => t.Context).HasMaxLength(64);
        b.Property(t => t.SourceSystem).HasMaxLength(64);
        b.Property(t => t.IdPointer).HasMaxLength(EventMapping.MaxPointerLength);
    }

    public void Configure(EntityTypeBuilder<InboundEvent> b)
    {
        b.ToTable("inbound_events");
        b.HasIndex(e => new { e.EventTypeId, e.DedupKey }).IsUnique();
        b.HasIndex(e => e.CustomerId);
        b.HasIndex(e => e.ReceivedAt);
        b.Property(e => e.DedupKey).HasMaxLength(64);
        b.Property(e => e.Via).HasMaxLength(80);
    }

    public void Configure(EntityTypeBuilder<Poller> b)
    {
        b.ToTable("pollers");
        b.HasIndex(p => new { p.Nmsc, p.Name }).IsUnique();
        b.HasIndex(p => p.EventTypeId);
        b.HasIndex(p => p.NextRunAt);
        b.Property(p => p.Nmsc).HasMaxLength(64);
        b.Property(p => p.Name).HasMaxLength(64);
        b.Property(p => p.EventType).HasMaxLength(64);
        b.Property(p => p.Url).HasMaxLength(2000);
        b.Property(p => p.TokenIn).HasMaxLength(16);
        b.Property(p => p.TokenName).HasMaxLength(100);
        b.Property(p => p.Interval).HasMaxLength(100);
        b.Property(p => p.WindowStart).HasMaxLength(100);
        b.Property(p => p.WindowEnd).HasMaxLength(100);
        b.Property(p => p.TimeFormat).HasMaxLength(100);
        b.Property(p => p.ItemsPointer).HasMaxLength(EventMapping.MaxPointerLength);
        b.Property(p => p.NextPointer).HasMaxLength(EventMapping.MaxPointerLength);
        b.Property(p => p.State).HasMaxLength(16);
        b.Property(p => p.FailureReason).HasMaxLength(1000);
    }

    public void Configure(EntityTypeBuilder<PollerRun> b)
    {
        b.ToTable("poller_runs");
        b.HasIndex(r => new { r.PollerId, r.Id });
        b.Property(r => r.Trigger).HasMaxLength(16);
        b.Property(r => r.Error).HasMaxLength(1000);
    }
}
