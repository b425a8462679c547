using System.IO.Pipelines;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Bulk;

/// <summary>
/// Runs one upload while its body arrives: reads records, checks each, applies them a batch at a time and saves the
/// job's progress after every batch, so <c>GET /uploads/{id}</c> shows it from another connection. A bad record is
/// reported and the rest go on; a file that cannot be read on fails the job, and the records before stay applied.
/// </summary>
public sealed class UploadJob(
    ConsentDb db, IServiceScopeFactory scopes, RunningUploads running, TimeProvider time, IOptions<UploadOptions> options, ILogger<UploadJob> logger)
{
    public async Task RunAsync(Upload upload, SourceSystem system, CategoryCatalogue catalogue, PipeReader body, CancellationToken ct)
    {
        var settings = options.Value;
        var reader = new UploadReader(body, settings.MaxRecordBytes, settings.MaxBytes);
        var batch = new List<UploadRecord>();
        var errors = new List<UploadError>();
        // Renewed on its own clock: a client that sends slowly, or a long batch, must not make the job look abandoned.
        await using var heartbeat = UploadHeartbeat.Start(scopes, running, upload.Id, time, TimeSpan.FromSeconds(settings.HeartbeatSeconds), logger);
        try
        {
            while (true)
            {
                byte[]? bytes;
                try
                {
                    bytes = await reader.NextAsync(ct);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
                {
                    // The client went away or the server refused the rest: what arrived complete still counts.
                    await FlushAsync(upload, system, reader, batch, errors, CancellationToken.None);
                    await FinishAsync(upload, UploadStatuses.Failed, $"The upload was interrupted after record {upload.Read}: the body ended early ({e.Message})");
                    return;
                }
                if (bytes is null) break;
                var position = ++upload.Read;
                var checkedRecord = UploadRules.Check(bytes, position, system, catalogue, upload.SubmittedBy);
                if (checkedRecord.Record is { } record)
                {
                    batch.Add(record);
                }
                else
                {
                    upload.Rejected++;
                    errors.AddRange(checkedRecord.Violations.Select(v => new UploadError
                    {
                        UploadId = upload.Id, Position = position, SourceCustomerId = Stored(checkedRecord.SourceCustomerId, Names.MaxSourceCustomerIdLength),
                        Field = Stored(v.Field, UploadConfiguration.MaxField)!, Rule = v.Rule, Message = Stored(v.Message, UploadConfiguration.MaxMessage)!,
                    }));
                }
                if (position % settings.BatchSize == 0) await FlushAsync(upload, system, reader, batch, errors, ct);
            }
            await FlushAsync(upload, system, reader, batch, errors, ct);
            await FinishAsync(upload, UploadStatuses.Completed, null);
        }
        catch (UploadFormatException e)
        {
            await FlushAsync(upload, system, reader, batch, errors, CancellationToken.None);
            await FinishAsync(upload, UploadStatuses.Failed, e.Message);
        }
        catch (Exception e)
        {
            var cancelled = e is OperationCanceledException;
            if (!cancelled) logger.LogError(e, "Upload {UploadId} failed while applying records", upload.Id);
            try
            {
                await FinishAsync(upload, UploadStatuses.Failed, cancelled
                    ? $"The upload was interrupted while applying the batch ending at record {upload.Read}. Upload the file again to continue."
                    : $"The hub failed while applying the batch ending at record {upload.Read}. Upload the file again to continue.");
            }
            catch (Exception again)
            {
                // The job stays RUNNING; its heartbeat stops with it, and the watchdog of some instance marks it interrupted.
                logger.LogError(again, "Upload {UploadId} could not be marked FAILED", upload.Id);
            }
            throw;
        }
    }

    // Statistics are refreshed after the first applied batch, then whenever the applied records have doubled, and at the end.
    long analyseAt = 1;
    // The refresh under way: it runs beside the next batches (ANALYZE blocks no writer), one at a time.
    Task analysing = Task.CompletedTask;

    async Task FlushAsync(Upload upload, SourceSystem system, UploadReader reader, List<UploadRecord> batch, List<UploadError> errors, CancellationToken ct)
    {
        if (batch.Count > 0)
        {
            await using var scope = scopes.CreateAsyncScope();
            var outcomes = await scope.ServiceProvider.GetRequiredService<UploadBatch>().ApplyAsync(system, batch, upload.Propagate, ct);
            upload.Applied += outcomes.Count(o => o == UploadOutcome.Applied);
            upload.Skipped += outcomes.Count(o => o == UploadOutcome.Skipped);
            batch.Clear();
            if (upload.Applied >= analyseAt && analysing.IsCompleted)
            {
                analysing = Task.Run(RefreshStatisticsBesideAsync, CancellationToken.None);
                analyseAt = upload.Applied * 2;
            }
        }
        db.UploadErrors.AddRange(errors);
        upload.Bytes = reader.Bytes;
        upload.UpdatedAt = upload.HeartbeatAt = time.Now();
        await db.SaveChangesAsync(ct);
        // The errors are stored; only the job stays tracked.
        foreach (var error in errors) db.Entry(error).State = EntityState.Detached;
        errors.Clear();
    }

    async Task FinishAsync(Upload upload, string status, string? reason)
    {
        await analysing;
        if (upload.Applied > 0) await RefreshStatisticsAsync(db);
        upload.Status = status;
        upload.FailureReason = Stored(reason, UploadConfiguration.MaxMessage);
        var now = time.Now();
        upload.UpdatedAt = now;
        upload.FinishedAt = now;
        // Written even when unchanged in memory: a watchdog that wrongly took the job for abandoned is overruled by how it ended.
        db.Entry(upload).Property(u => u.FailureReason).IsModified = true;
        db.Entry(upload).Property(u => u.Status).IsModified = true;
        // Recorded even when the request was cancelled: the job must not be left RUNNING.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>
    /// During and after a bulk load PostgreSQL's planner statistics lag until autovacuum next analyses the tables;
    /// until then it plans reads of them as if they were nearly empty: a sequential scan that grows with every batch
    /// for the upload's own lookup of its records, a scan of the status index per record for the DPO export. ANALYZE
    /// samples each table (at most 30,000 rows by default) and blocks neither readers nor writers.
    /// </summary>
    async Task RefreshStatisticsBesideAsync()
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await RefreshStatisticsAsync(scope.ServiceProvider.GetRequiredService<ConsentDb>());
        }
        catch (Exception e)
        {
            // Only the planner's estimates lag until the next refresh: the upload goes on.
            logger.LogWarning(e, "Refreshing planner statistics during an upload failed");
        }
    }

    static async Task RefreshStatisticsAsync(ConsentDb db)
    {
        if (db.Provider != DatabaseProvider.Postgres) return;
        Type[] written = [typeof(Customer), typeof(ChangeRequest), typeof(ConsentEntry), typeof(ChannelEntry), typeof(SealedPersonalData), typeof(PersonKey),
            typeof(IdempotencyRecord)];
        var tables = string.Join(", ", written.Select(t => "\"" + db.Model.FindEntityType(t)!.GetTableName() + "\""));
        // The names are the model's own table names, not input.
#pragma warning disable EF1003
        await db.Database.ExecuteSqlRawAsync("ANALYZE " + tables, CancellationToken.None);
#pragma warning restore EF1003
    }

    /// <summary>Text fit for a column: no U+0000 (PostgreSQL refuses it) and no longer than the column.</summary>
    static string? Stored(string? text, int max)
    {
        if (text is null) return null;
        text = text.Replace("\0", "", StringComparison.Ordinal);
        return text.Length <= max ? text : text[..(max - 1)] + "…";
    }
}
