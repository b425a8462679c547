using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;

namespace ConsentHub.Auth;

/// <summary>Generates credentials and hashes passwords (PBKDF2 through ASP.NET Core Identity's hasher).</summary>
public static class Secrets
{
    static readonly PasswordHasher<object> Hasher = new();
    static readonly object Subject = new();

    /// <summary>A random secret of <paramref name="bytes"/> bytes, base64url without padding.</summary>
    public static string Generate(int bytes = 32) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>A random identifier with a readable prefix, e.g. <c>ss_3f9c…</c>.</summary>
    public static string Identifier(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>SHA-256 as lower-case hex: how the hub fingerprints bodies, link tokens and addresses.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Sha256Hex(string text) => Sha256Hex(System.Text.Encoding.UTF8.GetBytes(text));

    public static string HashPassword(string password) => Hasher.HashPassword(Subject, password);

    public static bool VerifyPassword(string hash, string password) =>
        Hasher.VerifyHashedPassword(Subject, hash, password) != PasswordVerificationResult.Failed;

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
