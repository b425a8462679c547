using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Propagation;

public static class PropagationStates
{
    /// <summary>Waiting for its (next) delivery attempt.</summary>
    public const string Pending = "PENDING";
    /// <summary>The retry schedule is used up; tried again daily until delivered, never dropped (seed FAQ 11).</summary>
    public const string Parked = "PARKED";
    /// <summary>The destination answered 2xx.</summary>
    public const string Delivered = "DELIVERED";
    /// <summary>The source system acknowledged it with a PROCESSED command.</summary>
    public const string Processed = "PROCESSED";
    /// <summary>
    /// Planned while the system had no destination: it waits in the system's pull feed and is never sent (so never
    /// retried or parked), until the system acknowledges it with PROCESSED.
    /// </summary>
    public const string Feed = "FEED";

    public static bool IsOutstanding(string state) => state is Pending or Parked;
}

public static class PropagationCauses
{
    /// <summary>A change of one of the cluster's records was applied.</summary>
    public const string ChangeApplied = "change-applied";
    /// <summary>The cluster itself changed: records joined, left or merged.</summary>
    public const string ClusterChanged = "cluster-changed";
    /// <summary>The person was erased (Rights/): the system is told to erase its record.</summary>
    public const string Erasure = "erasure";
}

/// <summary>
/// One PROPAGATED message for one customer record of one source system: an outbox row, written in the transaction
/// that applied the change, then delivered to the system's destination until it answers 2xx, and listed in the
/// system's pull feed either way. Messages of one record are delivered in <see cref="LedgerIndex"/> order.
/// </summary>
public sealed class PropagationMessage
{
    public Guid Id { get; set; }
    public long SourceSystemId { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string SourceCustomerId { get; set; }
    /// <summary>The ledger entry that caused it: the change applied, or the cluster change.</summary>
    public long LedgerIndex { get; set; }
    /// <summary>Its place among the messages of the same ledger entry: with <see cref="LedgerIndex"/>, the order of the pull feed.</summary>
    public int Position { get; set; }
    public required string Cause { get; set; }
    public Guid? ChangeRequestId { get; set; }
    /// <summary>
    /// The W3C traceparent of the work that wrote it (the request that applied the change), so that each delivery's span
    /// and the webhook call continue that trace; null when it was written outside one.
    /// </summary>
    public string? TraceParent { get; set; }
    /// <summary>The exact JSON body sent, byte for byte on every attempt (the signature covers it).</summary>
    public required string Payload { get; set; }
    public required string State { get; set; }
    public int Attempts { get; set; }
    public DateTime NextAttemptAt { get; set; }
    public DateTime? LeaseUntil { get; set; }
    /// <summary>Which claim holds the lease; a result is recorded only by the claim that still holds it.</summary>
    public Guid? LeaseToken { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastAttemptAt { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public DateTime? DeliveredAt { get; set; }
    public DateTime? ProcessedAt { get; set; }
    public long? ProcessedLedgerIndex { get; set; }
}

/// <summary>One HTTP call to a destination: the delivery log.</summary>
public sealed class DeliveryAttempt
{
    public long Id { get; set; }
    public Guid PropagationId { get; set; }
    public long SourceSystemId { get; set; }
    public int Number { get; set; }
    public DateTime AttemptedAt { get; set; }
    public int? StatusCode { get; set; }
    public int LatencyMs { get; set; }
    /// <summary>The start of the response body, for diagnosis.</summary>
    public string? Response { get; set; }
    public string? Error { get; set; }
    public required string Outcome { get; set; }
}

public static class AttemptOutcomes
{
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    /// <summary>410 Gone: the destination was disabled.</summary>
    public const string Gone = "gone";
}

/// <summary>
/// The value of one consent or channel a record's source system was last sent (queued for it, in order), so that the
/// next message carries exactly what differs from it.
/// </summary>
public sealed class PropagatedValue
{
    public long SourceSystemId { get; set; }
    public required string SourceCustomerId { get; set; }
    /// <summary><see cref="ValueKinds.Consent"/> or <see cref="ValueKinds.Channel"/>.</summary>
    public required string Kind { get; set; }
    public required string Code { get; set; }
    public bool Flag { get; set; }
    /// <summary>
    /// The requestedTimestamp of the value sent: with the flag, what makes a value "changed" (seed FAQ 7). Null in rows
    /// written before it was kept; those compare by flag alone.
    /// </summary>
    public DateTime? RequestedAt { get; set; }
    /// <summary>The applied change whose value this is.</summary>
    public Guid ChangeRequestId { get; set; }
}

public static class ValueKinds
{
    public const string Consent = "consent";
    public const string Channel = "channel";
}

sealed class PropagationConfiguration :
    IEntityTypeConfiguration<PropagationMessage>, IEntityTypeConfiguration<DeliveryAttempt>, IEntityTypeConfiguration<PropagatedValue>
{
    public void Configure(EntityTypeBuilder<PropagationMessage> b)
    {
        b.ToTable("propagations");
        // The dispatcher's scan: outstanding rows by due time (a partial index, so delivered history costs it nothing).
        b.HasIndex(p => p.NextAttemptAt).HasFilter("\"State\" IN ('PENDING', 'PARKED')").HasDatabaseName("IX_propagations_due");
        // Order per record, and each record's messages for the API.
        b.HasIndex(p => new { p.SourceSystemId, p.SourceCustomerId, p.LedgerIndex });
        b.HasIndex(p => new { p.SourceSystemId, p.LastAttemptAt });
        // The pull feed: one system's messages in ledger order.
        b.HasIndex(p => new { p.SourceSystemId, p.LedgerIndex, p.Position });
        b.Property(p => p.Nmsc).HasMaxLength(64);
        b.Property(p => p.Context).HasMaxLength(64);
        b.Property(p => p.SourceSystem).HasMaxLength(64);
        b.Property(p => p.SourceCustomerId).HasMaxLength(200);
        b.Property(p => p.Cause).HasMaxLength(32);
        b.Property(p => p.State).HasMaxLength(16);
        b.Property(p => p.LastError).HasMaxLength(1000);
        // Version 00 is 55 characters; later versions may append fields.
        b.Property(p => p.TraceParent).HasMaxLength(128);
    }

    public void Configure(EntityTypeBuilder<DeliveryAttempt> b)
    {
        b.ToTable("delivery_attempts");
        b.HasIndex(a => new { a.SourceSystemId, a.Id });
        b.HasIndex(a => a.PropagationId);
        b.Property(a => a.Response).HasMaxLength(500);
        b.Property(a => a.Error).HasMaxLength(1000);
        b.Property(a => a.Outcome).HasMaxLength(16);
    }

    public void Configure(EntityTypeBuilder<PropagatedValue> b)
    {
        b.ToTable("propagated_values");
        b.HasKey(v => new { v.SourceSystemId, v.SourceCustomerId, v.Kind, v.Code });
        b.Property(v => v.SourceCustomerId).HasMaxLength(200);
        b.Property(v => v.Kind).HasMaxLength(8);
        b.Property(v => v.Code).HasMaxLength(40);
    }
}
