using System.ComponentModel.DataAnnotations;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace ConsentHub.Ledger;

/// <summary>
/// One stored node of the ledger's Merkle tree: the hash of the perfect, aligned subtree of leaves
/// [Index·2^Level, (Index+1)·2^Level). Level 0 holds the leaf hashes. Appending an entry writes the nodes it completes,
/// one per level at most; every root and proof of any past tree size is computed from these rows.
/// </summary>
public sealed class LedgerTreeNode
{
    public int Level { get; set; }
    public long Index { get; set; }
    public required byte[] Hash { get; set; }
}

/// <summary>A signed checkpoint: a C2SP signed note over the tlog-checkpoint body of one tree size.</summary>
public sealed class LedgerCheckpoint
{
    public long Id { get; set; }
    public long Size { get; set; }
    public required byte[] RootHash { get; set; }
    public required string Note { get; set; }
    public DateTime CreatedAt { get; set; }
}

sealed class LedgerTreeConfiguration : IEntityTypeConfiguration<LedgerTreeNode>, IEntityTypeConfiguration<LedgerCheckpoint>
{
    public void Configure(EntityTypeBuilder<LedgerTreeNode> b)
    {
        b.ToTable("ledger_tree_nodes");
        b.HasKey(n => new { n.Level, n.Index });
        b.Property(n => n.Hash).HasMaxLength(32);
    }

    public void Configure(EntityTypeBuilder<LedgerCheckpoint> b)
    {
        b.ToTable("ledger_checkpoints");
        // One checkpoint per size, even when several instances sign at once.
        b.HasIndex(c => c.Size).IsUnique();
        b.Property(c => c.RootHash).HasMaxLength(32);
        b.Property(c => c.Note).HasMaxLength(2000);
    }
}

public sealed class LedgerOptions
{
    public const string Section = "ConsentHub:Ledger";

    /// <summary>The checkpoint origin and signing key name: a unique, schema-less name of this log.</summary>
    [Required, RegularExpression(@"^[\x21-\x2A\x2C-\x7E]{1,200}$")] // printable, no spaces, no "+" (C2SP note key names)
    public string Origin { get; set; } = "consenthub.local/ledger";

    /// <summary>While there are new entries, a checkpoint is signed at least this often.</summary>
    [Range(1, 86_400)]
    public int CheckpointIntervalSeconds { get; set; } = 10;

    public bool CheckpointWorkerEnabled { get; set; } = true;
}

/// <summary>The tree nodes as the database holds them, for roots and proofs.</summary>
public sealed class StoredMerkleNodes(ConsentDb db) : IMerkleNodes
{
    public async ValueTask<byte[]> NodeAsync(int level, long index, CancellationToken ct) =>
        await db.LedgerTreeNodes.AsNoTracking().Where(n => n.Level == level && n.Index == index).Select(n => n.Hash).SingleOrDefaultAsync(ct)
        ?? throw new InvalidOperationException($"Merkle node ({level}, {index}) is missing.");
}

/// <summary>The Ed25519 key that signs checkpoints: created by the first instance, kept protected in the database.</summary>
public sealed class CheckpointKey(IOptions<LedgerOptions> options)
{
    const string Name = "ledger-checkpoint-ed25519";
    const string Purpose = "ConsentHub.Ledger.CheckpointKey.v1";

    byte[]? privateKey;

    public string Origin => options.Value.Origin;
    public byte[] PublicKey { get; private set; } = [];
    public string VerifierKey => SignedNote.VerifierKey(Origin, PublicKey);
    public string KeyId => Convert.ToHexStringLower(SignedNote.KeyId(Origin, PublicKey));

    public async Task LoadAsync(ConsentDb db, IDataProtectionProvider protection, TimeProvider time, CancellationToken ct)
    {
        privateKey = await ServerKeys.GetOrCreateProtectedAsync(db, protection, Name, Purpose, () => SignedNote.NewKeyPair().PrivateKey, time, ct);
        PublicKey = SignedNote.PublicKeyOf(privateKey);
    }

    public string Sign(CheckpointBody body) =>
        SignedNote.Sign(body.Text, Origin, privateKey ?? throw new InvalidOperationException("The checkpoint key is not loaded."));
}

/// <summary>Signs a checkpoint of the current tree when the ledger has grown since the last one.</summary>
public sealed class Checkpoints(ConsentDb db, LedgerWriter ledger, CheckpointKey key, TimeProvider time)
{
    /// <summary>Signs one if the ledger grew; returns the latest checkpoint (null while the ledger is empty).</summary>
    public async Task<LedgerCheckpoint?> IssueAsync(CancellationToken ct)
    {
        // Under the ledger lock: the size and root signed are exactly those of the log as committed, so no two
        // checkpoints can disagree; every one is a prefix of the next.
        await using var transaction = await ledger.BeginAsync(ct);
        var head = ledger.Head;
        var latest = await LatestAsync(db, ct);
        if (head.NextIndex == 0 || latest?.Size >= head.NextIndex) return latest;
        var body = new CheckpointBody(key.Origin, head.NextIndex, MerkleFrontier.Root(MerkleFrontier.Deserialize(head.Frontier)));
        var checkpoint = new LedgerCheckpoint { Size = body.Size, RootHash = body.RootHash, Note = key.Sign(body), CreatedAt = time.Now() };
        db.LedgerCheckpoints.Add(checkpoint);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return checkpoint;
    }

    public static Task<LedgerCheckpoint?> LatestAsync(ConsentDb db, CancellationToken ct) =>
        db.LedgerCheckpoints.AsNoTracking().OrderByDescending(c => c.Size).FirstOrDefaultAsync(ct);
}

sealed class CheckpointWorker(IServiceScopeFactory scopes, IOptions<LedgerOptions> options, ILogger<CheckpointWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.CheckpointWorkerEnabled) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.CheckpointIntervalSeconds));
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<Checkpoints>().IssueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Checkpoint could not be signed");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
    }
}

/// <summary>
/// Builds the Merkle tree of a ledger written before the tree existed: once, at start, under the ledger lock, from
/// the entries in index order. A ledger that already has its tree is left alone.
/// </summary>
public static class LedgerTreeBackfill
{
    const int PageSize = 5_000;

    public static async Task RunAsync(ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        var head = await db.LedgerHeads.AsNoTracking().SingleAsync(ct);
        if (head.NextIndex == 0 || head.Frontier is not null) return;
        await using var transaction = await ledger.BeginAsync(ct);
        var locked = ledger.Head;
        if (locked.Frontier is not null) return; // another instance did it first
        var frontier = new List<byte[]>();
        long next = 0;
        while (true)
        {
            var page = await db.LedgerEntries.AsNoTracking().Where(e => e.Index >= next).OrderBy(e => e.Index).Take(PageSize).ToListAsync(ct);
            foreach (var entry in page)
            {
                if (entry.Index != next) throw new InvalidOperationException($"Ledger entry {next} is missing; the tree cannot be built. Run `ledger verify`.");
                var grown = MerkleFrontier.Append(frontier, next, LedgerHash.LeafOf(entry));
                frontier = grown.Frontier;
                db.LedgerTreeNodes.AddRange(grown.Nodes.Select(n => new LedgerTreeNode { Level = n.Level, Index = n.Index, Hash = n.Hash }));
                next++;
            }
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
            db.LedgerHeads.Attach(locked);
            if (page.Count < PageSize) break;
        }
        if (next != locked.NextIndex) throw new InvalidOperationException($"The ledger head records {locked.NextIndex} entries but {next} are stored; run `ledger verify`.");
        locked.Frontier = MerkleFrontier.Serialize(frontier);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }
}

/// <summary>Leaf hashes as the API shows them (base64, like checkpoints and proofs).</summary>
public static class LeafHashes
{
    public static string? Format(byte[]? leafHash) => leafHash is null ? null : Convert.ToBase64String(leafHash);

    /// <summary>The leaf hashes of these ledger indices, read from the tree's level 0.</summary>
    public static async Task<Dictionary<long, string>> OfAsync(ConsentDb db, IEnumerable<long> indices, CancellationToken ct)
    {
        var wanted = indices.Distinct().ToList();
        return await db.LedgerTreeNodes.AsNoTracking().Where(n => n.Level == 0 && wanted.Contains(n.Index))
            .ToDictionaryAsync(n => n.Index, n => Convert.ToBase64String(n.Hash), ct);
    }
}
