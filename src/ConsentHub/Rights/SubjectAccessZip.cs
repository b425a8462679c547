using System.IO.Compression;
using System.Text;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Rights;

/// <summary>
/// The subject access document with what a person or a regulator needs to check it offline, without trusting the hub:
/// the inclusion proof of every ledger entry it cites against the latest signed checkpoint (signed first when the
/// entries are newer), the checkpoint itself, and the public key that signed it.
/// </summary>
public static class SubjectAccessZip
{
    public const string DocumentName = "subject-access.json";
    public const string ProofsName = "ledger-proofs.json";
    public const string CheckpointName = "checkpoint.txt";
    public const string PublicKeyName = "public-key.txt";

    public static async Task<byte[]> BuildAsync(ConsentDb db, Checkpoints checkpoints, CheckpointKey key, SubjectAccessDocument document, CancellationToken ct)
    {
        var indices = document.Ledger.Select(l => l.Index).ToList();
        var checkpoint = await Checkpoints.LatestAsync(db, ct);
        if (checkpoint is null || checkpoint.Size <= indices.Max())
            checkpoint = await checkpoints.IssueAsync(ct) ?? throw new InvalidOperationException("The ledger is empty.");
        var nodes = new StoredMerkleNodes(db);
        var proven = new List<ProvenEntry>();
        foreach (var chunk in indices.Chunk(500))
        {
            var entries = await db.LedgerEntries.AsNoTracking().Where(e => chunk.Contains(e.Index)).OrderBy(e => e.Index).ToListAsync(ct);
            foreach (var entry in entries)
            {
                var canonical = LedgerHash.Canonical(entry);
                var path = await Merkle.InclusionProofAsync(nodes, entry.Index, checkpoint.Size, ct);
                proven.Add(new ProvenEntry(entry.Index, Encoding.UTF8.GetString(canonical), Convert.ToBase64String(Merkle.LeafHash(canonical)),
                    [.. path.Select(Convert.ToBase64String)]));
            }
        }
        var proofs = new AnswerProof(checkpoint.Note, checkpoint.Size, Convert.ToBase64String(checkpoint.RootHash), proven);

        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            await AddAsync(zip, DocumentName, Hal.Serialize(document), ct);
            await AddAsync(zip, ProofsName, Hal.Serialize(proofs), ct);
            await AddAsync(zip, CheckpointName, checkpoint.Note, ct);
            await AddAsync(zip, PublicKeyName, key.VerifierKey + "\n", ct);
            await AddAsync(zip, "README.txt", ReadMe(key.Origin), ct);
        }
        return buffer.ToArray();
    }

    static async Task AddAsync(ZipArchive zip, string name, string text, CancellationToken ct)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        await using var stream = await entry.OpenAsync(ct);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
    }

    static string ReadMe(string origin) => $"""
        ConsentHub subject access export
        ================================

        {DocumentName}   everything the hub holds about the person in the organisation: each record's consolidated
                              subscription data, its full history, validation events, propagation outcomes and erasures,
                              and under "ledger" the index and Merkle leaf hash of every ledger entry cited.
        {ProofsName}    for each of those entries: its canonical bytes ("canonical"), its leaf hash and its audit path
                              in the tree of the checkpoint ("treeSize", "rootHash").
        {CheckpointName}        the checkpoint: a C2SP signed note of the log "{origin}", signed with Ed25519.
        {PublicKeyName}        the verifier key of that signature. Compare it with one obtained from the organisation
                              out of band (GET /ledger/public-key) before trusting it.

        To verify without trusting the hub (RFC 9162 hashing):
        1. Check the signature of {CheckpointName} with the verifier key; its second line is the tree size, the third the
           base64 root hash.
        2. For each entry: leaf hash = SHA-256(0x00 || canonical bytes); fold the audit path into it (RFC 9162 section 2.1.3.2)
           and compare the result with the checkpoint's root hash.
        3. Each entry's canonical JSON names its index; the document's "ledger" list names the same indices and leaf hashes.

        """;
}
