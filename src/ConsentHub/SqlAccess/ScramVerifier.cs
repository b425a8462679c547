using System.Security.Cryptography;
using System.Text;

namespace ConsentHub.SqlAccess;

/// <summary>
/// The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, the format of pg_authid.rolpassword).
/// The hub sends PostgreSQL this instead of the password, so the password itself reaches no server log, statement
/// log or pg_stat_statements: it exists only in the one answer that hands it out.
/// </summary>
public static class ScramVerifier
{
    const int Iterations = 4096;

    public static string For(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        // PostgreSQL applies SASLprep to the password; the hub's passwords are base64url, which SASLprep leaves as they are.
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${Iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }
}
