using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Propagation;

/// <summary>Rotating a destination's api-key: the previous key is still sent beside the new one for the overlap.</summary>
public sealed class ApiKeyRotationTests
{
    static async Task<string> RotateAsync(HubApp app, SourceSystemCredentials system, string? expectValidUntil)
    {
        using var client = await app.AsAsync(system);
        var response = await client.PostAsync(Propagations.DestinationPath(system) + "/rotate-api-key", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json.ReadAsync(response);
        if (expectValidUntil is null) Assert.Null(body["previousApiKeyValidUntil"]);
        else Assert.NotNull(body["previousApiKeyValidUntil"]);
        // Shown once: the destination's own view never holds it.
        Assert.Null((await Json.ReadAsync(await client.GetAsync(Propagations.DestinationPath(system))))["apiKey"]);
        return body["apiKey"]!.GetValue<string>();
    }

    [ProviderTheory, Providers]
    public async Task After_a_rotation_both_keys_are_sent_new_first_during_the_overlap(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Propagations.Settings);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        var (oldKey, _) = await Propagations.RegisterAsync(app, crm, hook);

        var newKey = await RotateAsync(app, crm, expectValidUntil: "set");

        Assert.NotEqual(oldKey, newKey);
        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);
        var call = Assert.Single(await hook.WaitForCountAsync(1));
        Assert.Equal($"{newKey} {oldKey}", call.ApiKey);
        using var admin = await app.AdminAsync();
        var types = (await Json.ReadAsync(await admin.GetAsync("/ledger/entries?limit=1000")))["entries"]!.AsArray().Select(e => e!["type"]!.GetValue<string>());
        Assert.Contains("destination-api-key-rotated", types);
    }

    [ProviderTheory, Providers]
    public async Task Without_an_overlap_only_the_new_key_is_sent(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new(Propagations.Settings) { ["ConsentHub:Propagation:SecretOverlapHours"] = "0" });
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        await using var hook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, hook);

        var newKey = await RotateAsync(app, crm, expectValidUntil: null);

        using var asCrm = await app.AsAsync(crm);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true))).StatusCode);
        Assert.Equal(newKey, Assert.Single(await hook.WaitForCountAsync(1)).ApiKey);
    }
}
