using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ConsentHub.Tests.Bulk;

public sealed record DpoCredentials(string Username, string Password, string Role, string Context, string? Nmsc);

/// <summary>Intent methods for the DPO tests: create a DPO through the admin API, sign in through the login form.</summary>
public static partial class Dpos
{
    [GeneratedRegex("""name="__RequestVerificationToken" value="([^"]+)""")]
    private static partial Regex AntiforgeryField();

    public static async Task<DpoCredentials> CreateAsync(HubApp app, string role, string context, string? nmsc)
    {
        using var admin = await app.AdminAsync();
        var username = HubApp.Unique("dpo");
        var response = await admin.PostAsJsonAsync("/admin/users", new { username, role, context, nmsc });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        var password = JsonNode.Parse(body)!["password"]!.GetValue<string>();
        return new DpoCredentials(username, password, role, context, nmsc);
    }

    /// <summary>A client that keeps cookies and does not follow redirects, as a browser's session would, minus the browser.</summary>
    public static HttpClient Browserless(HubApp app) =>
        app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>The antiforgery token in a page's form.</summary>
    public static string FormToken(string html) => WebUtility.HtmlDecode(AntiforgeryField().Match(html) is { Success: true } m
        ? m.Groups[1].Value
        : throw new Xunit.Sdk.XunitException("no antiforgery field in the page"));

    /// <summary>Loads the login page and posts the form with its token.</summary>
    public static async Task<HttpResponseMessage> PostLoginAsync(HttpClient client, string username, string password)
    {
        var page = await client.GetAsync("/dpo/login");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var token = FormToken(await page.Content.ReadAsStringAsync());
        return await client.PostAsync("/dpo/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["username"] = username, ["password"] = password,
        }));
    }

    /// <summary>A client signed in as the DPO.</summary>
    public static async Task<HttpClient> SignInAsync(HubApp app, DpoCredentials dpo)
    {
        var client = Browserless(app);
        var response = await PostLoginAsync(client, dpo.Username, dpo.Password);
        Assert.True(response.StatusCode == HttpStatusCode.SeeOther, $"sign-in: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("/dpo", response.Headers.Location?.OriginalString);
        return client;
    }
}
