using System.Security.Cryptography;
using System.Text;
using ConsentHub.Propagation;

namespace ConsentHub.Tests.Propagation;

public sealed class WebhookSignerTests
{
    // The test vector of the Standard Webhooks specification (its reference libraries' tests use the same).
    const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const long SpecTimestamp = 1614265330;
    const string SpecBody = """{"test": 2432232314}""";
    const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    const string Body = """{"commandType":"PROPAGATED","sourceCustomerId":"K-1","consent":[{"category":"OFFERS","flag":true,"description":"Angebote von Müller"}]}""";

    /// <summary>
    /// A receiver's check, written from the spec and not from the production code: drop "whsec_", base64-decode
    /// the rest as the key, HMAC-SHA256 "{id}.{timestamp}.{body}", and accept when any space-separated "v1,"
    /// entry of the header equals its base64.
    /// </summary>
    static bool Verifies(string secret, string id, long timestamp, string body, string header)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(id + "." + timestamp + "." + body));
        foreach (var entry in header.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = entry.IndexOf(',');
            if (comma < 0 || entry[..comma] != "v1")
                continue;
            byte[] given;
            try { given = Convert.FromBase64String(entry[(comma + 1)..]); }
            catch (FormatException) { continue; }
            if (CryptographicOperations.FixedTimeEquals(given, expected))
                return true;
        }
        return false;
    }

    [Fact]
    public void Signature_matches_the_Standard_Webhooks_test_vector()
    {
        Assert.Equal(SpecSignature, WebhookSigner.Sign(SpecSecret, SpecId, SpecTimestamp, SpecBody));
        Assert.True(Verifies(SpecSecret, SpecId, SpecTimestamp, SpecBody, SpecSignature));
    }

    [Fact]
    public void Signature_of_a_new_secret_verifies_and_covers_id_timestamp_and_body()
    {
        var secret = WebhookSigner.NewSecret();

        var header = WebhookSigner.Sign(secret, "msg_1", 1_750_000_000, Body);

        Assert.True(Verifies(secret, "msg_1", 1_750_000_000, Body, header));
        Assert.False(Verifies(secret, "msg_2", 1_750_000_000, Body, header));
        Assert.False(Verifies(secret, "msg_1", 1_750_000_001, Body, header));
        Assert.False(Verifies(secret, "msg_1", 1_750_000_000, Body.Replace("true", "false"), header));
        Assert.False(Verifies(WebhookSigner.NewSecret(), "msg_1", 1_750_000_000, Body, header));
    }

    [Fact]
    public void New_secret_is_whsec_and_base64_of_32_random_bytes()
    {
        var secret = WebhookSigner.NewSecret();

        Assert.StartsWith("whsec_", secret);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        Assert.NotEqual(secret, WebhookSigner.NewSecret());
    }

    [Fact]
    public void New_api_key_is_32_random_bytes_in_base64url()
    {
        var key = WebhookSigner.NewApiKey();

        Assert.Matches("^[A-Za-z0-9_-]{43}$", key);
        Assert.NotEqual(key, WebhookSigner.NewApiKey());
    }

    [Fact]
    public void Rotation_header_carries_a_signature_for_each_secret()
    {
        var previous = WebhookSigner.NewSecret();
        var current = WebhookSigner.NewSecret();

        var header = WebhookSigner.SignatureHeader([current, previous], "msg_1", 1_750_000_000, Body);

        var entries = header.Split(' ');
        Assert.Equal(2, entries.Length);
        Assert.True(Verifies(current, "msg_1", 1_750_000_000, Body, entries[0]));
        Assert.True(Verifies(previous, "msg_1", 1_750_000_000, Body, entries[1]));
        // A receiver holding either secret accepts the whole header.
        Assert.True(Verifies(previous, "msg_1", 1_750_000_000, Body, header));
        Assert.True(Verifies(current, "msg_1", 1_750_000_000, Body, header));
    }

    [Fact]
    public void Signature_header_needs_at_least_one_secret()
    {
        Assert.Throws<ArgumentException>(() => WebhookSigner.SignatureHeader([], "msg_1", 1_750_000_000, Body));
    }

    public static TheoryData<string, string> BadSecrets => new()
    {
        { "", "empty" },
        { "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with \"whsec_\"" },
        { "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with \"whsec_\"" },
        { "whsec_not base64 at all!", "base64" },
        { "whsec_" + Convert.ToBase64String(new byte[16]), "24 to 64 bytes; it is 16" },
        { "whsec_" + Convert.ToBase64String(new byte[65]), "24 to 64 bytes; it is 65" },
    };

    [Theory]
    [MemberData(nameof(BadSecrets))]
    public void Malformed_secret_is_refused_with_a_reason_that_does_not_echo_it(string secret, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => WebhookSigner.Sign(secret, "msg_1", 1_750_000_000, Body));

        Assert.Contains(reason, error.Message);
        if (secret.Length > 0)
            Assert.DoesNotContain(secret, error.Message);
    }
}
