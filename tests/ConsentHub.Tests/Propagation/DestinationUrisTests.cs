using System.Net;
using System.Net.Sockets;
using ConsentHub.Propagation;

namespace ConsentHub.Tests.Propagation;

public sealed class DestinationUrisTests
{
    const string PublicIp = "93.184.215.14";

    // A name server of our own, so the table does not depend on the machine's network.
    static readonly Dictionary<string, string[]> Zone = new(StringComparer.OrdinalIgnoreCase)
    {
        ["crm.example.com"] = [PublicIp],
        ["crm-v6.example.com"] = ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        ["evil.example.net"] = ["169.254.169.254"],
        ["mapped.example.net"] = ["::ffff:169.254.169.254"],
        ["mixed.example.net"] = [PublicIp, "169.254.10.10"],
        ["internal.example.net"] = ["127.0.0.1"],
        ["zero.example.net"] = ["0.0.0.0"],
    };

    static Task<IPAddress[]> Resolve(string host, CancellationToken ct) =>
        Zone.TryGetValue(host, out var addresses)
            ? Task.FromResult(addresses.Select(IPAddress.Parse).ToArray())
            : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));

    public static TheoryData<string, bool, string?> Table => new()
    {
        // accepted
        { "https://crm.example.com/consent-hook", false, null },
        { "https://CRM.example.com.:8443/hooks?nmsc=de", false, null },
        { "https://crm-v6.example.com/hook", false, null },
        { $"https://{PublicIp}/hook", false, null },
        { "http://127.0.0.1:5001/hook", true, null },
        { "http://localhost:5001/hook", true, null },
        { "http://[::1]:5001/hook", true, null },
        { "https://internal.example.net/hook", true, null },
        // loopback only with the flag
        { "http://127.0.0.1:5001/hook", false, "the host is a loopback address" },
        { "https://localhost/hook", false, "the host is a loopback address" },
        { "http://[::1]/hook", false, "the host is a loopback address" },
        { "https://internal.example.net/hook", false, "the host resolves to 127.0.0.1, is a loopback address" },
        // https everywhere else
        { "http://crm.example.com/hook", false, "must use https" },
        { "http://crm.example.com/hook", true, "must use https" },
        { "ftp://crm.example.com/hook", false, "must use https, not ftp" },
        { "file:///etc/passwd", true, "must use https, not file" },
        // not an absolute URI, or with what the hub does not send
        { "/hooks/consent", false, "must be absolute" },
        { "hooks/consent", false, "must be absolute" },
        { "", false, "empty" },
        { "https://user:secret@crm.example.com/hook", false, "must not contain user info" },
        { "https://crm.example.com/" + new string('a', 2000), false, "longer than 2000 characters" },
        // cloud metadata, in the spellings System.Uri turns into 169.254.169.254
        { "http://169.254.169.254/latest/meta-data/", true, "cloud metadata" },
        { "https://169.254.169.254/", false, "cloud metadata" },
        { "http://[::ffff:169.254.169.254]/", true, "cloud metadata" },
        { "http://[::ffff:a9fe:a9fe]/", true, "cloud metadata" },
        { "http://[64:ff9b::a9fe:a9fe]/", true, "cloud metadata" },
        { "http://2852039166/", true, "cloud metadata" },
        { "http://0xA9FEA9FE/", true, "cloud metadata" },
        { "http://0251.0376.0251.0376/", true, "cloud metadata" },
        { "https://[fd00:ec2::254]/", false, "cloud metadata" },
        { "https://100.100.100.200/", false, "cloud metadata" },
        { "https://metadata.google.internal/computeMetadata/v1/", false, "cloud metadata" },
        { "https://evil.example.net/hook", false, "the host resolves to 169.254.169.254, is a cloud metadata address" },
        { "https://mapped.example.net/hook", false, "is a cloud metadata address" },
        // link-local, unspecified, multicast
        { "https://169.254.1.1/", false, "link-local" },
        { "https://[fe80::1]/", false, "link-local" },
        { "https://[fe80::1%25eth0]/", false, "link-local" },
        { "https://mixed.example.net/hook", false, "the host resolves to 169.254.10.10, is a link-local address" },
        { "https://0.0.0.0/", false, "unspecified" },
        { "http://0/", true, "unspecified" },
        { "https://[::]/", false, "unspecified" },
        { "https://zero.example.net/", false, "unspecified" },
        { "https://224.0.0.1/", false, "multicast" },
        { "https://[ff02::1]/", false, "multicast" },
        { "https://255.255.255.255/", false, "broadcast" },
        // names that do not resolve
        { "https://nowhere.example.org/hook", false, "the host does not resolve" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public async Task Destination_is_accepted_or_refused_with_its_reason(string uri, bool allowInsecureLoopback, string? reason)
    {
        var refusal = await DestinationUris.ResolvedRefusalAsync(uri, allowInsecureLoopback, Resolve, CancellationToken.None);

        if (reason is null)
            Assert.Null(refusal);
        else
            Assert.Contains(reason, refusal);
    }

    [Fact]
    public void Without_resolving_a_name_is_judged_by_how_it_is_written()
    {
        Assert.Null(DestinationUris.Refusal("https://evil.example.net/hook", allowInsecureLoopback: false));
        Assert.Contains("cloud metadata", DestinationUris.Refusal("http://2852039166/", allowInsecureLoopback: true));
    }

    [Fact]
    public async Task Ip_literals_and_localhost_are_not_sent_to_the_resolver()
    {
        var asked = new List<string>();
        Task<IPAddress[]> Recording(string host, CancellationToken ct)
        {
            asked.Add(host);
            return Resolve(host, ct);
        }

        Assert.Null(await DestinationUris.ResolvedRefusalAsync($"https://{PublicIp}/", false, Recording, CancellationToken.None));
        Assert.Null(await DestinationUris.ResolvedRefusalAsync("http://localhost:5001/", true, Recording, CancellationToken.None));
        Assert.Null(await DestinationUris.ResolvedRefusalAsync("https://crm.example.com./", false, Recording, CancellationToken.None));

        Assert.Equal(["crm.example.com"], asked);
    }

    [Fact]
    public async Task A_resolver_returning_nothing_is_a_host_that_does_not_resolve()
    {
        var refusal = await DestinationUris.ResolvedRefusalAsync(
            "https://crm.example.com/", false, (_, _) => Task.FromResult(Array.Empty<IPAddress>()), CancellationToken.None);

        Assert.Equal("the host does not resolve", refusal);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_mistaken_for_a_host_that_does_not_resolve()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DestinationUris.ResolvedRefusalAsync(
            "https://crm.example.com/", false, (_, ct) => Task.FromCanceled<IPAddress[]>(ct), cancelled.Token));
    }
}
