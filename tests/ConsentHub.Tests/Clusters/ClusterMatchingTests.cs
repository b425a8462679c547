using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Clusters;

/// <summary>Built-in matching: records of one organisation sharing a normalised email or phone become one cluster.</summary>
public sealed class ClusterMatchingTests
{
    static object WithEmail(string code, bool flag, string email, string requested)
    {
        var body = Seed.Consent(code, flag, requested);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        return body;
    }

    /// <summary>A change with its own email, so only the phone (read in GB when national) can link it.</summary>
    static object WithPhone(string code, string email, string phone, string requested)
    {
        var body = Seed.Consent(code, true, requested);
        body["consent"]!["communicationAttributes"]!["email"] = email;
        body["consent"]!["communicationAttributes"]!["phone"] = phone;
        return body;
    }

    static async Task<string?> ClusterIdAsync(HttpClient client, SourceSystemCredentials system, string customerId) =>
        (await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(system, customerId).Replace("/subscription-data", "/cluster"))))["clusterId"]
            ?.GetValue<string>();

    [ProviderTheory, Providers]
    public async Task Records_sharing_an_email_are_linked_when_the_organisation_asks_for_it(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", WithEmail("OFFERS", true, "Jane.Doe@Example.com", "2024-01-01T10:00:00Z"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-1", WithEmail("SURVEYS", true, "JANE.doe@example.COM", "2024-01-02T10:00:00Z"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-2", WithEmail("EVENTS", true, "someone.else@example.com", "2024-01-02T10:00:00Z"))).StatusCode);

        var cluster = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1").Replace("/subscription-data", "/cluster")));
        Assert.StartsWith("match-", cluster["clusterId"]!.GetValue<string>());
        Assert.Equal(["c-1", "d-1"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
        var data = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal(["OFFERS", "SURVEYS"], data["consent"]!["consentAttributes"]!.AsArray().Select(c => c!["consentCode"]!.GetValue<string>()));
        using var reader = await app.AdminAsync();
        Assert.True((await Json.ReadAsync(await reader.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task Matching_merges_the_clusters_a_shared_email_bridges(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using (var admin = await app.AdminAsync())
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/fed-1", new { members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" }, new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-9" } } })).StatusCode);
        }
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        await HubApp.AppliedAsync(asCrm, crm, "c-1", WithEmail("OFFERS", true, "p@example.com", "2024-01-01T10:00:00Z"));
        await HubApp.AppliedAsync(asDms, dms, "d-1", WithEmail("SURVEYS", true, "p@example.com", "2024-01-02T10:00:00Z"));

        var cluster = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-1").Replace("/subscription-data", "/cluster")));
        Assert.Equal("fed-1", cluster["clusterId"]!.GetValue<string>());
        Assert.Equal(["c-1", "c-9", "d-1"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
    }

    [ProviderTheory, Providers]
    public async Task A_record_whose_email_matches_a_record_of_another_cluster_merges_the_two_existing_clusters(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
        // Two clusters fed by the organisation, with two records each; nothing links them yet.
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/fed-a", new { members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" }, new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-9" } } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/fed-b", new { members = new[] { new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-1" }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-7" } } })).StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);
        await HubApp.AppliedAsync(asCrm, crm, "c-9", Seed.Consent("EVENTS", true, "2024-01-01T09:00:00Z"));
        await HubApp.AppliedAsync(asCrm, crm, "c-1", WithEmail("OFFERS", true, "p@example.com", "2024-01-01T10:00:00Z"));
        Assert.Equal("fed-a", await ClusterIdAsync(asCrm, crm, "c-1"));
        Assert.Equal("fed-b", await ClusterIdAsync(asDms, dms, "d-1"));

        // d-1 now sends the same address: the record it matches is in the other cluster, so the two clusters become one,
        // the bridging record's own.
        var bridging = await HubApp.AppliedAsync(asDms, dms, "d-1", WithEmail("SURVEYS", true, "P@Example.com", "2024-01-02T10:00:00Z"));

        foreach (var (client, system, id) in new[] { (asCrm, crm, "c-1"), (asCrm, crm, "c-9"), (asDms, dms, "d-1"), (asDms, dms, "d-7") })
            Assert.Equal("fed-b", await ClusterIdAsync(client, system, id));
        var cluster = await Json.ReadAsync(await admin.GetAsync($"/nmscs/{nmsc}/clusters/fed-b"));
        Assert.Equal(["c-1", "c-9", "d-1", "d-7"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/nmscs/{nmsc}/clusters/fed-a")).StatusCode);
        // A record that never matched anything now sees the consents of the whole merged cluster.
        var data = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-7")));
        Assert.Equal(["EVENTS", "OFFERS", "SURVEYS"], data["consent"]!["consentAttributes"]!.AsArray().Select(c => c!["consentCode"]!.GetValue<string>()).Order());

        var requested = bridging["ledgerIndex"]!.GetValue<long>();
        var entries = (await Json.ReadAsync(await admin.GetAsync($"/ledger/entries?from={requested}&limit=3")))["entries"]!.AsArray();
        Assert.Equal(["change-requested", "change-applied", "cluster-matched"], entries.Select(e => e!["type"]!.GetValue<string>()));
        var matched = entries[2]!["payload"]!;
        Assert.Equal("fed-b", matched["clusterId"]!.GetValue<string>());
        Assert.Equal(["fed-a"], matched["mergedClusters"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(2, matched["linkedRecords"]!.GetValue<int>());
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task Concurrent_records_of_one_person_all_end_in_one_cluster(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => i % 2 == 0
            ? HubApp.SubmitAsync(asCrm, crm, $"c-{i}", WithEmail("OFFERS", true, "same@example.com", "2024-01-01T10:00:00Z"))
            : HubApp.SubmitAsync(asDms, dms, $"d-{i}", WithEmail("OFFERS", true, "same@example.com", "2024-01-01T10:00:00Z"))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var cluster = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-0").Replace("/subscription-data", "/cluster")));
        Assert.Equal(12, cluster["members"]!.AsArray().Count);
    }

    [ProviderTheory, Providers]
    public async Task Without_matching_switched_on_a_shared_email_links_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        await HubApp.AppliedAsync(asCrm, crm, "c-1", WithEmail("OFFERS", true, "p@example.com", "2024-01-01T10:00:00Z"));
        await HubApp.AppliedAsync(asDms, dms, "d-1", WithEmail("SURVEYS", true, "p@example.com", "2024-01-02T10:00:00Z"));

        var cluster = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1").Replace("/subscription-data", "/cluster")));
        Assert.Null(cluster["clusterId"]);
        Assert.Single(cluster["members"]!.AsArray());
    }

    [ProviderTheory, Providers]
    public async Task Records_sharing_a_phone_written_differently_are_linked(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", WithPhone("OFFERS", "jane@example.com", "+44 7700 900123", "2024-01-01T10:00:00Z"))).StatusCode);
        var linking = await HubApp.SubmitAsync(asDms, dms, "d-1", WithPhone("SURVEYS", "j.doe@work.example", "07700 900123", "2024-01-02T10:00:00Z"));
        Assert.Equal(HttpStatusCode.Created, linking.StatusCode);

        var cluster = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1").Replace("/subscription-data", "/cluster")));
        Assert.StartsWith("match-", cluster["clusterId"]!.GetValue<string>());
        Assert.Equal(["c-1", "d-1"], cluster["members"]!.AsArray().Select(m => m!["sourceCustomerId"]!.GetValue<string>()).Order());
        var data = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
        Assert.Equal(["OFFERS", "SURVEYS"], data["consent"]!["consentAttributes"]!.AsArray().Select(c => c!["consentCode"]!.GetValue<string>()));
        // Each record keeps the phone as its system sent it, after the seed's members.
        var communication = data["consent"]!["communicationAttributes"]!.AsObject();
        Assert.Equal(["language", "country", "email", "phone"], communication.Select(p => p.Key));
        Assert.Equal("+44 7700 900123", communication["phone"]!.GetValue<string>());

        // The link is recorded beside the change that made it, right after its change-applied entry.
        var requested = (await Json.ReadAsync(linking))["ledgerIndex"]!.GetValue<long>();
        using var reader = await app.AdminAsync();
        var entries = (await Json.ReadAsync(await reader.GetAsync($"/ledger/entries?from={requested}&limit=3")))["entries"]!.AsArray();
        Assert.Equal(["change-requested", "change-applied", "cluster-matched"], entries.Select(e => e!["type"]!.GetValue<string>()));
        Assert.Equal(cluster["clusterId"]!.GetValue<string>(), entries[2]!["payload"]!["clusterId"]!.GetValue<string>());
        Assert.Equal(2, entries[2]!["payload"]!["linkedRecords"]!.GetValue<int>());
        Assert.True((await Json.ReadAsync(await reader.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task Records_with_different_phones_and_emails_are_not_linked(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        using (var admin = await app.AdminAsync())
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { builtInMatching = true })).StatusCode);
        using var asCrm = await app.AsAsync(crm);
        using var asDms = await app.AsAsync(dms);

        await HubApp.AppliedAsync(asCrm, crm, "c-1", WithPhone("OFFERS", "jane@example.com", "+44 7700 900123", "2024-01-01T10:00:00Z"));
        await HubApp.AppliedAsync(asDms, dms, "d-1", WithPhone("SURVEYS", "john@example.com", "07700 900124", "2024-01-02T10:00:00Z"));
        // Two records without a phone have no phone in common either.
        await HubApp.AppliedAsync(asCrm, crm, "c-2", WithEmail("OFFERS", true, "ann@example.com", "2024-01-01T10:00:00Z"));
        await HubApp.AppliedAsync(asDms, dms, "d-2", WithEmail("SURVEYS", true, "bob@example.com", "2024-01-02T10:00:00Z"));

        Assert.Null(await ClusterIdAsync(asCrm, crm, "c-1"));
        Assert.Null(await ClusterIdAsync(asDms, dms, "d-1"));
        Assert.Null(await ClusterIdAsync(asCrm, crm, "c-2"));
        Assert.Null(await ClusterIdAsync(asDms, dms, "d-2"));
        var data = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-1")));
        Assert.Equal(["SURVEYS"], data["consent"]!["consentAttributes"]!.AsArray().Select(c => c!["consentCode"]!.GetValue<string>()));
    }
}
