using ConsentHub.Data;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Auth;

/// <summary>
/// A static key a source system sends in the <c>api-key</c> header (seed 002) to the routes that take API keys. Only its
/// SHA-256 is stored: the key is 32 random bytes, so a plain hash cannot be guessed back, and it can be looked up.
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }
    public long SourceSystemId { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string SourceSystem { get; set; }
    public required string Label { get; set; }
    /// <summary>Lower-case hex SHA-256 of the key as issued.</summary>
    public required string KeyHash { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
    /// <summary>
    /// Set on a static token of an inbound event type (seed 001): it opens <c>POST /events/{nmsc}/{eventTypeId}</c> of that
    /// type only, and no route that takes API keys.
    /// </summary>
    public Guid? EventTypeId { get; set; }
    /// <summary>Set when revoked; the key is refused from then on, on every instance (each request looks it up).</summary>
    public DateTime? RevokedAt { get; set; }
}

sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> b)
    {
        b.ToTable("api_keys");
        b.HasIndex(k => k.KeyHash).IsUnique();
        b.HasIndex(k => k.SourceSystemId);
        b.HasIndex(k => k.EventTypeId);
        b.Property(k => k.Nmsc).HasMaxLength(64);
        b.Property(k => k.Context).HasMaxLength(64);
        b.Property(k => k.SourceSystem).HasMaxLength(64);
        b.Property(k => k.Label).HasMaxLength(100);
        b.Property(k => k.KeyHash).HasMaxLength(64);
    }
}

public static class ApiKeys
{
    /// <summary>Issued keys start with this, so a leaked one is recognisable in a scan.</summary>
    public const string Prefix = "chk_";

    /// <summary>A new key for the source system, staged on the context: the caller saves it and shows the key once.</summary>
    /// <param name="eventTypeId">For an inbound event type's static token: the type it opens (and nothing else).</param>
    public static (ApiKey Row, string Key) Issue(ConsentDb db, SourceSystem system, string label, DateTime now, Guid? eventTypeId = null)
    {
        var key = Prefix + Secrets.Generate(32);
        var row = new ApiKey
        {
            Id = Guid.CreateVersion7(), SourceSystemId = system.Id, Nmsc = system.Nmsc, Context = system.Context, SourceSystem = system.Name,
            Label = label, KeyHash = Secrets.Sha256Hex(key), CreatedAt = now, EventTypeId = eventTypeId,
        };
        db.ApiKeys.Add(row);
        return (row, key);
    }

    /// <summary>How fresh <see cref="ApiKey.LastUsedAt"/> is kept: a busy key writes once per this interval, not on every request.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Records that the key authenticated a request at <paramref name="now"/>, unless that was recorded less than
    /// <see cref="LastUsedResolution"/> ago. The condition is in the UPDATE too, so instances racing on one key write once.
    /// </summary>
    public static async Task MarkUsedAsync(ConsentDb db, ApiKey key, DateTime now, CancellationToken ct)
    {
        var stale = now - LastUsedResolution;
        if (key.LastUsedAt > stale) return;
        await db.ApiKeys.Where(k => k.Id == key.Id && (k.LastUsedAt == null || k.LastUsedAt <= stale))
            .ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, now), ct);
    }

    /// <summary>
    /// The key's row when it is issued, not revoked, and its source system is active; otherwise null. An event type's
    /// token is found only with that <paramref name="eventTypeId"/>, and a source system's key only without one.
    /// </summary>
    public static async Task<ApiKey?> FindActiveAsync(ConsentDb db, string key, CancellationToken ct, Guid? eventTypeId = null)
    {
        if (key.Length is < 16 or > 200) return null;
        var hash = Secrets.Sha256Hex(key);
        return await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyHash == hash && k.RevokedAt == null && k.EventTypeId == eventTypeId)
            .Where(k => db.SourceSystems.Any(s => s.Id == k.SourceSystemId && s.DeactivatedAt == null))
            .SingleOrDefaultAsync(ct);
    }
}
