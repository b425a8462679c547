using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace ConsentHub.Ledger;

/// <summary>
/// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519: a text ending in a newline, a blank line, then one
/// line per signature, "— {key name} {base64(key ID ‖ signature)}". The key ID is the first four bytes of
/// SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key); a verifier key is written "{name}+{hex key ID}+{base64(0x01 ‖ public key)}".
/// </summary>
public static class SignedNote
{
    const byte Ed25519Type = 0x01;
    const string SignaturePrefix = "\u2014 ";

    public static byte[] KeyId(string name, ReadOnlySpan<byte> publicKey)
    {
        var input = new byte[Encoding.UTF8.GetByteCount(name) + 2 + publicKey.Length];
        var written = Encoding.UTF8.GetBytes(name, input);
        input[written] = (byte)'\n';
        input[written + 1] = Ed25519Type;
        publicKey.CopyTo(input.AsSpan(written + 2));
        return SHA256.HashData(input)[..4];
    }

    public static string VerifierKey(string name, byte[] publicKey) =>
        $"{name}+{Convert.ToHexStringLower(KeyId(name, publicKey))}+{Convert.ToBase64String([Ed25519Type, .. publicKey])}";

    /// <summary>A new Ed25519 key pair: (private seed, public key), 32 bytes each.</summary>
    public static (byte[] PrivateKey, byte[] PublicKey) NewKeyPair()
    {
        var seed = RandomNumberGenerator.GetBytes(Ed25519PrivateKeyParameters.KeySize);
        return (seed, new Ed25519PrivateKeyParameters(seed).GeneratePublicKey().GetEncoded());
    }

    public static byte[] PublicKeyOf(byte[] privateKey) => new Ed25519PrivateKeyParameters(privateKey).GeneratePublicKey().GetEncoded();

    /// <summary>The note: <paramref name="text"/> (which must end in a newline), a blank line and the signature line.</summary>
    public static string Sign(string text, string name, byte[] privateKey)
    {
        if (!text.EndsWith('\n')) throw new ArgumentException("A note's text ends with a newline.", nameof(text));
        var signer = new Ed25519Signer();
        signer.Init(true, new Ed25519PrivateKeyParameters(privateKey));
        var message = Encoding.UTF8.GetBytes(text);
        signer.BlockUpdate(message, 0, message.Length);
        var signature = signer.GenerateSignature();
        var keyId = KeyId(name, PublicKeyOf(privateKey));
        return $"{text}\n{SignaturePrefix}{name} {Convert.ToBase64String([.. keyId, .. signature])}\n";
    }

    /// <summary>A verifier key parsed: its name and Ed25519 public key; null with the reason when malformed.</summary>
    public static (string Name, byte[] PublicKey)? ParseVerifierKey(string verifierKey, out string? error)
    {
        error = null;
        var parts = verifierKey.Trim().Split('+', 3); // base64 may itself contain '+'
        byte[] key;
        try { key = parts.Length == 3 ? Convert.FromBase64String(parts[2]) : []; }
        catch (FormatException) { key = []; }
        if (parts.Length != 3 || key.Length != 33 || key[0] != Ed25519Type)
        {
            error = "a verifier key is name+keyid+base64(0x01 ‖ Ed25519 public key)";
            return null;
        }
        var publicKey = key[1..];
        if (!string.Equals(parts[1], Convert.ToHexStringLower(KeyId(parts[0], publicKey)), StringComparison.OrdinalIgnoreCase))
        {
            error = "the verifier key's ID does not match its name and public key";
            return null;
        }
        return (parts[0], publicKey);
    }

    /// <summary>
    /// The note's text when one of its signatures is by <paramref name="verifierKey"/> and verifies; otherwise null and
    /// why. Signatures by other keys are ignored, as the specification asks.
    /// </summary>
    public static string? Open(string note, string verifierKey, out string? error)
    {
        var key = ParseVerifierKey(verifierKey, out error);
        if (key is not { } parsed) return null;
        var (name, publicKey) = parsed;
        var split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0 || !note.EndsWith('\n'))
        {
            error = "not a signed note: no blank line before the signatures";
            return null;
        }
        var text = note[..(split + 1)];
        var keyId = KeyId(name, publicKey);
        foreach (var line in note[(split + 2)..].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith(SignaturePrefix, StringComparison.Ordinal)) { error = "malformed signature line"; return null; }
            var fields = line[SignaturePrefix.Length..].Split(' ');
            if (fields.Length != 2 || fields[0] != name) continue;
            byte[] blob;
            try { blob = Convert.FromBase64String(fields[1]); }
            catch (FormatException) { error = "malformed signature"; return null; }
            if (blob.Length != 4 + 64 || !blob.AsSpan(0, 4).SequenceEqual(keyId)) continue;
            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(publicKey));
            var message = Encoding.UTF8.GetBytes(text);
            verifier.BlockUpdate(message, 0, message.Length);
            if (verifier.VerifySignature(blob[4..])) return text;
            error = "bad signature";
            return null;
        }
        error ??= $"no signature by {name}";
        return null;
    }
}

/// <summary>The C2SP tlog-checkpoint body (https://c2sp.org/tlog-checkpoint): origin, tree size, base64 root hash.</summary>
public sealed record CheckpointBody(string Origin, long Size, byte[] RootHash)
{
    public string Text => $"{Origin}\n{Size.ToString(CultureInfo.InvariantCulture)}\n{Convert.ToBase64String(RootHash)}\n";

    public static CheckpointBody? Parse(string text)
    {
        var lines = text.Split('\n');
        if (lines.Length < 4 || lines[^1] != "" || lines[0].Length == 0) return null;
        if (!long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size)) return null;
        byte[] root;
        try { root = Convert.FromBase64String(lines[2]); }
        catch (FormatException) { return null; }
        return root.Length == 32 ? new CheckpointBody(lines[0], size, root) : null;
    }
}
