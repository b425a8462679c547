using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Outbound;

/// <summary>The kinds of change the outbound integrations (change data capture, replicas) carry.</summary>
public static class ChangeKinds
{
    /// <summary>A record's consents, channels or communication attributes became something else.</summary>
    public const string ConsentChanged = "consent.changed";
    /// <summary>The records one cluster holds within one context changed.</summary>
    public const string ClusterChanged = "cluster.changed";
    /// <summary>A record's personal data was erased.</summary>
    public const string Erasure = "erasure";
}

/// <summary>
/// One row of the outbound change log: written in the transaction that applies the change, beside its ledger entry, so
/// what the hub acknowledged is in the log and what is in the log was committed. Ordered by <see cref="LedgerIndex"/>
/// (then <see cref="Position"/> for entries that touch several records), which is commit order: every publisher and
/// replica reads it forward from its own cursor. Holds no personal data: record ids, codes, flags, language and country.
/// </summary>
public sealed class ChangeLogEntry
{
    public long LedgerIndex { get; set; }
    public int Position { get; set; }
    public required string Kind { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public string? SourceSystem { get; set; }
    public string? SourceCustomerId { get; set; }
    public long? CustomerId { get; set; }
    public Guid? ChangeRequestId { get; set; }
    /// <summary>The ledger entry's Merkle leaf hash (base64), for a consumer to ask for its inclusion proof.</summary>
    public required string LeafHash { get; set; }
    public DateTime OccurredAt { get; set; }
    /// <summary>
    /// <see cref="ChangeKinds.ConsentChanged"/>: the record's image before and after (<see cref="RecordImage"/>, JSON).
    /// Other kinds: null before, and after what happened (cluster id and members, erasure id).
    /// </summary>
    public string? Before { get; set; }
    public string? After { get; set; }
}

/// <summary>
/// What a record holds, as the outbound integrations name it: <c>consent.{CODE}</c> and <c>channel.{CODE}</c> with
/// <c>{ flag, requestedTimestamp, validatedTimestamp? }</c>, and <c>communication.language</c> /
/// <c>communication.country</c> as strings. Absent means the record never had it.
/// </summary>
public static class RecordImage
{
    public const string ConsentPrefix = "consent.";
    public const string ChannelPrefix = "channel.";
    public const string Language = "communication.language";
    public const string Country = "communication.country";

    public static JsonObject Of(SubscriptionState state, string? language, string? country)
    {
        var image = new JsonObject();
        foreach (var entry in state.Consents.Values.OrderBy(e => e.Code, StringComparer.Ordinal))
        {
            image[ConsentPrefix + entry.Code] = new JsonObject
            {
                ["flag"] = entry.Flag,
                ["requestedTimestamp"] = Hosting.HubTime.Format(entry.RequestedAt),
                ["validatedTimestamp"] = entry.ValidatedAt is { } validated ? Hosting.HubTime.Format(validated) : null,
            };
        }
        foreach (var entry in state.Channels.Values.OrderBy(e => e.Code, StringComparer.Ordinal))
        {
            image[ChannelPrefix + entry.Code] = new JsonObject
            {
                ["flag"] = entry.Flag,
                ["requestedTimestamp"] = Hosting.HubTime.Format(entry.RequestedAt),
            };
        }
        if (language is not null) image[Language] = language;
        if (country is not null) image[Country] = country;
        return image;
    }

    /// <summary>The flag of a consent or channel field in an image (null when absent or not a flag).</summary>
    public static bool? Flag(JsonObject image, string field) =>
        image[field] is JsonObject value && value["flag"] is JsonValue flag && flag.TryGetValue<bool>(out var b) ? b : null;
}

/// <summary>Stages and writes <see cref="ChangeLogEntry"/> rows inside the writers' transactions.</summary>
public static class ChangeLog
{
    /// <summary>The change log's step in the write pipeline: a row for every applied change, whatever reads the log.</summary>
    public static IServiceCollection AddChangeLog(this IServiceCollection services) => services.AddScoped<IChangeReaction, ChangeLogReaction>();

    /// <summary>A record's images around one change, waiting for the ledger index of its <c>change-applied</c> entry.</summary>
    public sealed record Pending(Customer Customer, Guid ChangeRequestId, string Before, string After, DateTime At);

    /// <summary>Captures the record's image before a change is folded in.</summary>
    public static string Image(SubscriptionState state, Customer customer) =>
        RecordImage.Of(state, customer.Language, customer.Country).ToJsonString();

    /// <summary>Adds the change's row now that its <c>change-applied</c> entry has an index.</summary>
    public static void Add(Data.ConsentDb db, Pending pending, LedgerEntry applied)
    {
        var customer = pending.Customer;
        db.Insert(new ChangeLogEntry
        {
            LedgerIndex = applied.Index, Position = 0, Kind = ChangeKinds.ConsentChanged,
            Nmsc = customer.Nmsc, Context = customer.Context, SourceSystem = customer.SourceSystem,
            SourceCustomerId = customer.SourceCustomerId, CustomerId = customer.Id, ChangeRequestId = pending.ChangeRequestId,
            LeafHash = LeafHashes.Format(applied.LeafHash) ?? "", OccurredAt = pending.At,
            Before = pending.Before, After = pending.After,
        });
    }

    /// <summary>
    /// Adds one row per context for a change of a cluster: the members of that context (ids only), or, when the cluster
    /// was deleted, the records that are each a cluster of one again.
    /// </summary>
    public static void AddCluster(
        Data.ConsentDb db, LedgerEntry entry, string nmsc, string clusterId, IEnumerable<RecordKey> members, DateTime at, bool deleted = false)
    {
        var position = 0;
        foreach (var context in members.GroupBy(m => m.Context).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var after = new JsonObject
            {
                ["clusterId"] = clusterId,
                ["deleted"] = deleted,
                ["members"] = new JsonArray([.. context
                    .OrderBy(m => m.SourceSystem, StringComparer.Ordinal).ThenBy(m => m.SourceCustomerId, StringComparer.Ordinal)
                    .Select(m => (JsonNode)new JsonObject { ["sourceSystem"] = m.SourceSystem, ["sourceCustomerId"] = m.SourceCustomerId })]),
            };
            db.Insert(new ChangeLogEntry
            {
                LedgerIndex = entry.Index, Position = position++, Kind = ChangeKinds.ClusterChanged, Nmsc = nmsc, Context = context.Key,
                LeafHash = LeafHashes.Format(entry.LeafHash) ?? "", OccurredAt = at, After = after.ToJsonString(),
            });
        }
    }

    /// <summary>Adds the row of built-in matching linking a record into a cluster (merging others into it).</summary>
    public static void AddMatched(Data.ConsentDb db, LedgerEntry entry, Customer customer, string clusterId, IEnumerable<string> mergedClusters, DateTime at)
    {
        var after = new JsonObject
        {
            ["clusterId"] = clusterId,
            ["mergedClusters"] = new JsonArray([.. mergedClusters.Select(c => (JsonNode)c)]),
            ["linked"] = new JsonObject { ["sourceSystem"] = customer.SourceSystem, ["sourceCustomerId"] = customer.SourceCustomerId },
        };
        db.Insert(new ChangeLogEntry
        {
            LedgerIndex = entry.Index, Position = 0, Kind = ChangeKinds.ClusterChanged, Nmsc = customer.Nmsc, Context = customer.Context,
            SourceSystem = customer.SourceSystem, SourceCustomerId = customer.SourceCustomerId, CustomerId = customer.Id,
            LeafHash = LeafHashes.Format(entry.LeafHash) ?? "", OccurredAt = at, After = after.ToJsonString(),
        });
    }

    /// <summary>Adds one row per erased record.</summary>
    public static void AddErasure(Data.ConsentDb db, LedgerEntry entry, Guid erasureId, IEnumerable<Customer> records, DateTime at)
    {
        var position = 0;
        foreach (var customer in records.OrderBy(c => c.Id))
        {
            db.Insert(new ChangeLogEntry
            {
                LedgerIndex = entry.Index, Position = position++, Kind = ChangeKinds.Erasure,
                Nmsc = customer.Nmsc, Context = customer.Context, SourceSystem = customer.SourceSystem,
                SourceCustomerId = customer.SourceCustomerId, CustomerId = customer.Id,
                LeafHash = LeafHashes.Format(entry.LeafHash) ?? "", OccurredAt = at,
                After = JsonSerializer.Serialize(new { erasureId }),
            });
        }
    }
}

sealed class ChangeLogConfiguration : IEntityTypeConfiguration<ChangeLogEntry>
{
    public void Configure(EntityTypeBuilder<ChangeLogEntry> b)
    {
        b.ToTable("change_log");
        b.HasKey(e => new { e.LedgerIndex, e.Position });
        b.Property(e => e.Kind).HasMaxLength(32);
        b.Property(e => e.Nmsc).HasMaxLength(64);
        b.Property(e => e.Context).HasMaxLength(64);
        b.Property(e => e.SourceSystem).HasMaxLength(64);
        b.Property(e => e.SourceCustomerId).HasMaxLength(200);
        b.Property(e => e.LeafHash).HasMaxLength(64);
        // Publishers and replicas read one organisation forward from a cursor.
        b.HasIndex(e => new { e.Nmsc, e.LedgerIndex });
    }
}
