using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConsentHub.Tests.Infrastructure;
using MimeKit;

namespace ConsentHub.Tests.Preferences;

/// <summary>Steps of the preference-centre tests: records with an address, the link in an email, and the pages' forms.</summary>
public static partial class PreferenceSteps
{
    [GeneratedRegex(@"https?://[^\s""<>]+(/preferences/link/[A-Za-z0-9_-]{40,})")]
    private static partial Regex Link();

    [GeneratedRegex(@"<form [^>]*action=""([^""]+)""[^>]*>(.*?)</form>", RegexOptions.Singleline)]
    private static partial Regex FormTag();

    [GeneratedRegex(@"<input ([^>]*)>")]
    private static partial Regex InputTag();

    [GeneratedRegex(@"(\w[\w-]*)(?:=""([^""]*)"")?")]
    private static partial Regex Attribute();

    public static Dictionary<string, string?> Settings(SmtpListener smtp, string publicBaseUrl = "http://localhost") => new()
    {
        ["ConsentHub:Smtp:Host"] = "127.0.0.1",
        ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(),
        ["ConsentHub:Smtp:TlsMode"] = "None",
        ["ConsentHub:Validation:PublicBaseUrl"] = publicBaseUrl,
        ["ConsentHub:Validation:PollSeconds"] = "1",
    };

    /// <summary>A validated change of one consent (and optionally one channel) for a record that carries <paramref name="email"/>.</summary>
    public static JsonObject Change(string code, bool flag, string email, string requested = "2024-01-01T10:00:00Z", string? channel = null, bool validated = true)
    {
        var body = Seed.Consent(code, flag, requested, validated);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        if (channel is not null)
            body["channel"] = new JsonObject
            {
                ["channelAttributes"] = new JsonArray(new JsonObject { ["channelCode"] = channel, ["channelFlag"] = true, ["requestedTimestamp"] = requested }),
            };
        return body;
    }

    public static async Task SubmitAsync(HubApp app, SourceSystemCredentials system, string customerId, JsonObject body)
    {
        using var client = await app.AsAsync(system);
        var response = await HubApp.SubmitAsync(client, system, customerId, body);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The path of the preference-centre link in a message (the page's link, or the foot of another email).</summary>
    public static string LinkPath(MimeMessage message)
    {
        var match = Link().Match(message.TextBody ?? "");
        Assert.True(match.Success, $"no preference-centre link in: {message.TextBody}");
        return match.Groups[1].Value;
    }

    /// <summary>
    /// The fields a browser would send from the form posting to <paramref name="action"/> (the first one with a button of
    /// that <paramref name="button"/> value, if given): hidden inputs, ticked boxes, an address typed in.
    /// </summary>
    public static List<KeyValuePair<string, string>> FormFields(string html, string action, string? button = null)
    {
        foreach (Match form in FormTag().Matches(html))
        {
            if (WebUtility.HtmlDecode(form.Groups[1].Value) != action) continue;
            if (button is not null && !form.Groups[2].Value.Contains($"value=\"{button}\"", StringComparison.Ordinal)) continue;
            var fields = new List<KeyValuePair<string, string>>();
            foreach (Match input in InputTag().Matches(form.Groups[2].Value))
            {
                var attributes = Attribute().Matches(input.Groups[1].Value)
                    .ToDictionary(a => a.Groups[1].Value, a => WebUtility.HtmlDecode(a.Groups[2].Value));
                if (!attributes.TryGetValue("name", out var name)) continue;
                var type = attributes.GetValueOrDefault("type", "text");
                if (type == "checkbox" && !attributes.ContainsKey("checked")) continue;
                fields.Add(new(name, attributes.GetValueOrDefault("value", "")));
            }
            if (button is not null) fields.Add(new("action", button));
            return fields;
        }
        throw new Xunit.Sdk.XunitException($"no form posting to {action}{(button is null ? "" : $" with button {button}")} in the page");
    }

    /// <summary>Asks for a link on the page as a person would: the form, then the post. Returns the answer.</summary>
    public static async Task<HttpResponseMessage> AskForLinkAsync(HttpClient person, string email, string? language = null)
    {
        var page = await person.GetAsync(language is null ? "/preferences" : $"/preferences?lang={language}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var fields = FormFields(await page.Content.ReadAsStringAsync(), "/preferences").Where(f => f.Key != "email").Append(new("email", email));
        return await person.PostAsync("/preferences", new FormUrlEncodedContent(fields));
    }

    /// <summary>Opens a link (its page, then its button) and follows to the choices page; returns that page's HTML.</summary>
    public static async Task<string> OpenAsync(HttpClient person, string linkPath)
    {
        var page = await person.GetAsync(linkPath);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var opened = await person.PostAsync(linkPath, new FormUrlEncodedContent(FormFields(await page.Content.ReadAsStringAsync(), linkPath)));
        Assert.Equal(HttpStatusCode.SeeOther, opened.StatusCode);
        Assert.Equal("/preferences/choices", opened.Headers.Location!.OriginalString);
        var choices = await person.GetAsync("/preferences/choices");
        Assert.Equal(HttpStatusCode.OK, choices.StatusCode);
        return await choices.Content.ReadAsStringAsync();
    }

    /// <summary>A client that keeps cookies and does not follow redirects, like a browser whose steps the test takes one by one.</summary>
    public static HttpClient Person(HubApp app) =>
        app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true, AllowAutoRedirect = false });
}
