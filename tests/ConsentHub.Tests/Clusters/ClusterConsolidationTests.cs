using System.Net;
using System.Net.Http.Json;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Clusters;

/// <summary>The consolidated view of a record spans its cluster, within one context, under the merge policy.</summary>
public sealed class ClusterConsolidationTests
{
    SourceSystemCredentials? Lexus;

    async Task<(HubApp App, SourceSystemCredentials Crm, SourceSystemCredentials Dms, HttpClient AsCrm, HttpClient AsDms)> ClusterOfTwoAsync(
        DatabaseProvider provider, string? mergePolicy = null)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dms");
        Lexus = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        using var admin = await app.AdminAsync();
        if (mergePolicy is not null)
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}", new { mergePolicy })).StatusCode);
        var cluster = await admin.PutAsJsonAsync($"/nmscs/{nmsc}/clusters/person-1", new
        {
            members = new[]
            {
                new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" },
                new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-9" },
                new { context = "lexus", sourceSystem = "crm", sourceCustomerId = "l-5" },
            },
        });
        Assert.Equal(HttpStatusCode.Created, cluster.StatusCode);
        return (app, crm, dms, await app.AsAsync(crm), await app.AsAsync(dms));
    }

    [ProviderTheory, Providers]
    public async Task The_latest_change_of_any_record_of_the_cluster_wins(DatabaseProvider provider)
    {
        var (_, crm, dms, asCrm, asDms) = await ClusterOfTwoAsync(provider);
        using (asCrm)
        using (asDms)
        {
            await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"));
            await HubApp.AppliedAsync(asDms, dms, "d-9", Seed.Consent("OFFERS", false, "2024-01-02T10:00:00Z"));
            await HubApp.AppliedAsync(asDms, dms, "d-9", Seed.Consent("SURVEYS", true, "2024-01-02T10:00:00Z"));

            foreach (var (client, system, id) in new[] { (asCrm, crm, "c-1"), (asDms, dms, "d-9") })
            {
                var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(system, id)));
                var flags = data["consent"]!["consentAttributes"]!.AsArray().ToDictionary(c => c!["consentCode"]!.GetValue<string>(), c => c!["consentFlag"]!.GetValue<bool>());
                Assert.False(flags["OFFERS"]);
                Assert.True(flags["SURVEYS"]);
                Assert.Equal(id, data["sourceCustomerId"]!.GetValue<string>());
            }
        }
    }

    [ProviderTheory, Providers]
    public async Task Under_most_restrictive_a_withdrawal_anywhere_in_the_cluster_wins(DatabaseProvider provider)
    {
        var (_, crm, dms, asCrm, asDms) = await ClusterOfTwoAsync(provider, "most-restrictive");
        using (asCrm)
        using (asDms)
        {
            await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", false, "2024-01-01T10:00:00Z"));
            await HubApp.AppliedAsync(asDms, dms, "d-9", Seed.Consent("OFFERS", true, "2024-01-02T10:00:00Z"));

            var data = await Json.ReadAsync(await asDms.GetAsync(HubApp.SubscriptionDataPath(dms, "d-9")));
            Assert.False(data["consent"]!["consentAttributes"]![0]!["consentFlag"]!.GetValue<bool>());
        }
    }

    [ProviderTheory, Providers]
    public async Task Records_of_the_cluster_in_another_context_do_not_count(DatabaseProvider provider)
    {
        var (app, crm, _, asCrm, asDms) = await ClusterOfTwoAsync(provider);
        using (asCrm)
        using (asDms)
        {
            using var asLexus = await app.AsAsync(Lexus!);
            await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("EVENTS", true, "2024-01-01T10:00:00Z"));
            // Later, but in another context of the same person: it must not reach toyota's view.
            await HubApp.AppliedAsync(asLexus, Lexus!, "l-5", Seed.Consent("EVENTS", false, "2024-06-01T10:00:00Z"));
            await HubApp.AppliedAsync(asLexus, Lexus!, "l-5", Seed.Consent("OFFERS", true, "2024-06-01T10:00:00Z"));

            var data = await Json.ReadAsync(await asCrm.GetAsync(HubApp.SubscriptionDataPath(crm, "c-1")));
            var only = Assert.Single(data["consent"]!["consentAttributes"]!.AsArray())!;
            Assert.Equal("EVENTS", only["consentCode"]!.GetValue<string>());
            Assert.True(only["consentFlag"]!.GetValue<bool>());
        }
    }

    [ProviderTheory, Providers]
    public async Task The_command_timestamp_is_that_of_the_last_change_applied_to_any_record_of_the_cluster(DatabaseProvider provider)
    {
        var (_, crm, dms, asCrm, asDms) = await ClusterOfTwoAsync(provider);
        using (asCrm)
        using (asDms)
        {
            await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("OFFERS", true, "2024-01-01T10:00:00Z"));
            await HubApp.AppliedAsync(asDms, dms, "d-9", Seed.Consent("SURVEYS", true, "2024-03-01T10:00:00Z"));
            Assert.Equal("2024-03-01T10:00:00.000Z", await CommandTimestampAsync(asCrm, crm, "c-1"));

            // Arrival order decides, not the timestamp the change carries.
            await HubApp.AppliedAsync(asCrm, crm, "c-1", Seed.Consent("EVENTS", true, "2024-02-01T10:00:00Z"));
            Assert.Equal("2024-02-01T10:00:00.000Z", await CommandTimestampAsync(asDms, dms, "d-9"));
            Assert.Equal("2024-02-01T10:00:00.000Z", await CommandTimestampAsync(asCrm, crm, "c-1"));
        }
    }

    static async Task<string?> CommandTimestampAsync(HttpClient client, SourceSystemCredentials system, string sourceCustomerId) =>
        (await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(system, sourceCustomerId))))["commandTimestamp"]?.GetValue<string>();

    [ProviderTheory, Providers]
    public async Task An_unknown_merge_policy_is_refused(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var admin = await app.AdminAsync();

        var response = await admin.PutAsJsonAsync($"/admin/organisations/{HubApp.Unique("tgb")}", new { mergePolicy = "first-wins" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("mergePolicy", (await Json.ReadAsync(response))["violations"]![0]!["field"]!.GetValue<string>());
    }
}
