using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Tenancy;

public sealed record ApiUserCredentials(string Username, string Nmsc, string? Context, string Password, string ClientId, string ClientSecret);

/// <summary>Intent methods for organisation API users (seed 004 §5.5's NMSC_ROLE).</summary>
public static class ApiUsers
{
    public static async Task<ApiUserCredentials> CreateAsync(HubApp app, string nmsc, string? context = null)
    {
        using var admin = await app.AdminAsync();
        var response = await admin.PostAsJsonAsync($"/admin/organisations/{nmsc}/api-users", context is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["context"] = context });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonSerializer.Deserialize<ApiUserCredentials>(body, JsonSerializerOptions.Web)!;
    }

    /// <summary>An HttpClient carrying a token of the user, from the seed's password grant with its own client.</summary>
    public static async Task<HttpClient> AsAsync(HubApp app, ApiUserCredentials user) =>
        app.WithToken(await app.TokenAsync(user.ClientId, user.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = user.Username, ["password"] = user.Password }));
}
