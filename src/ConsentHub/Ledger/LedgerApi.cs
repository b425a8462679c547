using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

public sealed record LedgerEntryView(long Index, string Type, string Timestamp, JsonElement Payload, string PrevHash, string Hash);

public sealed record LedgerPage(
    int Count, IReadOnlyList<LedgerEntryView> Entries,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record LedgerVerificationView(
    bool Valid, long Entries,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? FirstBadIndex,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Fault,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

public sealed record PublicKeyView(string Origin, string Algorithm, string KeyId, string PublicKey, string VerifierKey);

public sealed record CheckpointView(long Size, string RootHash, string Note, string CreatedAt);

public sealed record CheckpointPage(int Count, IReadOnlyList<CheckpointView> Checkpoints,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record InclusionProofView(long Index, long TreeSize, string LeafHash, string RootHash, IReadOnlyList<string> AuditPath);

public sealed record ConsistencyProofView(long From, long To, string FromRoot, string ToRoot, IReadOnlyList<string> Proof);

public sealed record CanonicalEntryView(long Index, string Canonical, string Hash, string LeafHash);

public static class LedgerApi
{
    /// <summary>Lines per page of the export: "{hash} {canonical entry}".</summary>
    public const int MaxExportLines = 10_000;

    const int DefaultPageSize = 100;
    const int MaxPageSize = 1_000;

    public static IServiceCollection AddLedger(this IServiceCollection services)
    {
        services.AddOptions<LedgerOptions>().BindConfiguration(LedgerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<LedgerWriter>();
        services.AddScoped<Checkpoints>();
        services.AddSingleton<CheckpointKey>();
        services.AddHostedService<CheckpointWorker>();
        return services;
    }

    public static IEndpointRouteBuilder MapLedger(this IEndpointRouteBuilder app)
    {
        var ledger = app.MapGroup("/ledger").WithTags("Ledger").RequireAuthorization(AuthSetup.AdminPolicy);

        ledger.MapGet("/entries", Entries)
            .WithName("GetLedgerEntries").WithSummary("Ledger entries in index order, from an index on (inclusive).")
            .Produces<LedgerPage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        ledger.MapGet("/verify", Verify)
            .WithName("VerifyLedger").WithSummary("Recompute the hash chain; names the first index that does not verify.")
            .Produces<LedgerVerificationView>(StatusCodes.Status200OK);
        ledger.MapGet("/entries/{index}", Entry)
            .WithName("GetLedgerEntry").WithSummary("One entry in its canonical encoding (the bytes its hashes cover), with its chain hash and Merkle leaf hash.")
            .Produces<CanonicalEntryView>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status404NotFound);
        ledger.MapGet("/export", Export)
            .WithName("ExportLedger").WithSummary("Entries for verifiers: one line per entry, \"{hash} {canonical JSON}\", from an index on.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").ProducesProblem(StatusCodes.Status400BadRequest);
        ledger.MapGet("/checkpoint", Checkpoint)
            .WithName("GetLedgerCheckpoint").WithSummary("The latest signed checkpoint (C2SP tlog-checkpoint in a signed note); ?format=note gives the note alone.")
            .Produces<CheckpointView>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status404NotFound);
        ledger.MapGet("/checkpoints", CheckpointHistory)
            .WithName("GetLedgerCheckpoints").WithSummary("Every signed checkpoint, smallest tree first, from a tree size on.")
            .Produces<CheckpointPage>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status400BadRequest);
        ledger.MapGet("/proofs/inclusion", InclusionProof)
            .WithName("GetInclusionProof").WithSummary("The audit path of an entry in the tree of a given size (RFC 9162 §2.1.3).")
            .Produces<InclusionProofView>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status400BadRequest);
        ledger.MapGet("/proofs/consistency", ConsistencyProof)
            .WithName("GetConsistencyProof").WithSummary("The proof that the tree of one size is a prefix of a larger one (RFC 9162 §2.1.4).")
            .Produces<ConsistencyProofView>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status400BadRequest);
        app.MapGet("/ledger/public-key", PublicKey).WithTags("Ledger").AllowAnonymous()
            .WithName("GetLedgerPublicKey").WithSummary("The Ed25519 key that signs checkpoints, as a C2SP verifier key. Compare it with one obtained out of band.")
            .Produces<PublicKeyView>(StatusCodes.Status200OK);
        return app;
    }

    static async Task<IResult> Entries(string? from, string? limit, ConsentDb db, CancellationToken ct)
    {
        var (after, size, error) = Paging.Read(from is null ? null : from, limit, DefaultPageSize, MaxPageSize, afterName: "from");
        if (error is not null) return error;
        var start = Math.Max(after, 0);
        var page = await db.LedgerEntries.AsNoTracking()
            .Where(e => e.Index >= start).OrderBy(e => e.Index).Take(size + 1).ToListAsync(ct);
        var views = page.Take(size).Select(View).ToList();
        var links = new Dictionary<string, HalLink> { ["self"] = new($"/ledger/entries?from={start}&limit={size}") };
        if (page.Count > size) links["next"] = new($"/ledger/entries?from={page[^1].Index}&limit={size}");
        return Hal.Ok(new LedgerPage(views.Count, views, links));
    }

    /// <summary>GET /ledger/verify.</summary>
    static Task<IResult> Verify(ConsentDb db, CheckpointKey key, CancellationToken ct) => VerifyAsync(db, key, progress: null, ct);

    /// <summary>GET /ledger/verify's answer; the console's "Verify now" calls it too, for the admin's session, with its progress.</summary>
    /// <param name="progress">Told how many entries have verified so far, after each page of them.</param>
    internal static async Task<IResult> VerifyAsync(ConsentDb db, CheckpointKey key, Func<long, Task>? progress, CancellationToken ct)
    {
        var result = await LedgerVerifier.VerifyAsync(db, ct, key.VerifierKey, progress);
        return TypedResults.Ok(new LedgerVerificationView(result.Valid, result.Entries, result.FirstBadIndex, result.Kind, result.Reason));
    }

    static IResult PublicKey(CheckpointKey key) => TypedResults.Ok(new PublicKeyView(
        key.Origin, "Ed25519", key.KeyId, Convert.ToBase64String(key.PublicKey), key.VerifierKey));

    static async Task<IResult> Entry(string index, ConsentDb db, CancellationToken ct)
    {
        var notFound = Problems.NotFound("No ledger entry has this index.");
        if (!long.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)) return notFound;
        var entry = await db.LedgerEntries.AsNoTracking().SingleOrDefaultAsync(e => e.Index == i, ct);
        if (entry is null) return notFound;
        var canonical = LedgerHash.Canonical(entry);
        return TypedResults.Ok(new CanonicalEntryView(entry.Index, System.Text.Encoding.UTF8.GetString(canonical), entry.Hash,
            Convert.ToBase64String(Merkle.LeafHash(canonical))));
    }

    /// <summary>GET /ledger/export; the console's download calls it too, for the admin's session.</summary>
    internal static async Task<IResult> Export(string? from, string? limit, ConsentDb db, CancellationToken ct)
    {
        var (after, size, error) = Paging.Read(from, limit, MaxExportLines, MaxExportLines, afterName: "from");
        if (error is not null) return error;
        var start = Math.Max(after, 0);
        var page = await db.LedgerEntries.AsNoTracking().Where(e => e.Index >= start).OrderBy(e => e.Index).Take(size).ToListAsync(ct);
        var text = new System.Text.StringBuilder(page.Count * 300);
        foreach (var entry in page)
            text.Append(entry.Hash).Append(' ').Append(System.Text.Encoding.UTF8.GetString(LedgerHash.Canonical(entry))).Append('\n');
        return TypedResults.Text(text.ToString(), "text/plain", System.Text.Encoding.UTF8);
    }

    static async Task<IResult> Checkpoint(string? format, ConsentDb db, CancellationToken ct)
    {
        var latest = await Checkpoints.LatestAsync(db, ct);
        if (latest is null) return Problems.NotFound("No checkpoint has been signed yet: the ledger is empty or the first interval has not passed.");
        return format == "note" ? TypedResults.Text(latest.Note, "text/plain", System.Text.Encoding.UTF8) : TypedResults.Ok(View(latest));
    }

    static async Task<IResult> CheckpointHistory(string? from, string? limit, ConsentDb db, CancellationToken ct)
    {
        var (after, size, error) = Paging.Read(from, limit, DefaultPageSize, MaxPageSize, afterName: "from");
        if (error is not null) return error;
        var start = Math.Max(after, 0);
        var page = await db.LedgerCheckpoints.AsNoTracking().Where(c => c.Size >= start).OrderBy(c => c.Size).Take(size + 1).ToListAsync(ct);
        var links = new Dictionary<string, HalLink> { ["self"] = new($"/ledger/checkpoints?from={start}&limit={size}") };
        if (page.Count > size) links["next"] = new($"/ledger/checkpoints?from={page[^1].Size}&limit={size}");
        var views = page.Take(size).Select(View).ToList();
        return Hal.Ok(new CheckpointPage(views.Count, views, links));
    }

    static async Task<IResult> InclusionProof(string? index, string? treeSize, ConsentDb db, CancellationToken ct)
    {
        var committed = await CommittedSizeAsync(db, ct);
        var (i, iError) = ReadSize(index, "index", 0, committed - 1);
        if (iError is not null) return iError;
        var (n, nError) = ReadSize(treeSize ?? committed.ToString(System.Globalization.CultureInfo.InvariantCulture), "treeSize", i + 1, committed);
        if (nError is not null) return nError;
        var nodes = new StoredMerkleNodes(db);
        var path = await Merkle.InclusionProofAsync(nodes, i, n, ct);
        return TypedResults.Ok(new InclusionProofView(i, n, Convert.ToBase64String(await nodes.NodeAsync(0, i, ct)),
            Convert.ToBase64String(await Merkle.RootAsync(nodes, n, ct)), [.. path.Select(Convert.ToBase64String)]));
    }

    static async Task<IResult> ConsistencyProof(string? from, string? to, ConsentDb db, CancellationToken ct)
    {
        var committed = await CommittedSizeAsync(db, ct);
        var (n, nError) = ReadSize(to ?? committed.ToString(System.Globalization.CultureInfo.InvariantCulture), "to", 1, committed);
        if (nError is not null) return nError;
        var (m, mError) = ReadSize(from, "from", 1, n);
        if (mError is not null) return mError;
        var nodes = new StoredMerkleNodes(db);
        var proof = await Merkle.ConsistencyProofAsync(nodes, m, n, ct);
        return TypedResults.Ok(new ConsistencyProofView(m, n, Convert.ToBase64String(await Merkle.RootAsync(nodes, m, ct)),
            Convert.ToBase64String(await Merkle.RootAsync(nodes, n, ct)), [.. proof.Select(Convert.ToBase64String)]));
    }

    static async Task<long> CommittedSizeAsync(ConsentDb db, CancellationToken ct) =>
        await db.LedgerHeads.AsNoTracking().Select(h => h.NextIndex).SingleAsync(ct);

    static (long Value, IResult? Error) ReadSize(string? text, string name, long min, long max)
    {
        if (text is null) return (0, Problems.Invalid(name, "required", $"{name} is required."));
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
            return (0, Problems.Invalid(name, "non-negative-integer", $"{name} must be a non-negative integer."));
        if (max < min || value < min || value > max)
            return (0, Problems.Invalid(name, "range", max < min
                ? $"{name} is out of range: the ledger holds too few entries."
                : $"{name} must be from {min} to {max}."));
        return (value, null);
    }

    static CheckpointView View(LedgerCheckpoint c) =>
        new(c.Size, Convert.ToBase64String(c.RootHash), c.Note, HubTime.Format(c.CreatedAt));

    public static LedgerEntryView View(LedgerEntry e)
    {
        using var payload = JsonDocument.Parse(e.Payload);
        return new(e.Index, e.Type, e.Timestamp.ToString(LedgerHash.TimestampFormat, System.Globalization.CultureInfo.InvariantCulture),
            payload.RootElement.Clone(), e.PrevHash, e.Hash);
    }
}
