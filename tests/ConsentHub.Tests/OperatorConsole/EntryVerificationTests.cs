using System.Text.Json;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.OperatorConsole;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>
/// The console's check of a record's ledger entries (<see cref="EntryVerification"/>) on a proof the hub gives anyone:
/// it passes as given, and fails, saying why, when an entry's text, its audit path, the root or the verifier key is not
/// what the ledger signed.
/// </summary>
public sealed class EntryVerificationTests
{
    [ProviderTheory, Providers]
    public async Task A_real_proof_verifies_and_each_kind_of_tampering_is_caught(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var asCrm = await app.AsAsync(crm);
        await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true));
        await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"));
        var at = DateTime.UtcNow.AddSeconds(1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        using var anonymous = app.CreateClient();
        var key = (await Json.ReadAsync(await anonymous.GetAsync("/ledger/public-key")))["verifierKey"]!.GetValue<string>();
        var answer = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1") + $"?at={at}&proof=true"));
        var proof = answer["proof"].Deserialize<AnswerProof>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.Equal(2, proof.Entries.Count);

        var report = EntryVerification.Check(proof, key);
        Assert.True(report.AllIncluded, string.Join("; ", report.Entries.Select(e => e.Detail)) + report.CheckpointProblem);
        Assert.All(report.Entries, e => Assert.Equal("change-applied", e.Type));

        var first = proof.Entries[0];
        var textChanged = proof with { Entries = [first with { Canonical = first.Canonical.Replace("\"OFFERS\"", "\"SURVEYS\"") }, proof.Entries[1]] };
        var changed = EntryVerification.Check(textChanged, key);
        Assert.False(changed.AllIncluded);
        Assert.Equal("its text does not hash to its leaf", changed.Entries[0].Detail);
        Assert.True(changed.Entries[1].Included);

        var moved = EntryVerification.Check(proof with { Entries = [first with { LedgerIndex = first.LedgerIndex + 1 }] }, key);
        Assert.Equal("its audit path does not lead to the checkpoint's root", Assert.Single(moved.Entries).Detail);

        var otherRoot = EntryVerification.Check(proof with { RootHash = Convert.ToBase64String(new byte[32]) }, key);
        Assert.False(otherRoot.CheckpointSigned);
        Assert.Equal("the checkpoint signs another size or root than the proof's", otherRoot.CheckpointProblem);
        Assert.All(otherRoot.Entries, e => Assert.False(e.Included));

        var (_, publicKey) = ConsentHub.Ledger.SignedNote.NewKeyPair();
        var stranger = EntryVerification.Check(proof, ConsentHub.Ledger.SignedNote.VerifierKey(key.Split('+')[0], publicKey));
        Assert.False(stranger.CheckpointSigned);
        Assert.StartsWith("the checkpoint's signature does not verify with the hub's key", stranger.CheckpointProblem);
    }
}
