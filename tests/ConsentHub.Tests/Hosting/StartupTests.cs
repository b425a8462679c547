using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Tests.Hosting;

/// <summary>Issue 14 §7.8: a first start alarms nobody, and the Data Protection key ring is encrypted at rest.</summary>
public sealed class StartupTests
{
    [ProviderTheory, Providers]
    public async Task A_first_start_logs_no_warning_and_stores_the_key_ring_encrypted_with_a_certificate_outside_the_database(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, freshCertificate: true);
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health")).StatusCode);

        // Every migration applied in its transaction (no PRAGMA outside it), and no key written in clear.
        var alarming = app.Logs.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)
            || l.StartsWith("Critical", StringComparison.Ordinal)).ToList();
        Assert.True(alarming.Count == 0, string.Join("\n", alarming));
        using var scope = app.Scope();
        Assert.Contains(await app.Db(scope).Database.GetAppliedMigrationsAsync(), m => m.EndsWith("_SealedPersonalData", StringComparison.Ordinal));
        var keys = await app.Db(scope).DataProtectionKeys.AsNoTracking().ToListAsync();
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            Assert.Contains("keyRingSealed", key.Xml, StringComparison.Ordinal);
            Assert.DoesNotContain("masterKey", key.Xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<value>", key.Xml, StringComparison.Ordinal);
        }
        var certificate = Path.Combine(app.DataDirectory, "data-protection.pfx");
        Assert.True(File.Exists(certificate), certificate);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(certificate));
    }

    [ProviderTheory, Providers]
    public async Task Instances_with_the_same_certificate_share_the_key_ring_and_one_with_another_certificate_cannot_start(DatabaseProvider provider)
    {
        await using var first = await HubApp.StartAsync(provider);
        var crm = await first.RegisterSourceSystemAsync("tgb", "toyota", "crm");

        // The second instance opens the ledger signing key and the blind-index key that the first protected.
        await using (var second = first.SecondInstance())
        {
            using var client = await second.AsAsync(crm);
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true))).StatusCode);
            Assert.DoesNotContain(second.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal));
        }

        var elsewhere = Directory.CreateTempSubdirectory("consenthub-cert-").FullName;
        try
        {
            var refused = Assert.ThrowsAny<Exception>(() =>
                first.SecondInstance(new() { ["ConsentHub:DataProtection:CertificatePath"] = Path.Combine(elsewhere, "other.pfx") }));
            Assert.Contains("same certificate", refused.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
