using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ConsentHub.Bulk;
using ConsentHub.Data;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Validation;

namespace ConsentHub.Tests.Hosting;

/// <summary>
/// Every HTML form route (and the token endpoint, the other form the hub reads) answers broken, foreign or forged bodies
/// with a 4xx and changes nothing: the antiforgery check reads the whole form, and a form that cannot be read is the
/// client's error, not the hub's.
/// </summary>
public sealed class FormFuzzTests
{
    /// <summary>Bodies a browser would never send, each with a name for the failure message.</summary>
    static IEnumerable<(string Name, Func<HttpContent> Body)> HostileBodies()
    {
        static HttpContent Raw(byte[] bytes, string contentType)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            return content;
        }
        static HttpContent Text(string text, string contentType) => Raw(Encoding.UTF8.GetBytes(text), contentType);

        yield return ("multipart without its closing boundary", () => Text(
            "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nadmin\r\n--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nsecr",
            "multipart/form-data; boundary=XyZ"));
        yield return ("multipart without a boundary parameter", () => Text("--a\r\n\r\nx\r\n--a--\r\n", "multipart/form-data"));
        yield return ("multipart with a broken section header", () => Text(
            "--XyZ\r\nContent-Disposition form-data name username\r\n\u0001\u0002\r\n\r\nx\r\n--XyZ--\r\n", "multipart/form-data; boundary=XyZ"));
        yield return ("multipart with a boundary longer than allowed", () => Text("--x--", "multipart/form-data; boundary=" + new string('b', 200)));
        yield return ("multipart with a 5 MB field", () => Text(
            "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n" + new string('u', 5 * 1024 * 1024) + "\r\n--XyZ--\r\n",
            "multipart/form-data; boundary=XyZ"));
        yield return ("a urlencoded 5 MB field", () => Text("username=" + new string('u', 5 * 1024 * 1024) + "&password=x", "application/x-www-form-urlencoded"));
        yield return ("2,000 urlencoded fields", () => Text(string.Join('&', Enumerable.Range(0, 2000).Select(i => $"f{i}=v")), "application/x-www-form-urlencoded"));
        yield return ("a form without the antiforgery token", () => Text("username=admin&password=secret", "application/x-www-form-urlencoded"));
        yield return ("a forged antiforgery token", () => Text("__RequestVerificationToken=forged&username=admin&password=x", "application/x-www-form-urlencoded"));
        yield return ("a NUL in a field", () => Text("username=ad%00min&password=x", "application/x-www-form-urlencoded"));
        yield return ("JSON", () => Text("""{"username":"admin","password":"x"}""", "application/json"));
        yield return ("plain text", () => Text("username=admin", "text/plain"));
        yield return ("XML", () => Text("<form><username>admin</username></form>", "application/xml"));
        yield return ("no content type", () => new ByteArrayContent(Encoding.UTF8.GetBytes("username=admin")));
        yield return ("garbage bytes as urlencoded", () => Raw(Garbage(1), "application/x-www-form-urlencoded"));
        yield return ("garbage bytes as multipart", () => Raw(Garbage(2), "multipart/form-data; boundary=XyZ"));
        yield return ("garbage bytes with a garbage content type", () => Raw(Garbage(3), "application/octet-stream"));
    }

    static byte[] Garbage(int seed)
    {
        var bytes = new byte[64 * 1024];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static async Task AssertAllRefusedAsync(HttpClient client, string path)
    {
        foreach (var (name, body) in HostileBodies())
        {
            var response = await client.PostAsync(path, body());
            var status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500, $"POST {path} with {name}: {status} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [ProviderTheory, Providers]
    public async Task The_dpo_login_and_logout_forms_answer_every_hostile_body_with_4xx_and_sign_in_nobody(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc);

        using var stranger = Dpos.Browserless(app);
        Assert.Equal(HttpStatusCode.OK, (await stranger.GetAsync(DpoPages.LoginPath)).StatusCode);
        await AssertAllRefusedAsync(stranger, DpoPages.LoginPath);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync(DpoPages.LandingPath)).StatusCode);

        using var session = await Dpos.SignInAsync(app, dpo);
        await AssertAllRefusedAsync(session, DpoPages.LogoutPath);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync(DpoPages.LandingPath)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_confirm_form_answers_every_hostile_body_with_4xx_and_applies_nothing(DatabaseProvider provider)
    {
        await using var smtp = await SmtpListener.StartNewAsync();
        await using var app = await HubApp.StartAsync(provider, new()
        {
            ["ConsentHub:Smtp:Host"] = "127.0.0.1", ["ConsentHub:Smtp:Port"] = smtp.Port.ToString(), ["ConsentHub:Smtp:TlsMode"] = "None",
            ["ConsentHub:Validation:PublicBaseUrl"] = "http://localhost", ["ConsentHub:Validation:PollSeconds"] = "1",
        });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var posted = await HubApp.SubmitAsync(client, crm, "c1", Seed.Consent("OFFERS", true, validated: false));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var link = ValidationFlowTests.LinkPath((await smtp.WaitForMessageAsync(timeout: TimeSpan.FromSeconds(20))).Message);

        using var person = Dpos.Browserless(app);
        Assert.Equal(HttpStatusCode.OK, (await person.GetAsync(link)).StatusCode);
        await AssertAllRefusedAsync(person, link);
        await AssertAllRefusedAsync(person, "/validation/" + new string('a', 43));

        Assert.Equal("PENDING_VALIDATION", (await Json.ReadAsync(await client.GetAsync(posted.Headers.Location)))["status"]!.GetValue<string>());
        // The link still works: the page and a fresh form.
        Assert.Equal(HttpStatusCode.OK, (await person.GetAsync(link)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_token_endpoint_answers_every_hostile_body_with_4xx(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{HubApp.AdminClientId}:{HubApp.AdminClientSecret}")));

        await AssertAllRefusedAsync(client, "/oauth/token");
    }
}
