using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OperatorConsole;

/// <summary>An extract run: which extract, how it was started, where it is, and what it made.</summary>
public sealed record ExtractRunRow(string Nmsc, string Name, string Trigger, string State, long Rows, long Bytes, DateTime RequestedAt, DateTime? CompletedAt, string? Error);

/// <summary>A suppression file of the opt-out service: its organisation, kind and period, and its lines once made.</summary>
public sealed record SuppressionFileRow(string Nmsc, string Frequency, string Kind, string Format, DateTime PeriodStart, DateTime PeriodEnd, int Lines, DateTime? CreatedAt);

/// <summary>A polling adapter: its state, the end of the last window it took in, its next run and why it last failed.</summary>
public sealed record PollerRow(string Nmsc, string Name, string EventType, string Interval, string State, DateTime Watermark, DateTime NextRunAt, int Attempts, string? FailureReason);

/// <summary>A CDC subscription or a replica: how far along the ledger it is, what it has done, and its last error.</summary>
public sealed record StreamRow(string Nmsc, string Name, string Target, string? State, long Position, long Done, DateTime? LastDoneAt, string? LastError, DateTime? LastErrorAt);

/// <summary>The later features' status for the operations page, in the operator's organisations.</summary>
public sealed record FeatureStatus(
    long LedgerSize, IReadOnlyList<ExtractRunRow> Extracts, IReadOnlyList<SuppressionFileRow> SuppressionFiles, IReadOnlyList<PollerRow> Pollers,
    IReadOnlyList<StreamRow> Cdc, IReadOnlyList<StreamRow> Replicas)
{
    /// <summary>How many of the latest extract runs and suppression files are listed; pollers, subscriptions and replicas are all listed, up to this many.</summary>
    public const int Shown = 20;

    /// <summary>
    /// Reads each feature's status. Nothing secret is read: not a replica's connection string, a poller's address or
    /// token, nor a subscription's fields.
    /// </summary>
    public static async Task<FeatureStatus> ReadAsync(Operator who, ConsentDb db, CancellationToken ct)
    {
        var size = await db.LedgerHeads.AsNoTracking().Select(h => h.NextIndex).SingleAsync(ct);
        var extracts = await who.OfOrganisations(db.ExtractRuns.AsNoTracking(), db, r => r.Nmsc)
            .OrderByDescending(r => r.RequestedAt).Take(Shown)
            .Select(r => new ExtractRunRow(r.Nmsc, r.Name, r.Trigger, r.State, r.Rows, r.Bytes, r.RequestedAt, r.CompletedAt, r.Error))
            .ToListAsync(ct);
        var files = await who.OfOrganisations(db.SuppressionFiles.AsNoTracking(), db, f => f.Nmsc)
            .OrderByDescending(f => f.ClaimedAt).Take(Shown)
            .Select(f => new SuppressionFileRow(f.Nmsc, f.Frequency, f.Kind, f.Format, f.PeriodStart, f.PeriodEnd, f.Lines, f.CreatedAt))
            .ToListAsync(ct);
        var pollers = await who.OfOrganisations(db.Pollers.AsNoTracking(), db, p => p.Nmsc)
            .OrderBy(p => p.Nmsc).ThenBy(p => p.Name).Take(Shown)
            .Select(p => new PollerRow(p.Nmsc, p.Name, p.EventType, p.Interval, p.State, p.Watermark, p.NextRunAt, p.Attempts, p.FailureReason))
            .ToListAsync(ct);
        var cdc = await who.OfOrganisations(db.CdcSubscriptions.AsNoTracking(), db, c => c.Nmsc)
            .OrderBy(c => c.Nmsc).ThenBy(c => c.Name).Take(Shown)
            .Select(c => new StreamRow(c.Nmsc, c.Name, c.Exchange, null, c.CursorIndex, c.PublishedCount, c.LastPublishedAt, c.LastError, c.LastErrorAt))
            .ToListAsync(ct);
        var replicas = await who.OfOrganisations(db.Replicas.AsNoTracking(), db, r => r.Nmsc)
            .OrderBy(r => r.Nmsc).ThenBy(r => r.Name).Take(Shown)
            .Select(r => new StreamRow(r.Nmsc, r.Name, r.Schema + "." + r.Table, r.State, r.AppliedIndex, r.RowsApplied, r.LastAppliedAt, r.LastError, r.LastErrorAt))
            .ToListAsync(ct);
        return new FeatureStatus(size, extracts, files, pollers, cdc, replicas);
    }
}
