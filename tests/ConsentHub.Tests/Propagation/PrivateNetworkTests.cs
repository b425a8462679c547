using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using ConsentHub.Data;
using ConsentHub.Propagation;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Propagation;

/// <summary>Destinations in private networks are refused unless the operator allow-lists the network, at registration and at connection.</summary>
public sealed class PrivateNetworkTests
{
    static readonly IReadOnlyList<IPNetwork> None = [];
    static readonly IReadOnlyList<IPNetwork> Allowed = [IPNetwork.Parse("10.20.0.0/16"), IPNetwork.Parse("fd12:3456::/32")];

    public static TheoryData<string, bool> Addresses => new()
    {
        // address, refused without an allow-list
        { "10.0.0.1", true }, { "10.255.255.255", true }, { "172.16.0.1", true }, { "172.31.255.254", true }, { "192.168.1.1", true },
        { "100.64.0.1", true }, { "100.127.255.254", true }, { "fc00::1", true }, { "fd12:3456::1", true }, { "::ffff:192.168.1.1", true },
        // just outside
        { "11.0.0.1", false }, { "172.15.255.255", false }, { "172.32.0.1", false }, { "192.169.0.1", false }, { "100.63.255.255", false },
        { "100.128.0.1", false }, { "fe00::1", false }, { "93.184.215.14", false },
    };

    [Theory, MemberData(nameof(Addresses))]
    public void Private_addresses_are_refused_and_their_neighbours_are_not(string address, bool refused)
    {
        var refusal = DestinationUris.AddressRefusal(IPAddress.Parse(address), allowInsecureLoopback: false, None);
        if (refused) Assert.Contains("private network", refusal);
        else Assert.Null(refusal);
    }

    [Fact]
    public void An_allow_listed_network_is_accepted_and_nothing_else_is()
    {
        Assert.Null(DestinationUris.AddressRefusal(IPAddress.Parse("10.20.3.4"), false, Allowed));
        Assert.Null(DestinationUris.AddressRefusal(IPAddress.Parse("fd12:3456:1::9"), false, Allowed));
        Assert.Contains("private network", DestinationUris.AddressRefusal(IPAddress.Parse("10.21.0.1"), false, Allowed));
        Assert.Contains("private network", DestinationUris.AddressRefusal(IPAddress.Parse("192.168.0.1"), false, Allowed));
        // Allow-listing a whole range never opens what is refused for another reason.
        IReadOnlyList<IPNetwork> everything = [IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("169.254.0.0/16")];
        Assert.Contains("cloud metadata", DestinationUris.AddressRefusal(IPAddress.Parse("100.100.100.200"), false, everything));
        Assert.Contains("cloud metadata", DestinationUris.AddressRefusal(IPAddress.Parse("fd00:ec2::254"), false, everything));
        Assert.Contains("link-local", DestinationUris.AddressRefusal(IPAddress.Parse("169.254.1.1"), false, everything));
        // Loopback keeps its own rule.
        Assert.Null(DestinationUris.AddressRefusal(IPAddress.Loopback, allowInsecureLoopback: true, None));
        Assert.Contains("loopback", DestinationUris.AddressRefusal(IPAddress.Loopback, allowInsecureLoopback: false, None));
    }

    [Fact]
    public async Task A_name_resolving_into_a_private_network_is_refused_unless_allowed()
    {
        static Task<IPAddress[]> Resolve(string host, CancellationToken ct) => host switch
        {
            "intranet.example.net" => Task.FromResult(new[] { IPAddress.Parse("10.20.0.5") }),
            "mixed.example.net" => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14"), IPAddress.Parse("192.168.7.7") }),
            _ => Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound)),
        };

        Assert.Equal("the host resolves to 10.20.0.5, is in a private network (allow it with ConsentHub:Propagation:AllowedPrivateNetworks)",
            await DestinationUris.ResolvedRefusalAsync("https://intranet.example.net/hook", false, None, Resolve, CancellationToken.None));
        Assert.Null(await DestinationUris.ResolvedRefusalAsync("https://intranet.example.net/hook", false, Allowed, Resolve, CancellationToken.None));
        Assert.Contains("192.168.7.7", await DestinationUris.ResolvedRefusalAsync("https://mixed.example.net/hook", false, Allowed, Resolve, CancellationToken.None));
        Assert.Contains("private network", DestinationUris.Refusal("https://[fd00::5]/hook", false, None));
    }

    [Fact]
    public async Task At_delivery_the_hub_never_connects_to_a_private_address_that_is_not_allowed()
    {
        // Checked when connecting, after any DNS answer: a name that resolved elsewhere at registration cannot lead here.
        var refused = await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await PropagationDispatcher.ConnectAsync(new DnsEndPoint("192.168.255.254", 443), false, None, CancellationToken.None));
        Assert.Contains("refused to connect", refused.Message);
        Assert.Contains("private network", refused.Message);
        var notAllowed = await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await PropagationDispatcher.ConnectAsync(new DnsEndPoint("10.21.0.1", 443), false, Allowed, CancellationToken.None));
        Assert.Contains("private network", notAllowed.Message);
    }

    [ProviderTheory, Providers]
    public async Task Registering_a_private_destination_is_refused_with_problem_details_unless_the_network_is_configured(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:Propagation:AllowedPrivateNetworks:0"] = "10.20.0.0/16" });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);

        var refused = await client.PutAsJsonAsync(Propagations.DestinationPath(crm), new { uri = "https://192.168.10.1/hook", version = "1.0" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        var violation = (await Json.ReadAsync(refused))["violations"]![0]!;
        Assert.Equal(("uri", "destination-uri"), (violation["field"]!.GetValue<string>(), violation["rule"]!.GetValue<string>()));
        Assert.Contains("private network", violation["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(Propagations.DestinationPath(crm))).StatusCode);

        var allowed = await client.PutAsJsonAsync(Propagations.DestinationPath(crm), new { uri = "https://10.20.0.5/hook", version = "1.0" });
        Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
    }
}
