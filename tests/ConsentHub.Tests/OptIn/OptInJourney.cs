using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Validation;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.OptIn;

/// <summary>How the hub learns that the CRM's contact and the dms's customer are one person.</summary>
public enum Linking
{
    /// <summary>The organisation's built-in matching: the dms's record carries the address the CRM uses as contactId.</summary>
    BuiltInMatching,
    /// <summary>An explicit cluster of the two records, put by the admin before either exists.</summary>
    Cluster,
}

/// <summary>
/// The setting of the opt-in use cases: an organisation of its own with a CRM that speaks only the opt-in interface and a dms that knows the same person (customer d-7) and has a webhook
/// destination. The journey keeps count of what the dms received, so that every step can assert exactly what it was
/// told, and that nothing else is planned for it. Journeys without settings, services or a socket of their own share
/// one app per provider whose webhooks may go to 127.0.0.1 (Propagations.Settings).
/// </summary>
public sealed class OptInJourney : IAsyncDisposable
{
    public const string DmsCustomerId = "d-7";

    static readonly ConcurrentDictionary<DatabaseProvider, Lazy<Task<HubApp>>> SharedApps = new();

    readonly bool ownsApp;
    int heard;

    OptInJourney(HubApp app, bool ownsApp, SourceSystemCredentials crm, SourceSystemCredentials dms, HttpClient client, WebhookReceiver dmsHook, string contactId)
    {
        App = app;
        this.ownsApp = ownsApp;
        Crm = crm;
        Dms = dms;
        Client = client;
        DmsHook = dmsHook;
        ContactId = contactId;
    }

    public HubApp App { get; }
    public string Nmsc => Crm.Nmsc;
    public SourceSystemCredentials Crm { get; }
    public SourceSystemCredentials Dms { get; }
    /// <summary>The CRM's client (its bearer token).</summary>
    public HttpClient Client { get; }
    public WebhookReceiver DmsHook { get; }
    /// <summary>The CRM's id for the person.</summary>
    public string ContactId { get; }

    /// <summary>
    /// Starts the app and sets the organisation up. The dms's record says REMINDERS true (validated, 2024) with the
    /// address <paramref name="dmsEmail"/> (by default the contactId); its own echo is the first thing it hears.
    /// </summary>
    /// <param name="organisation">Further organisation settings, merged into the PATCH (e.g. optInConfirmation).</param>
    public static async Task<OptInJourney> StartAsync(
        DatabaseProvider provider, string contactId, Linking linking, object? organisation = null, string? dmsEmail = null,
        Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, int? kestrelPort = null)
    {
        var ownsApp = settings is not null || services is not null || kestrelPort is not null;
        var all = new Dictionary<string, string?>(Propagations.Settings);
        foreach (var (key, value) in settings ?? []) all[key] = value;
        var app = ownsApp
            ? await HubApp.StartAsync(provider, all, services, kestrelPort)
            : await SharedApps.GetOrAdd(provider, p => new Lazy<Task<HubApp>>(() => HubApp.StartAsync(p, Propagations.Settings))).Value;
        var nmsc = HubApp.Unique("oi");
        try
        {
            var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
            var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
            using (var admin = await app.AdminAsync())
            {
                var patch = new JsonObject { ["builtInMatching"] = linking == Linking.BuiltInMatching };
                if (organisation is not null)
                    foreach (var (key, value) in System.Text.Json.JsonSerializer.SerializeToNode(organisation)!.AsObject()) patch[key] = value?.DeepClone();
                var patched = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/admin/organisations/{nmsc}")
                {
                    Content = new StringContent(patch.ToJsonString(), Encoding.UTF8, "application/merge-patch+json"),
                });
                Assert.True(patched.StatusCode == HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
                if (linking == Linking.Cluster)
                {
                    var cluster = await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/person", new
                    {
                        members = new[]
                        {
                            new { context = "toyota", sourceSystem = "crm", sourceCustomerId = contactId },
                            new { context = "toyota", sourceSystem = "dms", sourceCustomerId = DmsCustomerId },
                        },
                    });
                    Assert.True(cluster.StatusCode == HttpStatusCode.Created, await cluster.Content.ReadAsStringAsync());
                }
            }
            var hook = await WebhookReceiver.StartAsync();
            await Propagations.RegisterAsync(app, dms, hook);
            using (var asDms = await app.AsAsync(dms))
            {
                var body = Seed.Consent("REMINDERS", true);
                body["consent"]!["communicationAttributes"]!["email"] = dmsEmail ?? contactId;
                var submitted = await HubApp.SubmitAsync(asDms, dms, DmsCustomerId, body);
                Assert.True(submitted.StatusCode == HttpStatusCode.Created, await submitted.Content.ReadAsStringAsync());
            }
            var journey = new OptInJourney(app, ownsApp, crm, dms, await app.AsAsync(crm), hook, contactId);
            await journey.DmsReceivesAsync(new() { ["REMINDERS"] = true }, "its own record's echo");
            return journey;
        }
        catch
        {
            if (ownsApp) await app.DisposeAsync();
            throw;
        }
    }

    public string ContactPath => OptIns.ContactPath(ContactId);

    /// <summary>Asserts that the opt-in overview agrees with the consolidated view of seed 004.</summary>
    public Task AssertViewsAgreeAsync() => OptIns.AssertViewsAgreeAsync(Client, Crm, ContactId);

    /// <summary>GET /optins/{contactId}, asserting 200.</summary>
    public Task<JsonObject> OverviewAsync() => OptIns.ExpectAsync(Client.GetAsync(ContactPath), 200);

    /// <summary>The CRM record's consolidated view (seed 004).</summary>
    public Task<JsonObject> ConsolidatedAsync() => OptIns.ConsolidatedAsync(Client, Crm, ContactId);

    /// <summary>The consent attribute of <paramref name="category"/> in the consolidated view, or null.</summary>
    public async Task<JsonNode?> ConsolidatedConsentAsync(string category) =>
        ((await ConsolidatedAsync())["consent"]?["consentAttributes"]?.AsArray() ?? [])
            .FirstOrDefault(a => a!["consentCode"]!.GetValue<string>() == category);

    /// <summary>
    /// Waits until the dms's webhook has received, since the last check, messages whose flags together are
    /// <paramref name="expected"/>; then asserts they carry exactly those categories (nothing else), and that the hub
    /// has planned no message for the dms beyond those it received.
    /// </summary>
    public async Task<List<ReceivedCall>> DmsReceivesAsync(Dictionary<string, bool> expected, string what)
    {
        var calls = await DmsHook.WaitForAsync(all => Contains(Merged(all.Skip(heard)), expected), what: what);
        var fresh = calls.Skip(heard).ToList();
        Assert.Equal(expected.OrderBy(e => e.Key), Merged(fresh).OrderBy(e => e.Key));
        Assert.All(fresh, c =>
        {
            Assert.Equal("PROPAGATED", c.Json["commandType"]!.GetValue<string>());
            Assert.Equal(DmsCustomerId, c.SourceCustomerId);
        });
        heard = calls.Count;
        await AssertDmsHeardEverythingAsync();
        return fresh;
    }

    /// <summary>
    /// Nothing new for the dms: no call since the last check, and no message planned for it that it has not received.
    /// Messages are planned in the transaction of the change that causes them, so this holds for good once a step ended.
    /// </summary>
    public async Task AssertDmsHeardEverythingAsync()
    {
        Assert.Equal(heard, DmsHook.AcceptedSnapshot().Count);
        Assert.Equal(heard, DmsHook.Calls.Count);
        using var scope = App.Scope();
        var planned = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(
            App.Db(scope).Propagations, p => p.SourceSystemId == Dms.Id);
        Assert.True(planned == heard, $"the hub planned {planned} messages for the dms, which received {heard}");
    }

    /// <summary>One pass of the validation worker (sends due emails, expires what ran out).</summary>
    public async Task<int> ProcessValidationsAsync()
    {
        using var scope = App.Scope();
        return await scope.ServiceProvider.GetRequiredService<ValidationService>().ProcessDueAsync(CancellationToken.None);
    }

    /// <summary>
    /// The ledger's entries (admin), oldest first, of this journey's organisation: those naming it, and those naming a
    /// change request of it.
    /// </summary>
    public async Task<List<JsonNode>> LedgerAsync()
    {
        using var admin = await App.AdminAsync();
        var entries = new List<JsonNode>();
        for (string? next = "/ledger/entries?limit=1000"; next is not null;)
        {
            var page = await OptIns.ExpectAsync(admin.GetAsync(next), 200);
            entries.AddRange(page["entries"]!.AsArray().Select(e => e!));
            next = page["_links"]?["next"]?["href"]?.GetValue<string>();
        }
        var changes = entries.Where(e => e["type"]!.GetValue<string>() == "change-requested" && NmscOf(e) == Nmsc).Select(ChangeOf).ToHashSet();
        return [.. entries.Where(e => NmscOf(e) == Nmsc || (ChangeOf(e) is { } id && changes.Contains(id)))];

        static string? NmscOf(JsonNode e) => e["payload"]?["nmsc"] is JsonValue v && v.TryGetValue<string>(out var n) ? n : null;
        static string? ChangeOf(JsonNode e) => e["payload"]?["changeRequestId"] is JsonValue v && v.TryGetValue<string>(out var id) ? id : null;
    }

    public async Task AssertLedgerValidAsync()
    {
        using var admin = await App.AdminAsync();
        Assert.True((await OptIns.ExpectAsync(admin.GetAsync("/ledger/verify"), 200))["valid"]!.GetValue<bool>());
    }

    static bool Contains(Dictionary<string, bool> merged, Dictionary<string, bool> expected) =>
        expected.All(e => merged.TryGetValue(e.Key, out var flag) && flag == e.Value);

    /// <summary>The consent flags of calls taken in order: what the receiving system holds after applying them.</summary>
    public static Dictionary<string, bool> Merged(IEnumerable<ReceivedCall> calls)
    {
        var merged = new Dictionary<string, bool>();
        foreach (var call in calls)
            foreach (var attribute in call.Json["consent"]?["consentAttributes"]?.AsArray() ?? [])
                merged[attribute!["consentCode"]!.GetValue<string>()] = attribute["consentFlag"]!.GetValue<bool>();
        return merged;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await DmsHook.DisposeAsync();
        if (ownsApp) await App.DisposeAsync();
    }
}
