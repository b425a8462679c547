using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Inbound;

/// <summary>Arranging inbound event types (seed 001) as an admin does, and posting events as a form builder does.</summary>
public static class Inbound
{
    /// <summary>The shipped sample: the form builder's event type for context toyota and source system forms.</summary>
    public static string FormBuilderSample => File.ReadAllText(Path.Combine(RepositoryRoot(), "samples", "inbound", "form-builder.json"));

    public static string TypePath(string nmsc, string eventTypeId) => $"/admin/organisations/{nmsc}/event-types/{eventTypeId}";

    public static string EventsPath(string nmsc, string eventTypeId) => $"/events/{nmsc}/{eventTypeId}";

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>Sends a call, asserts its status, and returns the body as JSON.</summary>
    public static async Task<JsonObject> ExpectAsync(Task<HttpResponseMessage> call, HttpStatusCode status)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// An organisation with the source system the sample names (toyota/forms), its event type defined from the sample and
    /// one token issued: returns the admin client and the token.
    /// </summary>
    public static async Task<(HttpClient Admin, string Token)> FormBuilderAsync(HubApp app, string nmsc, string eventTypeId = "form-builder", string? body = null)
    {
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "forms");
        var admin = await app.AdminAsync();
        await ExpectAsync(admin.PutAsync(TypePath(nmsc, eventTypeId), Json(body ?? FormBuilderSample)), HttpStatusCode.Created);
        var token = await IssueTokenAsync(admin, nmsc, eventTypeId);
        return (admin, token);
    }

    public static async Task<string> IssueTokenAsync(HttpClient admin, string nmsc, string eventTypeId, string label = "form builder")
    {
        var issued = await ExpectAsync(admin.PostAsJsonAsync(TypePath(nmsc, eventTypeId) + "/tokens", new { label }), HttpStatusCode.Created);
        return issued["token"]!.GetValue<string>();
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ConsentHub.slnx"))) return dir.FullName;
        throw new InvalidOperationException("The repository root (ConsentHub.slnx) is not above the test binaries.");
    }
}
