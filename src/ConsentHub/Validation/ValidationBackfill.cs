using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Validation;

/// <summary>
/// Forgets the addresses older versions kept in clear on validations. Runs on start, after the personal data backfill
/// has sealed the change requests: each validation's address is its change request's, so nothing is lost.
/// </summary>
public static class ValidationBackfill
{
    public static Task RunAsync(ConsentDb db, CancellationToken ct) =>
        db.Validations.Where(v => v.LegacyEmail != null).ExecuteUpdateAsync(u => u.SetProperty(v => v.LegacyEmail, (string?)null), ct);
}
