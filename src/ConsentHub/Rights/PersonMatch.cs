using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using ConsentHub.Validation;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Rights;

/// <summary>How a request names the person: by email, by phone, or by one of their records.</summary>
public sealed record PersonInput
{
    public string? Email { get; init; }
    public string? Phone { get; init; }
    /// <summary>The region of a phone number written without '+' (ISO 3166 alpha-2), as in communicationAttributes.</summary>
    public string? Country { get; init; }
    public string? Context { get; init; }
    public string? SourceSystem { get; init; }
    public string? SourceCustomerId { get; init; }
}

/// <summary>A person named by one criterion: its kind, the blind index of an address or number, or the record's key.</summary>
public sealed record PersonCriterion(string Kind, string? Key, RecordKey? Record);

/// <summary>
/// Finds the records of one person in one organisation. An email or phone is looked up through its blind index
/// (<see cref="BlindIndex"/>), so every record that carries it is found without any address being stored in clear.
/// The person is then every record of those records' clusters: a cluster is, by definition, the records of one person.
/// </summary>
public static class PersonMatch
{
    /// <summary>The criterion, or the violations naming each broken rule.</summary>
    public static (PersonCriterion? Criterion, List<Violation> Violations) Parse(PersonInput input, BlindIndex blindIndex)
    {
        var violations = new List<Violation>();
        var byRecord = input.Context is not null || input.SourceSystem is not null || input.SourceCustomerId is not null;
        var given = new[] { input.Email is not null, input.Phone is not null, byRecord }.Count(g => g);
        if (given == 0)
        {
            violations.Add(new("email", "one-criterion-required",
                "Name the person by email, by phone, or by one record (context, sourceSystem and sourceCustomerId)."));
            return (null, violations);
        }
        if (given > 1)
        {
            violations.Add(new("body", "one-criterion-only", "Give exactly one of: email, phone, or context with sourceSystem and sourceCustomerId."));
            return (null, violations);
        }
        if (input.Email is not null)
        {
            if (!MailAddresses.TryParse(input.Email, out _) || blindIndex.Email(input.Email) is not { } key)
                return (null, [new("email", "email", "email must be one email address (local part @ domain).")]);
            return (new PersonCriterion(PersonCriteria.Email, key, null), violations);
        }
        if (input.Phone is not null)
        {
            if (input.Country is not null && input.Country.Length != 2)
                violations.Add(new("country", "country-code", "country must be an ISO 3166 alpha-2 code, e.g. GB."));
            else if (blindIndex.Phone(input.Phone, input.Country) is not { } key)
                violations.Add(new("phone", "phone-number",
                    "phone must be a possible phone number: international (+44 7700 900123) or national with country."));
            else
                return (new PersonCriterion(PersonCriteria.Phone, key, null), violations);
            return (null, violations);
        }
        var context = Names.Normalise(input.Context ?? "");
        if (input.Context is null) violations.Add(new("context", "required", "context is required with sourceSystem and sourceCustomerId."));
        else if (!Names.IsTenantName(context)) violations.Add(new("context", "tenant-name", $"context must be {Names.TenantNameRule}."));
        if (input.SourceSystem is null) violations.Add(new("sourceSystem", "required", "sourceSystem is required with context and sourceCustomerId."));
        else if (!Names.IsSourceSystemName(input.SourceSystem))
            violations.Add(new("sourceSystem", "source-system-name", $"sourceSystem must be {Names.SourceSystemNameRule}."));
        if (input.SourceCustomerId is null) violations.Add(new("sourceCustomerId", "required", "sourceCustomerId is required with context and sourceSystem."));
        else if (!Names.IsSourceCustomerId(input.SourceCustomerId))
            violations.Add(new("sourceCustomerId", "source-customer-id",
                $"sourceCustomerId must be 1 to {Names.MaxSourceCustomerIdLength} characters without control characters or surrounding spaces."));
        return violations.Count > 0
            ? (null, violations)
            : (new PersonCriterion(PersonCriteria.Record, null, new RecordKey(context, input.SourceSystem!, input.SourceCustomerId!)), violations);
    }

    /// <summary>The organisation's records the criterion names directly (no cluster yet).</summary>
    public static async Task<List<Customer>> MatchedAsync(ConsentDb db, string nmsc, PersonCriterion criterion, CancellationToken ct) =>
        await Carrying(db.Customers.AsNoTracking().Where(c => c.Nmsc == nmsc), criterion).OrderBy(c => c.Id).ToListAsync(ct);

    /// <summary>
    /// Those of <paramref name="customers"/> the criterion names: the records that carry the email's or phone's blind
    /// index, or the one record of those source ids (the caller bounds the organisation).
    /// </summary>
    public static IQueryable<Customer> Carrying(IQueryable<Customer> customers, PersonCriterion criterion)
    {
        var key = criterion.Key;
        var (context, system, id) = criterion.Record is { } r ? (r.Context, r.SourceSystem, r.SourceCustomerId) : ("", "", "");
        return criterion.Kind switch
        {
            PersonCriteria.Email => customers.Where(c => c.EmailKey == key),
            PersonCriteria.Phone => customers.Where(c => c.PhoneKey == key),
            _ => customers.Where(c => c.Context == context && c.SourceSystem == system && c.SourceCustomerId == id),
        };
    }

    /// <summary>The records and every record the hub knows in their clusters (any context of the organisation), in id order.</summary>
    public static async Task<List<Customer>> WithClustersAsync(ConsentDb db, string nmsc, IReadOnlyCollection<Customer> matched, CancellationToken ct)
    {
        if (matched.Count == 0) return [];
        var ids = matched.Select(c => c.SourceCustomerId).Distinct().ToList();
        var keys = matched.Select(RecordKey.Of).ToHashSet();
        var clusterIds = (await db.ClusterMembers.AsNoTracking().Where(m => m.Nmsc == nmsc && ids.Contains(m.SourceCustomerId)).ToListAsync(ct))
            .Where(m => keys.Contains(ClusterMembership.KeyOf(m))).Select(m => m.ClusterId).Distinct().ToList();
        if (clusterIds.Count == 0) return [.. matched.OrderBy(c => c.Id)];
        var members = await db.ClusterMembers.AsNoTracking().Where(m => m.Nmsc == nmsc && clusterIds.Contains(m.ClusterId)).ToListAsync(ct);
        var memberKeys = members.Select(ClusterMembership.KeyOf).ToHashSet();
        var memberIds = members.Select(m => m.SourceCustomerId).Distinct().ToList();
        var inClusters = (await db.Customers.AsNoTracking().Where(c => c.Nmsc == nmsc && memberIds.Contains(c.SourceCustomerId)).ToListAsync(ct))
            .Where(c => memberKeys.Contains(RecordKey.Of(c)));
        return [.. matched.Concat(inClusters).DistinctBy(c => c.Id).OrderBy(c => c.Id)];
    }

    /// <summary>Every record the clusters of these records name, whether the hub has seen it or only a cluster feed has.</summary>
    public static async Task<List<RecordKey>> ClusterMembersAsync(ConsentDb db, string nmsc, IReadOnlyCollection<Customer> records, CancellationToken ct)
    {
        if (records.Count == 0) return [];
        var ids = records.Select(c => c.SourceCustomerId).Distinct().ToList();
        var keys = records.Select(RecordKey.Of).ToHashSet();
        var clusterIds = (await db.ClusterMembers.AsNoTracking().Where(m => m.Nmsc == nmsc && ids.Contains(m.SourceCustomerId)).ToListAsync(ct))
            .Where(m => keys.Contains(ClusterMembership.KeyOf(m))).Select(m => m.ClusterId).Distinct().ToList();
        return clusterIds.Count == 0 ? []
            : (await db.ClusterMembers.AsNoTracking().Where(m => m.Nmsc == nmsc && clusterIds.Contains(m.ClusterId)).ToListAsync(ct))
                .Select(ClusterMembership.KeyOf).ToList();
    }
}
