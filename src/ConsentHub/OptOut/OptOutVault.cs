using System.Security.Cryptography;
using System.Text;
using ConsentHub.Consents;

namespace ConsentHub.OptOut;

/// <summary>
/// Seals an opt-out record's personal fields under a key of its own (AES-256-GCM), wrapped with the hub's person-key
/// wrapping key. Erasing the person destroys the record's key (and its sealed columns); the hashes that keep the
/// opt-out in force stay.
/// </summary>
public sealed class OptOutVault(PersonKeyWrapping wrapping)
{
    const byte Format = 1;
    const int NonceSize = 12, TagSize = 16;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    public string Wrap(Guid optOutId, byte[] key) => wrapping.Wrap(Owner(optOutId), key);

    public byte[] Unwrap(Guid optOutId, string protectedKey) => wrapping.Unwrap(Owner(optOutId), protectedKey);

    /// <summary>Seals <paramref name="plaintext"/> for one purpose of one opt-out (its fields, or one suppression entry's value).</summary>
    public static byte[] Seal(byte[] key, Guid optOutId, string purpose, byte[] plaintext)
    {
        var output = new byte[1 + NonceSize + TagSize + plaintext.Length];
        output[0] = Format;
        RandomNumberGenerator.Fill(output.AsSpan(1, NonceSize));
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(output.AsSpan(1, NonceSize), plaintext, output.AsSpan(1 + NonceSize + TagSize), output.AsSpan(1 + NonceSize, TagSize),
            AssociatedData(optOutId, purpose));
        return output;
    }

    public static byte[] Open(byte[] key, Guid optOutId, string purpose, byte[] sealedBytes)
    {
        if (sealedBytes.Length < 1 + NonceSize + TagSize || sealedBytes[0] != Format)
            throw new CryptographicException($"Sealed opt-out data of {optOutId} has an unknown format.");
        var plaintext = new byte[sealedBytes.Length - 1 - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(1, NonceSize), sealedBytes.AsSpan(1 + NonceSize + TagSize), sealedBytes.AsSpan(1 + NonceSize, TagSize),
            plaintext, AssociatedData(optOutId, purpose));
        return plaintext;
    }

    public static byte[] SealText(byte[] key, Guid optOutId, string purpose, string text) => Seal(key, optOutId, purpose, Encoding.UTF8.GetBytes(text));

    public static string OpenText(byte[] key, Guid optOutId, string purpose, byte[] sealedBytes) =>
        Encoding.UTF8.GetString(Open(key, optOutId, purpose, sealedBytes));

    /// <summary>The purposes sealed under an opt-out's key: its fields as sent, and each suppression entry's value by id.</summary>
    public const string FieldsPurpose = "fields";

    public static string EntryPurpose(string kind) => "entry:" + kind;

    static string Owner(Guid optOutId) => $"opt-out-key:{optOutId:N}";

    static byte[] AssociatedData(Guid optOutId, string purpose) => Encoding.UTF8.GetBytes($"opt-out:{optOutId:N}\n{purpose}");
}
