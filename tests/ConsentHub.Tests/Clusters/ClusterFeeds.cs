using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Clusters;

public sealed record ClusterFeedCredentials(long Id, string Nmsc, string Name, string ClientId, string ClientSecret);

/// <summary>Intent methods for cluster feeds: registering one, calling as it, and writing a cluster.</summary>
public static class ClusterFeeds
{
    /// <summary>Creates the organisation when missing and registers a cluster feed for it.</summary>
    public static async Task<ClusterFeedCredentials> RegisterAsync(HubApp app, string nmsc, string name = "consumer-domain")
    {
        using var admin = await app.AdminAsync();
        (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).EnsureSuccessStatusCode();
        var response = await admin.PostAsJsonAsync("/admin/cluster-feeds", new { nmsc, name });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonSerializer.Deserialize<ClusterFeedCredentials>(body, JsonSerializerOptions.Web)!;
    }

    /// <summary>An HttpClient carrying the feed's client_credentials token.</summary>
    public static async Task<HttpClient> AsAsync(HubApp app, ClusterFeedCredentials feed) =>
        app.WithToken(await app.TokenAsync(feed.ClientId, feed.ClientSecret, new() { ["grant_type"] = "client_credentials" }));

    public static string Path(string nmsc, string clusterId) => $"/nmscs/{nmsc}/clusters/{Uri.EscapeDataString(clusterId)}";

    public static object Member(string context, string sourceSystem, string sourceCustomerId) => new { context, sourceSystem, sourceCustomerId };

    public static Task<HttpResponseMessage> PutAsync(HttpClient client, string nmsc, string clusterId, params object[] members) =>
        client.PutAsJsonAsync(Path(nmsc, clusterId), new { members });
}
