using ConsentHub.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace ConsentHub.Ledger;

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
