using System.Net;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.OperatorConsole;

/// <summary>Intent methods for the console tests: sign in through the console's login form, as a browser would, minus the browser.</summary>
public static class Operators
{
    /// <summary>Loads the console's login page and posts the form with its token.</summary>
    public static async Task<HttpResponseMessage> PostLoginAsync(HttpClient client, string username, string password)
    {
        var page = await client.GetAsync("/console/login");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var token = Dpos.FormToken(await page.Content.ReadAsStringAsync());
        return await client.PostAsync("/console/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["username"] = username, ["password"] = password,
        }));
    }

    /// <summary>A client signed in to the console (cookies kept, redirects not followed).</summary>
    public static async Task<HttpClient> SignInAsync(HubApp app, string username, string password)
    {
        var client = Dpos.Browserless(app);
        var response = await PostLoginAsync(client, username, password);
        Assert.True(response.StatusCode == HttpStatusCode.SeeOther, $"console sign-in: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("/console", response.Headers.Location?.OriginalString);
        return client;
    }

    /// <summary>The admin's console session.</summary>
    public static Task<HttpClient> AdminAsync(HubApp app) => SignInAsync(app, "admin", HubApp.AdminPassword);
}
