using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Consents;
using ConsentHub.Ledger;

namespace ConsentHub.OperatorConsole;

/// <summary>One ledger entry checked against the checkpoint: its index and type, whether it is included, and why not.</summary>
public sealed record EntryCheck(long Index, string Type, bool Included, string Detail);

/// <summary>
/// What the console's "Verify" button found: whether the checkpoint is signed by the hub's checkpoint key, its size and
/// root, and each entry's inclusion.
/// </summary>
public sealed record VerificationReport(long TreeSize, string RootHash, bool CheckpointSigned, string? CheckpointProblem, IReadOnlyList<EntryCheck> Entries)
{
    public bool AllIncluded => CheckpointSigned && Entries.All(e => e.Included);
}

/// <summary>
/// Checks a proof as the hub gives it to anyone (<c>GET …/subscription-data?at=…&amp;proof=true</c>, <see cref="AnswerProof"/>),
/// as a verifier outside the hub would, from the proof's own bytes: the checkpoint's Ed25519 signature by the verifier
/// key and the size and root it signs; each entry's canonical text hashed to its leaf; the leaf's audit path folded to
/// that root (RFC 9162 §2.1.3.2).
/// </summary>
public static class EntryVerification
{
    public static VerificationReport Check(AnswerProof proof, string verifierKey)
    {
        var root = Convert.FromBase64String(proof.RootHash);
        string? problem = null;
        if (SignedNote.Open(proof.Checkpoint, verifierKey, out var error) is not { } text)
            problem = $"the checkpoint's signature does not verify with the hub's key: {error}";
        else if (CheckpointBody.Parse(text) is not { } body)
            problem = "the checkpoint's text is not a checkpoint";
        else if (body.Size != proof.TreeSize || !body.RootHash.AsSpan().SequenceEqual(root))
            problem = "the checkpoint signs another size or root than the proof's";

        var entries = new List<EntryCheck>();
        foreach (var entry in proof.Entries)
        {
            var canonical = Encoding.UTF8.GetBytes(entry.Canonical);
            var type = TypeOf(entry.Canonical);
            var leaf = Merkle.LeafHash(canonical);
            if (Convert.ToBase64String(leaf) != entry.LeafHash)
                entries.Add(new(entry.LedgerIndex, type, false, "its text does not hash to its leaf"));
            else if (!Merkle.VerifyInclusion(leaf, entry.LedgerIndex, proof.TreeSize, [.. entry.AuditPath.Select(Convert.FromBase64String)], root))
                entries.Add(new(entry.LedgerIndex, type, false, "its audit path does not lead to the checkpoint's root"));
            else
                entries.Add(new(entry.LedgerIndex, type, true, $"included in the ledger of {proof.TreeSize} entries"));
        }
        return new VerificationReport(proof.TreeSize, proof.RootHash, problem is null, problem, entries);
    }

    static string TypeOf(string canonical)
    {
        try
        {
            return JsonNode.Parse(canonical)?["type"]?.GetValue<string>() ?? "unknown";
        }
        catch (System.Text.Json.JsonException)
        {
            return "unreadable";
        }
    }
}
