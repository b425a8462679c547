using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.OptOut;

public sealed class SuppressionFileOptions
{
    public const string Section = "ConsentHub:SuppressionFiles";

    /// <summary>Whether this instance runs the worker that issues the files of each period.</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>How often the worker looks for a period that has started.</summary>
    [Range(1, 3600)]
    public int PollSeconds { get; set; } = 60;

    /// <summary>How long an instance holds a file it generates; a claim older than this may be taken over by another instance.</summary>
    [Range(10, 24 * 3600)]
    public int LeaseSeconds { get; set; } = 1800;
}

/// <summary>
/// Issues suppression files. Each file is claimed first (a row whose unique slot one instance wins; the others lose the
/// insert quietly), then generated into a temporary file page by page, stored in chunks, and issued: its SHA-256, size and
/// line count go into the ledger (<c>suppression-file-issued</c>) in the transaction that completes the row.
/// Only the current period is issued: a hub that was down does not make up the periods it missed.
/// </summary>
public sealed class SuppressionFileGenerator(
    ConsentDb db, LedgerWriter ledger, OptOutVault vault, TimeProvider time, IOptions<SuppressionFileOptions> options,
    ILogger<SuppressionFileGenerator> logger)
{
    const int PageSize = 1000;
    public const int ChunkSize = 1024 * 1024;

    /// <summary>Issues every file of the current period that is not issued yet; returns how many this call issued.</summary>
    public async Task<int> GenerateDueAsync(CancellationToken ct)
    {
        var now = time.Now();
        var settings = await db.SuppressionFileSettings.AsNoTracking().OrderBy(s => s.Nmsc).ToListAsync(ct);
        var issued = 0;
        foreach (var organisation in settings)
        {
            var (start, end) = SuppressionPeriods.Containing(organisation.Frequency, now);
            var slot = $"{organisation.Frequency}:{HubTime.Format(start)}";
            var done = await db.SuppressionFiles.AsNoTracking()
                .Where(f => f.Nmsc == organisation.Nmsc && f.Slot == slot && f.LedgerIndex != null)
                .Select(f => f.Kind + "/" + f.Format).ToListAsync(ct);
            foreach (var format in organisation.FormatList)
            {
                foreach (var kind in new[] { SuppressionFileKinds.Full, SuppressionFileKinds.Delta })
                {
                    if (done.Contains($"{kind}/{format}")) continue;
                    var file = NewFile(organisation, slot, organisation.Frequency, start, end, start, kind, format);
                    try
                    {
                        if (await IssueAsync(file, now, ct) is not null) issued++;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // The claim's lease runs out and a later pass (of any instance) takes the file over.
                        logger.LogError(e, "Suppression file {Kind}/{Format} of {Nmsc} for {Slot} failed", kind, format, organisation.Nmsc, slot);
                    }
                }
            }
        }
        return issued;
    }

    /// <summary>Issues a full file and a delta per format at once, as at now; they take no period's slot.</summary>
    public async Task<List<SuppressionFile>> GenerateNowAsync(SuppressionFileSettings organisation, CancellationToken ct)
    {
        var now = time.Now();
        var files = new List<SuppressionFile>();
        foreach (var format in organisation.FormatList)
        {
            foreach (var kind in new[] { SuppressionFileKinds.Full, SuppressionFileKinds.Delta })
            {
                var id = Guid.CreateVersion7();
                var file = NewFile(organisation, $"{SuppressionFrequencies.OnDemand}:{id:N}", SuppressionFrequencies.OnDemand, now, now, now, kind, format);
                file.Id = id;
                files.Add(await IssueAsync(file, now, ct) ?? throw new InvalidOperationException("An on-demand file's slot is its own."));
            }
        }
        return files;
    }

    static SuppressionFile NewFile(SuppressionFileSettings settings, string slot, string frequency, DateTime start, DateTime end, DateTime cutOff,
        string kind, string format) => new()
    {
        Id = Guid.CreateVersion7(), Nmsc = settings.Nmsc, Slot = slot, Frequency = frequency, PeriodStart = start, PeriodEnd = end, CutOff = cutOff,
        Kind = kind, Format = format, Hashed = settings.Hashed, Industry = settings.Industry,
    };

    async Task<SuppressionFile?> IssueAsync(SuppressionFile candidate, DateTime now, CancellationToken ct)
    {
        var file = await ClaimAsync(candidate, now, ct);
        if (file is null) return null;
        var token = file.LeaseToken;

        // The pool counts only while the agreement is in force when the file is made.
        file.Industry = file.Industry && file.Kind == SuppressionFileKinds.Full && await IndustryPool.IsMemberAsync(db, file.Nmsc, ct);
        var temporary = Path.Combine(Path.GetTempPath(), $"consenthub-suppression-{file.Id:N}.tmp");
        try
        {
            await using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
            await using (var writer = SuppressionFileWriter.Create(file.Format, output, file.Hashed))
            {
                await WriteLinesAsync(file, writer, ct);
                await writer.CompleteAsync(ct);
                file.Lines = writer.Lines;
            }
            (file.Size, file.Sha256) = await StoreAsync(file.Id, temporary, ct);
        }
        finally
        {
            File.Delete(temporary);
        }
        return await CompleteAsync(file, token, ct);
    }

    /// <summary>
    /// Inserts the file's row, or takes over one whose claim was abandoned (its lease ran out before it was issued).
    /// Null when another instance holds the slot: it issues that file.
    /// </summary>
    async Task<SuppressionFile?> ClaimAsync(SuppressionFile candidate, DateTime now, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        var lease = now.AddSeconds(options.Value.LeaseSeconds);
        var existing = await db.SuppressionFiles.AsNoTracking().SingleOrDefaultAsync(f =>
            f.Nmsc == candidate.Nmsc && f.Slot == candidate.Slot && f.Kind == candidate.Kind && f.Format == candidate.Format, ct);
        if (existing is null)
        {
            candidate.DeltaFrom = candidate.Kind == SuppressionFileKinds.Delta ? await PreviousCutOffAsync(candidate, ct) : null;
            candidate.ClaimedAt = now;
            candidate.LeaseUntil = lease;
            candidate.LeaseToken = Guid.NewGuid();
            db.SuppressionFiles.Add(candidate);
            try
            {
                await db.SaveChangesAsync(ct);
                return candidate;
            }
            catch (DbUpdateException e) when (DbErrors.IsUniqueViolation(e))
            {
                db.ChangeTracker.Clear();
                return null;
            }
        }
        if (existing.LedgerIndex is not null || existing.LeaseUntil >= now) return null;

        var token = Guid.NewGuid();
        var taken = await db.SuppressionFiles
            .Where(f => f.Id == existing.Id && f.LedgerIndex == null && f.LeaseToken == existing.LeaseToken)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.LeaseToken, token).SetProperty(f => f.LeaseUntil, lease), ct);
        if (taken == 0) return null;
        logger.LogWarning("Suppression file {FileId} of {Nmsc} was abandoned by another instance; generating it here", existing.Id, existing.Nmsc);
        await db.SuppressionFileChunks.Where(c => c.FileId == existing.Id).ExecuteDeleteAsync(ct);
        existing.LeaseToken = token;
        existing.LeaseUntil = lease;
        return existing;
    }

    /// <summary>The cut-off of the latest scheduled delta before this one in the same format: a delta starts where it ended.</summary>
    Task<DateTime?> PreviousCutOffAsync(SuppressionFile file, CancellationToken ct) =>
        db.SuppressionFiles.AsNoTracking()
            .Where(f => f.Nmsc == file.Nmsc && f.Format == file.Format && f.Kind == SuppressionFileKinds.Delta
                && f.Frequency != SuppressionFrequencies.OnDemand && f.CutOff < file.CutOff)
            .MaxAsync(f => (DateTime?)f.CutOff, ct);

    async Task WriteLinesAsync(SuppressionFile file, SuppressionFileWriter writer, CancellationToken ct)
    {
        var cutOff = file.CutOff;
        // In force at the cut-off: opted out before it and not superseded by then.
        var entries = db.SuppressionEntries.AsNoTracking()
            .Where(e => e.Nmsc == file.Nmsc && e.OptedOutAt < cutOff && (e.SupersededAt == null || e.SupersededAt > cutOff));
        if (file.Kind == SuppressionFileKinds.Delta && file.DeltaFrom is { } from) entries = entries.Where(e => e.OptedOutAt >= from);

        long last = 0;
        while (true)
        {
            var after = last;
            var page = await entries.Where(e => e.Id > after).OrderBy(e => e.Id).Take(PageSize).ToListAsync(ct);
            if (page.Count == 0) break;
            last = page[^1].Id;
            var keys = file.Hashed ? [] : await KeysAsync(page, ct);
            foreach (var entry in page) await writer.WriteAsync(LineOf(entry, file.Hashed, keys), ct);
        }
        if (file.Industry) await WritePoolAsync(file, writer, ct);
    }

    async Task<Dictionary<Guid, byte[]>> KeysAsync(List<SuppressionEntry> page, CancellationToken ct)
    {
        var ids = page.Where(e => e.SealedValue is not null).Select(e => e.OptOutId).Distinct().ToList();
        var rows = await db.OptOutRecords.AsNoTracking().Where(r => ids.Contains(r.Id) && r.ProtectedKey != null)
            .Select(r => new { r.Id, r.ProtectedKey }).ToListAsync(ct);
        return rows.ToDictionary(r => r.Id, r => vault.Unwrap(r.Id, r.ProtectedKey!));
    }

    /// <summary>
    /// An entry's line. In a clear file, an erased person's entry (its sealed value or its key destroyed) keeps its place as its
    /// hash, marked hashed: the opt-out stays in force, and nothing readable of the person is left to write.
    /// </summary>
    static SuppressionLine LineOf(SuppressionEntry entry, bool hashed, Dictionary<Guid, byte[]> keys)
    {
        if (!hashed && entry.SealedValue is { } sealedValue && keys.TryGetValue(entry.OptOutId, out var key))
        {
            var value = OptOutVault.OpenText(key, entry.OptOutId, OptOutVault.EntryPurpose(entry.Kind), sealedValue);
            return new SuppressionLine(entry.Kind, value, entry.OptedOutAt, entry.Source, Hashed: false);
        }
        return new SuppressionLine(entry.Kind, entry.Sha256, entry.OptedOutAt, entry.Source, Hashed: true);
    }

    /// <summary>
    /// The pool's identifiers the organisation does not hold in force itself (<see cref="IndustryPool.QueryFor"/>, less what a
    /// provider's list shares with the organisation's own list): hashed, with no time and no contributor, streamed by one query.
    /// </summary>
    async Task WritePoolAsync(SuppressionFile file, SuppressionFileWriter writer, CancellationToken ct)
    {
        var nmsc = file.Nmsc;
        var pool = IndustryPool.QueryFor(db, nmsc)
            .Where(p => !db.SuppressionEntries.Any(e => e.Nmsc == nmsc && e.SupersededAt == null && e.Kind == p.Kind && e.Sha256 == p.Sha256))
            .OrderBy(p => p.Kind).ThenBy(p => p.Sha256);
        await foreach (var identifier in pool.AsAsyncEnumerable().WithCancellation(ct))
            await writer.WriteAsync(new SuppressionLine(identifier.Kind, identifier.Sha256, null, "industry", Hashed: true), ct);
    }

    /// <summary>Copies the generated file into its chunks, one chunk in memory at a time, and hashes it on the way.</summary>
    async Task<(long Size, string Sha256)> StoreAsync(Guid fileId, string path, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);
        var buffer = new byte[ChunkSize];
        long size = 0;
        var sequence = 0;
        while (true)
        {
            var filled = 0;
            int read;
            while (filled < buffer.Length && (read = await input.ReadAsync(buffer.AsMemory(filled), ct)) > 0) filled += read;
            if (filled == 0) break;
            hash.AppendData(buffer, 0, filled);
            size += filled;
            db.SuppressionFileChunks.Add(new SuppressionFileChunk { FileId = fileId, Sequence = sequence++, Bytes = buffer[..filled] });
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
            if (filled < buffer.Length) break;
        }
        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>Completes the row and appends its ledger entry in one transaction, unless another instance took the file over meanwhile.</summary>
    async Task<SuppressionFile?> CompleteAsync(SuppressionFile generated, Guid token, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        var row = await db.SuppressionFiles.Where(f => f.Id == generated.Id).ForUpdate(db).SingleAsync(ct);
        if (row.LeaseToken != token || row.LedgerIndex is not null) return null;
        var now = time.Now();
        row.Industry = generated.Industry;
        row.Lines = generated.Lines;
        row.Size = generated.Size;
        row.Sha256 = generated.Sha256;
        row.CreatedAt = now;
        row.LeaseUntil = null;
        await ledger.LockHeadAsync(ct);
        row.LedgerIndex = ledger.Append(SuppressionFileEvents.Issued, new
        {
            id = row.Id, nmsc = row.Nmsc, frequency = row.Frequency,
            period = $"{HubTime.Format(row.PeriodStart)}/{HubTime.Format(row.PeriodEnd)}", cutOff = HubTime.Format(row.CutOff),
            deltaFrom = HubTime.Format(row.DeltaFrom), kind = row.Kind, format = row.Format, hashed = row.Hashed, industry = row.Industry,
            lines = row.Lines, size = row.Size, sha256 = row.Sha256,
        }).Index;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        logger.LogInformation("Issued suppression file {FileId} of {Nmsc}: {Kind}/{Format}, {Lines} lines", row.Id, row.Nmsc, row.Kind, row.Format, row.Lines);
        return row;
    }
}
