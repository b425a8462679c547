using System.Net;
using ConsentHub.Consents;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Data;

/// <summary>
/// Rows of a kind of sealed personal data no feature uses, for the tests of the data helpers (insert buffer, tracked
/// writes) to write and read back, owned by one real customer.
/// </summary>
public sealed class TestRows(string kind)
{
    public SealedPersonalData Row(long customerId, string reference, byte[]? sealedBytes = null, long id = 0) => new()
    {
        Id = id, CustomerId = customerId, Kind = kind, Reference = reference, Sealed = sealedBytes ?? [1, 2, 3],
        UpdatedAt = new DateTime(2026, 12, 6, 1, 2, 3, 456, DateTimeKind.Utc),
    };

    /// <summary>A customer created through the API (tgb/toyota/crm, c1), whose id the rows name.</summary>
    public static async Task<long> CustomerAsync(HubApp app)
    {
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
        using var scope = app.Scope();
        return await app.Db(scope).Customers.Where(c => c.SourceCustomerId == "c1").Select(c => c.Id).SingleAsync();
    }

    /// <summary>The rows of this kind as committed, by reference.</summary>
    public async Task<List<SealedPersonalData>> StoredAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await app.Db(scope).PersonalData.AsNoTracking().Where(p => p.Kind == kind).OrderBy(p => p.Reference).ToListAsync();
    }
}
