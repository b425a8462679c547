using System.Text.Json;
using ConsentHub.Data;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Consents;

/// <summary>
/// Moves personal data that older versions kept in clear into personal_data, sealed under each record's key: customer
/// emails and phones (whose matching keys become blind indexes), the email and phone inside stored change requests,
/// and idempotent answers that repeat them (the addresses validations kept: <c>Validation/ValidationBackfill</c>). Runs on start, in batches that each commit
/// on their own under the ledger lock (so two instances starting together take turns), and does nothing once done.
/// </summary>
public static class PersonalDataBackfill
{
    const int BatchSize = 500;

    public static async Task RunAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<ConsentDb>();
        var ledger = services.GetRequiredService<LedgerWriter>();
        var vault = services.GetRequiredService<PersonalDataVault>();
        var blindIndex = services.GetRequiredService<BlindIndex>();

        while (await BatchAsync(db, ledger, async () =>
        {
            var customers = await db.Customers.Where(c => c.LegacyEmail != null || c.LegacyPhone != null).OrderBy(c => c.Id).Take(BatchSize).ToListAsync(ct);
            foreach (var customer in customers)
            {
                await vault.SetContactAsync(customer.Id, new Contact(customer.LegacyEmail, customer.LegacyPhone), ct);
                // The clear keys were the normalised address and the E.164 number: the blind index of each follows from it.
                customer.EmailKey = blindIndex.Email(customer.EmailKey);
                customer.PhoneKey = blindIndex.Phone(customer.PhoneKey, null);
                customer.LegacyEmail = null;
                customer.LegacyPhone = null;
            }
            return customers.Count;
        }, ct)) { }

        while (await BatchAsync(db, ledger, async () =>
        {
            var requests = await db.ChangeRequests
                .Where(c => c.Data.Contains("\"email\":\"") || c.Data.Contains("\"phone\":\""))
                .OrderBy(c => c.Sequence).Take(BatchSize).ToListAsync(ct);
            foreach (var request in requests)
            {
                var data = JsonSerializer.Deserialize<SubscriptionData>(request.Data, SubscriptionChanges.StoredJson)!;
                request.Data = await vault.SealRequestAsync(request.CustomerId, request.Id, data, ct);
            }
            return requests.Count;
        }, ct)) { }

        while (await BatchAsync(db, ledger, async () =>
        {
            var records = await db.IdempotencyRecords
                .Where(r => r.ResponseBody != null && r.ChangeRequestId == null && r.Location!.StartsWith("/change-requests/"))
                .OrderBy(r => r.CreatedAt).Take(BatchSize).ToListAsync(ct);
            foreach (var record in records)
            {
                if (Guid.TryParse(record.Location!["/change-requests/".Length..], out var id)
                    && await db.ChangeRequests.AsNoTracking().Where(c => c.Id == id).Select(c => (long?)c.CustomerId).SingleOrDefaultAsync(ct) is { } customerId)
                {
                    await vault.SealAsync(customerId, PersonalDataKinds.Response, PersonalDataVault.Reference(id), System.Text.Encoding.UTF8.GetBytes(record.ResponseBody!), ct);
                    record.ChangeRequestId = id;
                    record.ResponseBody = null;
                }
                else
                {
                    db.IdempotencyRecords.Remove(record); // an answer to a change that no longer exists: nothing to replay
                }
            }
            return records.Count;
        }, ct)) { }
    }

    /// <summary>One batch in its own transaction; true while there may be more.</summary>
    static async Task<bool> BatchAsync(ConsentDb db, LedgerWriter ledger, Func<Task<int>> batch, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var count = await batch();
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
        return count == BatchSize;
    }
}
