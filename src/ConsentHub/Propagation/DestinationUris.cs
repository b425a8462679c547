using System.Net;
using System.Net.Sockets;

namespace ConsentHub.Propagation;

/// <summary>
/// Which webhook URIs a source system may register as its destination. The hub calls these URIs from inside its
/// own network, so a URI that reaches link-local, cloud metadata or local services would turn it into a proxy
/// for whoever registers one (SSRF).
/// </summary>
public static class DestinationUris
{
    public const int MaxLength = 2000;

    static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, Azure, GCP, OpenStack …
        IPAddress.Parse("fd00:ec2::254"),   // AWS over IPv6
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud
    ];

    static readonly string[] MetadataHostNames = ["metadata.google.internal", "metadata"];

    /// <summary>
    /// Private networks (RFC 1918, carrier-grade NAT of RFC 6598, IPv6 unique local addresses): the hub's own surroundings.
    /// A destination may point into one only when the operator allow-lists it (ConsentHub:Propagation:AllowedPrivateNetworks).
    /// </summary>
    public static readonly IReadOnlyList<IPNetwork> PrivateNetworks =
        [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("fc00::/7")];

    /// <summary>Null when <paramref name="uri"/> is acceptable as written; otherwise why not, in words for the caller.</summary>
    public static string? Refusal(string uri, bool allowInsecureLoopback) => Refusal(uri, allowInsecureLoopback, []);

    /// <inheritdoc cref="Refusal(string, bool)"/>
    /// <param name="allowedPrivateNetworks">The private networks the operator allows destinations in.</param>
    public static string? Refusal(string uri, bool allowInsecureLoopback, IReadOnlyList<IPNetwork> allowedPrivateNetworks)
    {
        if (string.IsNullOrWhiteSpace(uri))
            return "the destination URI is empty";
        if (uri.Length > MaxLength)
            return $"the destination URI is longer than {MaxLength} characters";
        // On Unix "/path" parses as an absolute file URI; it is still a relative reference to the person who wrote it.
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || uri.StartsWith('/'))
            return "the destination URI must be absolute, such as https://crm.example.com/consent-hook";
        if (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp)
            return $"the destination URI must use https, not {parsed.Scheme}";
        if (parsed.UserInfo.Length > 0)
            return "the destination URI must not contain user info; the hub authenticates with the api-key header and the signature";
        if (parsed.Host.Length == 0)
            return "the destination URI has no host";

        var host = HostOf(parsed);
        bool loopback;
        if (IPAddress.TryParse(host, out var address))
        {
            if (AddressRefusal(address, allowInsecureLoopback, allowedPrivateNetworks) is { } refusal)
                return $"the host {refusal}";
            loopback = IPAddress.IsLoopback(Unmapped(address));
        }
        else
        {
            if (MetadataHostNames.Contains(host, StringComparer.OrdinalIgnoreCase))
                return "the host is a cloud metadata service";
            loopback = IsLocalhostName(host);
            if (loopback && !allowInsecureLoopback)
                return "the host is a loopback address";
        }

        if (parsed.Scheme == Uri.UriSchemeHttp && !(loopback && allowInsecureLoopback))
            return "the destination URI must use https";
        return null;
    }

    /// <summary>
    /// <see cref="Refusal"/>, and also the addresses a host name resolves to: a name is refused when any of them is
    /// (a name pointing at 169.254.169.254 is as dangerous as the literal).
    /// </summary>
    public static Task<string?> ResolvedRefusalAsync(
        string uri, bool allowInsecureLoopback, Func<string, CancellationToken, Task<IPAddress[]>> resolve, CancellationToken ct) =>
        ResolvedRefusalAsync(uri, allowInsecureLoopback, [], resolve, ct);

    /// <inheritdoc cref="ResolvedRefusalAsync(string, bool, Func{string, CancellationToken, Task{IPAddress[]}}, CancellationToken)"/>
    public static async Task<string?> ResolvedRefusalAsync(
        string uri, bool allowInsecureLoopback, IReadOnlyList<IPNetwork> allowedPrivateNetworks,
        Func<string, CancellationToken, Task<IPAddress[]>> resolve, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        if (Refusal(uri, allowInsecureLoopback, allowedPrivateNetworks) is { } refusal)
            return refusal;
        var host = HostOf(new Uri(uri, UriKind.Absolute));
        if (IPAddress.TryParse(host, out _) || IsLocalhostName(host))
            return null;

        IPAddress[] addresses;
        try
        {
            addresses = await resolve(host, ct);
        }
        catch (Exception e) when (e is SocketException or ArgumentException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return "the host does not resolve";
        }
        if (addresses.Length == 0)
            return "the host does not resolve";
        foreach (var address in addresses)
        {
            if (AddressRefusal(address, allowInsecureLoopback, allowedPrivateNetworks) is { } addressRefusal)
                return $"the host resolves to {address}, {addressRefusal}";
        }
        return null;
    }

    /// <inheritdoc cref="ResolvedRefusalAsync(string, bool, Func{string, CancellationToken, Task{IPAddress[]}}, CancellationToken)"/>
    public static Task<string?> ResolvedRefusalAsync(string uri, bool allowInsecureLoopback, CancellationToken ct) =>
        ResolvedRefusalAsync(uri, allowInsecureLoopback, [], Dns.GetHostAddressesAsync, ct);

    /// <inheritdoc cref="ResolvedRefusalAsync(string, bool, Func{string, CancellationToken, Task{IPAddress[]}}, CancellationToken)"/>
    public static Task<string?> ResolvedRefusalAsync(string uri, bool allowInsecureLoopback, IReadOnlyList<IPNetwork> allowedPrivateNetworks, CancellationToken ct) =>
        ResolvedRefusalAsync(uri, allowInsecureLoopback, allowedPrivateNetworks, Dns.GetHostAddressesAsync, ct);

    /// <summary>
    /// Null when the hub may connect to <paramref name="address"/>; otherwise what it is ("a link-local address").
    /// The dispatcher can call this again when it connects, because a name may resolve differently by then.
    /// </summary>
    public static string? AddressRefusal(IPAddress address, bool allowInsecureLoopback) => AddressRefusal(address, allowInsecureLoopback, []);

    /// <inheritdoc cref="AddressRefusal(IPAddress, bool)"/>
    public static string? AddressRefusal(IPAddress address, bool allowInsecureLoopback, IReadOnlyList<IPNetwork> allowedPrivateNetworks)
    {
        ArgumentNullException.ThrowIfNull(allowedPrivateNetworks);
        ArgumentNullException.ThrowIfNull(address);
        address = Unmapped(address);
        if (MetadataAddresses.Contains(address))
            return "is a cloud metadata address";
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || IsInIPv4(address, 0, 8))
            return "is an unspecified address";
        if (address.IsIPv6LinkLocal || IsInIPv4(address, 0xA9FE0000, 16))
            return "is a link-local address";
        if (address.IsIPv6Multicast || IsInIPv4(address, 0xE0000000, 4))
            return "is a multicast address";
        if (address.Equals(IPAddress.Broadcast))
            return "is the broadcast address";
        if (IPAddress.IsLoopback(address) && !allowInsecureLoopback)
            return "is a loopback address";
        if (PrivateNetworks.Any(n => n.Contains(address)) && !allowedPrivateNetworks.Any(n => n.Contains(address)))
            return "is in a private network (allow it with ConsentHub:Propagation:AllowedPrivateNetworks)";
        return null;
    }

    // Uri.IdnHost drops the IPv6 brackets and gives the punycode of a name; a trailing dot names the same host.
    static string HostOf(Uri uri) => uri.IdnHost.TrimEnd('.');

    static bool IsLocalhostName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase); // RFC 6761: always loopback

    // ::ffff:169.254.169.254 reaches 169.254.169.254; so does the NAT64 prefix 64:ff9b::/96 where it is routed.
    static IPAddress Unmapped(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            return address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return address;
        var bytes = address.GetAddressBytes();
        if (bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b && bytes.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            return new IPAddress(bytes.AsSpan(12, 4));
        // fd00:ec2::254%eth0 is still the metadata service; compare without the zone.
        return address.ScopeId == 0 ? address : new IPAddress(bytes);
    }

    static bool IsInIPv4(IPAddress address, uint network, int prefixLength)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
            return false;
        var bytes = address.GetAddressBytes();
        var value = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return (value & mask) == network;
    }
}
