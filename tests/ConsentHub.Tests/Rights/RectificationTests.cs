using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Rights;

/// <summary>Rectification: a change of communicationAttributes alone re-keys the blind indexes and runs built-in matching again.</summary>
public sealed class RectificationTests
{
    static JsonObject ContactOnly(string? email = null, string? phone = null)
    {
        var attributes = new JsonObject { ["language"] = "en", ["country"] = "GB" };
        if (email is not null) attributes["email"] = email;
        if (phone is not null) attributes["phone"] = phone;
        return new JsonObject
        {
            ["commandType"] = "REQUESTED",
            ["consent"] = new JsonObject
            {
                ["gdprCompliant"] = true, ["validated"] = true, ["consentAttributes"] = new JsonArray(), ["communicationAttributes"] = attributes,
            },
        };
    }

    [ProviderTheory, Providers]
    public async Task A_new_address_alone_replaces_the_old_one_for_lookups_and_links_the_record_to_the_new_addresss_records(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, People.NoWorkers);
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        await People.EnableMatchingAsync(app, "tgb");
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", "old@example.com", "+44 7700 900111"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-1", People.Change("SURVEYS", "new@example.com"))).StatusCode);
        var cluster = HubApp.SubscriptionDataPath(crm, "c-1").Replace("/subscription-data", "/cluster");
        Assert.Single((await Json.ReadAsync(await asCrm.GetAsync(cluster)))["members"]!.AsArray());

        var rectified = await HubApp.SubmitAsync(asCrm, crm, "c-1", ContactOnly(email: "new@example.com", phone: "+44 7700 900222"));
        Assert.True(rectified.StatusCode == HttpStatusCode.Created, await rectified.Content.ReadAsStringAsync());

        // The old address and number no longer find the record; the new ones find it beside the record they now share.
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/nmscs/tgb/subject-access?email=old%40example.com")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/nmscs/tgb/subject-access?phone=%2B447700900111")).StatusCode);
        var byEmail = await Json.ReadAsync(await admin.GetAsync("/nmscs/tgb/subject-access?email=new%40example.com"));
        Assert.Equal(["c-1", "d-1"], byEmail["records"]!.AsArray().Select(r => r!["sourceCustomerId"]!.GetValue<string>()));
        Assert.All(byEmail["records"]!.AsArray(), r => Assert.Equal("matched", r!["foundBy"]!.GetValue<string>()));
        var byPhone = await Json.ReadAsync(await admin.GetAsync("/nmscs/tgb/subject-access?phone=07700%20900222&country=GB"));
        Assert.Equal("c-1", byPhone["records"]![0]!["sourceCustomerId"]!.GetValue<string>());
        Assert.Equal("matched", byPhone["records"]![0]!["foundBy"]!.GetValue<string>());

        // Matching ran again: the record joined the new address's record. Its consents did not change.
        Assert.Equal(["c-1", "d-1"], (await Json.ReadAsync(await asCrm.GetAsync(cluster)))["members"]!.AsArray()
            .Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
        var own = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal("new@example.com", own["consent"]!["communicationAttributes"]!["email"]!.GetValue<string>());
        Assert.Equal("+44 7700 900222", own["consent"]!["communicationAttributes"]!["phone"]!.GetValue<string>());
        Assert.Contains(own["consent"]!["consentAttributes"]!.AsArray(), c => c!["consentCode"]!.GetValue<string>() == "OFFERS" && c["consentFlag"]!.GetValue<bool>());
    }
}
