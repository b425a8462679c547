using System.Diagnostics.Metrics;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Validation;
using Microsoft.Extensions.Options;

namespace ConsentHub.Telemetry;

/// <summary>
/// The gauges operators alert on (issue 21 §3): outbox lag and messages by destination, the mail queue, the ledger's size
/// and the age of its latest signed checkpoint, and the progress of running uploads. The database is read every
/// <see cref="TelemetryOptions.SampleSeconds"/> by this worker alone; a gauge's callback only reads the latest sample, so a
/// scrape never queries the database. Ages are measured at the scrape, from the times the sample read.
/// </summary>
public sealed class OperationsGauges : PeriodicSweep
{
    public const string MeterName = "ConsentHub.Operations";

    readonly IServiceScopeFactory scopes;
    readonly TimeProvider time;
    readonly IOptions<TelemetryOptions> options;
    volatile OperationsSample? latest;

    public OperationsGauges(IServiceScopeFactory scopes, IMeterFactory meters, TimeProvider time, IOptions<TelemetryOptions> options,
        ILogger<OperationsGauges> logger)
        : base(time, TimeSpan.FromSeconds(options.Value.SampleSeconds), logger)
    {
        (this.scopes, this.time, this.options) = (scopes, time, options);
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("consenthub.outbox.lag", () => From(s => s.Outbox.Select(o =>
                new Measurement<double>(o.Oldest is { } oldest ? AgeOf(oldest) : 0, Destination(o)))), "s",
            "Age of the oldest message waiting for delivery (pending or parked), by organisation (nmsc) and destination; 0 when none waits");
        meter.CreateObservableGauge("consenthub.outbox.messages", () => From(s => s.Outbox.SelectMany(o => new[]
            {
                new Measurement<long>(o.Pending, Destination(o, ("state", "pending"))),
                new Measurement<long>(o.Parked, Destination(o, ("state", "parked"))),
            })), "{message}", "Messages waiting for delivery, by organisation (nmsc), destination and state (pending, parked)");
        meter.CreateObservableGauge("consenthub.mail.waiting", () => From(s => s.Mail.Select(m =>
                new Measurement<long>(m.Waiting, new KeyValuePair<string, object?>("kind", m.Kind)))), "{email}",
            "Emails waiting to be sent, by kind (validation, notification)");
        meter.CreateObservableGauge("consenthub.mail.failed", () => From(s => s.Mail.Select(m =>
                new Measurement<long>(m.Failed, new KeyValuePair<string, object?>("kind", m.Kind)))), "{email}",
            "Emails that failed for good in the last 24 hours, by kind (validation, notification)");
        meter.CreateObservableGauge("consenthub.ledger.entries", () => From<long>(s => [new Measurement<long>(s.LedgerEntries)]), "{entry}",
            "Entries in the ledger");
        meter.CreateObservableGauge("consenthub.ledger.checkpoint.age", () => From<double>(s => s.LatestCheckpointAt is { } at
                ? [new Measurement<double>(AgeOf(at))] : []), "s",
            "Time since the latest signed checkpoint was signed; absent while none is");
        meter.CreateObservableGauge("consenthub.uploads.running", () => From(s => s.Uploads.Select(u =>
                new Measurement<long>(u.Running, Source(u)))), "{upload}",
            "Uploads running, by organisation (nmsc) and source (context/system)");
        meter.CreateObservableGauge("consenthub.uploads.records", () => From(s => s.Uploads.SelectMany(u => new[]
            {
                new Measurement<long>(u.Read, Source(u, ("outcome", "read"))),
                new Measurement<long>(u.Applied, Source(u, ("outcome", "applied"))),
                new Measurement<long>(u.Rejected, Source(u, ("outcome", "rejected"))),
                new Measurement<long>(u.Skipped, Source(u, ("outcome", "skipped"))),
            })), "{record}",
            "Records of the running uploads so far, by organisation (nmsc), source and outcome (read, and of those applied, rejected, skipped); a file's total is known only at its end");
    }

    /// <summary>The latest sample, or null before the first.</summary>
    internal OperationsSample? Latest => latest;

    /// <summary>Reads the database now (the worker's step; tests call it instead of waiting for the interval).</summary>
    internal async Task SampleAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        latest = await OperationsSample.TakeAsync(scope.ServiceProvider.GetRequiredService<ConsentDb>(), time.GetUtcNow().UtcDateTime, ct);
    }

    /// <summary>Samples only when something reads the gauges: the scrape endpoint or the OTLP exporter.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Value.Exported ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;

    /// <summary>
    /// A round of the sweep. A failed one (the database briefly unreachable) is logged, and the gauges keep the last
    /// sample until the next; on a clock moved far at once, the rounds of the skipped ticks coalesce into one.
    /// </summary>
    protected override Task SweepAsync(CancellationToken ct) => SampleAsync(ct);

    protected override string Failure => "Sampling the operations gauges failed";

    IEnumerable<Measurement<T>> From<T>(Func<OperationsSample, IEnumerable<Measurement<T>>> read) where T : struct =>
        latest is { } sample ? read(sample) : [];

    double AgeOf(DateTime at) => Math.Max(0, (time.GetUtcNow().UtcDateTime - at).TotalSeconds);

    static KeyValuePair<string, object?>[] Destination(OutboxFigures o, params (string Key, string Value)[] more) =>
        Tags([("nmsc", o.Nmsc), ("destination", o.Destination), .. more]);

    static KeyValuePair<string, object?>[] Source(UploadFigures u, params (string Key, string Value)[] more) =>
        Tags([("nmsc", u.Nmsc), ("source", u.Source), .. more]);

    static KeyValuePair<string, object?>[] Tags((string Key, string Value)[] tags) =>
        [.. tags.Select(t => new KeyValuePair<string, object?>(t.Key, t.Value))];
}
