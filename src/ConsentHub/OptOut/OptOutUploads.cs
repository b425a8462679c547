using System.Text;
using System.Text.Json;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

public static class OptOutEvents
{
    /// <summary>One upload: its transaction, counts, and per successful record its id, validation, projectid, kinds and keyed commitments.</summary>
    public const string Received = "opt-out-received";
}

/// <summary>An upload as the route read it: who sent it, from where, and its records (each still raw JSON).</summary>
public sealed record OptOutUpload(
    ApiKey Key, string DefaultCountry, IReadOnlyList<JsonElement> Records, string? ClientIp, string? Referer, IdempotencyKey? Idempotency);

public abstract record OptOutUploadOutcome
{
    /// <summary>Stored and committed; <see cref="ToApply"/> are the successful records, in order, that the consent core still has to apply.</summary>
    public sealed record Stored(Guid TransactionId, byte[] Body, IReadOnlyList<Guid> ToApply) : OptOutUploadOutcome;
    public sealed record Replayed(byte[] Body) : OptOutUploadOutcome;
    public sealed record KeyReused : OptOutUploadOutcome;
}

/// <summary>
/// Stores an upload in one transaction: the transaction row, one record per input record (refused ones too, sealed
/// like the others so the answer can be shown again), a suppression entry per distinct identifier of each successful
/// record, one <c>opt-out-received</c> ledger entry carrying keyed commitments only, and the idempotency record.
/// Applying the opt-outs to the organisation's customers happens after the commit (<see cref="OptOutApplication"/>).
/// </summary>
public sealed class OptOutUploads(ConsentDb db, LedgerWriter ledger, OptOutVault vault, BlindIndex blindIndex, TimeProvider time)
{
    /// <summary>A concurrent retry with the same Idempotency-Key may win the race: the next attempt replays its answer.</summary>
    public Task<OptOutUploadOutcome> StoreAsync(OptOutUpload upload, CancellationToken ct) =>
        ConflictRetry.RunAsync(db, () => TryStoreAsync(upload, ct));

    async Task<OptOutUploadOutcome> TryStoreAsync(OptOutUpload upload, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        if (upload.Idempotency is { } idempotency)
        {
            var earlier = await db.IdempotencyRecords.AsNoTracking()
                .SingleOrDefaultAsync(r => r.Scope == idempotency.Scope && r.Key == idempotency.Key, ct);
            if (earlier is not null)
            {
                if (earlier.RequestHash != idempotency.RequestHash || TransactionOf(earlier) is not { } answered) return new OptOutUploadOutcome.KeyReused();
                // Nothing personal is stored with the key: the answer is rebuilt from the sealed records, as the read route shows it.
                var stored = await db.OptOutTransactions.AsNoTracking().SingleAsync(t => t.Id == answered, ct);
                return new OptOutUploadOutcome.Replayed(await AnswerAsync(stored, ct));
            }
        }

        var now = time.Now();
        var key = upload.Key;
        var source = $"{key.Context}/{key.SourceSystem}";
        var optOut = new OptOutTransaction
        {
            Id = Guid.CreateVersion7(), Nmsc = key.Nmsc, Context = key.Context, SourceSystem = key.SourceSystem, ApiKeyId = key.Id,
            ReceivedAt = now, ClientIp = upload.ClientIp, Referer = upload.Referer,
        };
        var results = new List<AnsweredRecord>();
        var ledgerRecords = new List<object>();
        var records = new List<OptOutRecord>();
        for (var position = 0; position < upload.Records.Count; position++)
        {
            var fields = upload.Records[position];
            var check = OptOutRules.Check(fields, upload.DefaultCountry);
            var recordKey = OptOutVault.NewKey();
            var record = new OptOutRecord
            {
                Id = Guid.CreateVersion7(), TransactionId = optOut.Id, Position = position, Nmsc = key.Nmsc,
                Successful = check.Successful, UnsuccessfulReason = check.UnsuccessfulReason, Validation = check.Validation, ProjectId = check.ProjectId,
                ReceivedAt = now,
            };
            record.Sealed = OptOutVault.SealText(recordKey, record.Id, OptOutVault.FieldsPurpose, fields.GetRawText());
            record.ProtectedKey = vault.Wrap(record.Id, recordKey);
            records.Add(record);
            results.Add(new AnsweredRecord(fields, record.Id, check.Successful, check.UnsuccessfulReason));
            if (!check.Successful) continue;

            foreach (var identifier in check.Identifiers)
            {
                db.SuppressionEntries.Add(new SuppressionEntry
                {
                    Nmsc = key.Nmsc, OptOutId = record.Id, Kind = identifier.Kind, Sha256 = identifier.Sha256,
                    BlindKey = identifier.Kind switch
                    {
                        SuppressionKinds.Email => blindIndex.Email(identifier.Normalised),
                        SuppressionKinds.Phone => blindIndex.Phone(identifier.Normalised, null),
                        _ => null,
                    },
                    SealedValue = OptOutVault.SealText(recordKey, record.Id, OptOutVault.EntryPurpose(identifier.Kind), identifier.Normalised),
                    Source = source, OptedOutAt = now,
                });
            }
            // Keyed under the record's own key: the entry proves what was received, and says nothing once the key is destroyed.
            ledgerRecords.Add(new
            {
                recordId = record.Id, validation = check.Validation, projectId = check.ProjectId,
                kinds = check.Identifiers.Select(i => i.Kind).Distinct(),
                commitments = check.Identifiers.Select(i => new { kind = i.Kind, commitment = PersonKeys.Commit(recordKey, i.Normalised) }),
            });
        }
        optOut.Successful = records.Count(r => r.Successful);
        optOut.Unsuccessful = records.Count - optOut.Successful;

        await ledger.LockHeadAsync(ct);
        var entry = ledger.Append(OptOutEvents.Received, new
        {
            transactionId = optOut.Id, nmsc = key.Nmsc, context = key.Context, sourceSystem = key.SourceSystem, apiKeyId = key.Id,
            successful = optOut.Successful, unsuccessful = optOut.Unsuccessful, records = ledgerRecords,
        });
        foreach (var record in records) record.LedgerIndex = entry.Index;
        db.OptOutTransactions.Add(optOut);
        db.OptOutRecords.AddRange(records);
        if (upload.Idempotency is { } first)
        {
            db.IdempotencyRecords.Add(new IdempotencyRecord
            {
                Scope = first.Scope, Key = first.Key, RequestHash = first.RequestHash, StatusCode = StatusCodes.Status200OK,
                Location = OptOutPaths.Transaction(optOut.Id), CreatedAt = now,
            });
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return new OptOutUploadOutcome.Stored(optOut.Id, OptOutAnswer.Write(optOut.Id, results),
            records.Where(r => r.Successful).Select(r => r.Id).ToList());
    }

    /// <summary>
    /// The seed's answer to a stored transaction, opened from the records' seals. An erased record's fields are gone
    /// with its key: its result shows only its outcome (and recordID when it succeeded).
    /// </summary>
    public async Task<byte[]> AnswerAsync(OptOutTransaction optOut, CancellationToken ct)
    {
        var records = await db.OptOutRecords.AsNoTracking().Where(r => r.TransactionId == optOut.Id).OrderBy(r => r.Position).ToListAsync(ct);
        var answered = records.Select(r =>
        {
            JsonElement? fields = null;
            if (r.Sealed is { } sealedFields && r.ProtectedKey is { } protectedKey)
            {
                var text = OptOutVault.OpenText(vault.Unwrap(r.Id, protectedKey), r.Id, OptOutVault.FieldsPurpose, sealedFields);
                using var document = JsonDocument.Parse(text);
                fields = document.RootElement.Clone();
            }
            return new AnsweredRecord(fields, r.Id, r.Successful, r.UnsuccessfulReason);
        }).ToList();
        return OptOutAnswer.Write(optOut.Id, answered);
    }

    /// <summary>The transaction an idempotency record of this route answered (it names it by its path).</summary>
    static Guid? TransactionOf(IdempotencyRecord record) =>
        record.ResponseBody is null && record.ChangeRequestId is null && record.Location is { } location
        && location.StartsWith(OptOutPaths.TransactionsPrefix, StringComparison.Ordinal)
        && Guid.TryParse(location[OptOutPaths.TransactionsPrefix.Length..], out var id) ? id : null;

    /// <summary>The fingerprint of an upload: the route and the body as sent, so the same key on another route is a reuse (422).</summary>
    public static string RequestHash(byte[] body) => Idempotency.Hash([.. Encoding.UTF8.GetBytes(OptOutPaths.Upload + "\n"), .. body]);
}

public static class OptOutPaths
{
    public const string Upload = "/RestServices/OptOut/Upload";
    public const string TransactionsPrefix = "/opt-outs/transactions/";

    public static string Transaction(Guid id) => TransactionsPrefix + id;

    public static string OptOuts(string nmsc) => $"/nmscs/{Uri.EscapeDataString(nmsc)}/opt-outs";
}
