using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace ConsentHub.Data;

/// <summary>
/// <c>ConsentHub:DataProtection</c>: the certificate whose key encrypts the Data Protection key ring. The key ring lives
/// in the database (so every instance shares it) and protects the hub's secrets there; a copy of the database alone must
/// not open them, so the key-encryption key lives outside it, in a PKCS#12 file.
/// </summary>
public sealed class KeyRingOptions
{
    public const string Section = "ConsentHub:DataProtection";
    public const string DefaultFileName = "data-protection.pfx";

    /// <summary>
    /// The PKCS#12 (.pfx) file; default <c>data-protection.pfx</c> in the data directory. A missing file is generated
    /// (self-signed RSA 3072, owner-only). Every instance on one database must point at the same certificate.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>The file's password, if it has one (a generated file has none; it is protected by its permissions).</summary>
    public string? CertificatePassword { get; set; }
}

public static class KeyRingProtection
{
    /// <summary>Shares the key ring through the database and encrypts every key written to it with the certificate.</summary>
    public static IServiceCollection AddKeyRingProtection(this IServiceCollection services)
    {
        services.AddOptions<KeyRingOptions>().BindConfiguration(KeyRingOptions.Section);
        services.AddDataProtection().SetApplicationName("ConsentHub").PersistKeysToDbContext<ConsentDb>();
        services.AddSingleton<KeyRingCertificate>();
        services.AddOptions<KeyManagementOptions>().Configure<KeyRingCertificate>((o, certificate) => o.XmlEncryptor = new KeyRingEncryptor(certificate));
        return services;
    }

    public sealed class KeyRingCertificate(IOptions<KeyRingOptions> options, IOptions<HubOptions> hub, ILogger<KeyRingCertificate> logger)
    {
        readonly Lazy<X509Certificate2> certificate = new(() => LoadOrCreate(options.Value, hub.Value, logger));

        public X509Certificate2 Value => certificate.Value;
    }

    static X509Certificate2 LoadOrCreate(KeyRingOptions options, HubOptions hub, ILogger logger)
    {
        var path = Path.GetFullPath(options.CertificatePath is { Length: > 0 } configured
            ? configured
            : Path.Combine(hub.DataDirectory, KeyRingOptions.DefaultFileName));
        if (!File.Exists(path)) Create(path, options.CertificatePassword, logger);
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException(
                $"{KeyRingOptions.Section}:CertificatePath '{path}' cannot be read as a PKCS#12 file with the given password: {e.Message}", e);
        }
        if (!certificate.HasPrivateKey || certificate.GetRSAPrivateKey() is null)
            throw new InvalidOperationException($"{KeyRingOptions.Section}:CertificatePath '{path}' holds no RSA private key.");
        return certificate;
    }

    static void Create(string path, string? password, ILogger logger)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var rsa = RSA.Create(3072);
        var request = new CertificateRequest("CN=ConsentHub key ring", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment, critical: true));
        var now = DateTimeOffset.UtcNow;
        // Expiry does not stop a certificate from decrypting; the long validity only avoids alarming readers of it.
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(100));
        var bytes = certificate.Export(X509ContentType.Pkcs12, password);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var file = new FileStream(path, fileOptions);
            file.Write(bytes);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another instance sharing the directory wrote it first: use theirs.
            return;
        }
        logger.LogInformation("Generated the key ring certificate {Path}; back it up apart from the database, and give every instance on this database the same one", path);
    }
}

/// <summary>
/// Encrypts a key's secret element for the key ring: a fresh AES-256-GCM key seals the element's XML, and the
/// certificate's RSA key wraps that key (OAEP with SHA-256). The element records the certificate's thumbprint, so a
/// missing or wrong certificate is named when the ring cannot be read.
/// </summary>
public sealed class KeyRingEncryptor(KeyRingProtection.KeyRingCertificate certificate) : IXmlEncryptor
{
    internal const string ElementName = "keyRingSealed";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var cert = certificate.Value;
        using var rsa = cert.GetRSAPublicKey()!;
        var key = RandomNumberGenerator.GetBytes(32);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var plaintext = System.Text.Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];
        using (var aes = new AesGcm(key, tag.Length)) aes.Encrypt(nonce, plaintext, ciphertext, tag);
        CryptographicOperations.ZeroMemory(plaintext);
        var sealedElement = new XElement(ElementName,
            new XAttribute("certificate", cert.Thumbprint),
            new XElement("wrappedKey", Convert.ToBase64String(rsa.Encrypt(key, RSAEncryptionPadding.OaepSHA256))),
            new XElement("nonce", Convert.ToBase64String(nonce)),
            new XElement("ciphertext", Convert.ToBase64String(ciphertext)),
            new XElement("tag", Convert.ToBase64String(tag)));
        CryptographicOperations.ZeroMemory(key);
        return new EncryptedXmlInfo(sealedElement, typeof(KeyRingDecryptor));
    }
}

/// <summary>Opens what <see cref="KeyRingEncryptor"/> sealed. Data Protection creates it by type, with the service provider.</summary>
public sealed class KeyRingDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var cert = services.GetRequiredService<KeyRingProtection.KeyRingCertificate>().Value;
        var thumbprint = (string?)encryptedElement.Attribute("certificate");
        if (!string.Equals(thumbprint, cert.Thumbprint, StringComparison.OrdinalIgnoreCase))
            throw new CryptographicException(
                $"A key of the key ring was encrypted with certificate {thumbprint}, but {KeyRingOptions.Section}:CertificatePath holds {cert.Thumbprint}: " +
                "every instance on one database needs the same certificate.");
        byte[] Read(string name) => Convert.FromBase64String((string?)encryptedElement.Element(name) ?? throw new CryptographicException($"The sealed key has no {name}."));
        using var rsa = cert.GetRSAPrivateKey()!;
        var key = rsa.Decrypt(Read("wrappedKey"), RSAEncryptionPadding.OaepSHA256);
        var ciphertext = Read("ciphertext");
        var plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(key, 16);
            aes.Decrypt(Read("nonce"), ciphertext, Read("tag"), plaintext);
            return XElement.Parse(System.Text.Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
