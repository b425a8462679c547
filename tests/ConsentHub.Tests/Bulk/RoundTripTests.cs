using System.Net;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Bulk;

/// <summary>Seed 004 §3.6: the export format is the upload format. What is uploaded comes back out, and uploads again unchanged.</summary>
public sealed class RoundTripTests
{
    [ProviderTheory, Providers]
    public async Task The_seeds_sample_file_uploaded_is_exported_with_the_same_records_and_the_export_uploads_again_unchanged(DatabaseProvider provider)
    {
        var sample = JsonNode.Parse(await File.ReadAllTextAsync(Uploads.SampleFile()))!.AsArray();
        var first = await UploadThenExportAsync(provider, sample.ToJsonString());

        // Each record of the sample is in its organisation's export, with the same values.
        foreach (var sent in sample)
        {
            var (context, nmsc) = (sent!["context"]!.GetValue<string>(), sent["nmsc"]!.GetValue<string>());
            var exported = Assert.Single(first[(context, nmsc)]);
            foreach (var member in new[] { "context", "nmsc", "sourceSystemName", "sourceCustomerId" })
                Assert.Equal(sent[member]!.GetValue<string>(), exported![member]!.GetValue<string>());
            var (data, back) = (sent["data"]!, exported!["data"]!);
            Assert.Equal("REQUESTED", back["commandType"]!.GetValue<string>());
            Assert.Equal(data["consent"]!["communicationAttributes"]!.ToJsonString(), back["consent"]!["communicationAttributes"]!.ToJsonString());
            Assert.Equal(Values(data["consent"]!["consentAttributes"]!, "consentCode", "consentFlag"), Values(back["consent"]!["consentAttributes"]!, "consentCode", "consentFlag"));
            Assert.Equal(Values(data["channel"]!["channelAttributes"]!, "channelCode", "channelFlag"), Values(back["channel"]!["channelAttributes"]!, "channelCode", "channelFlag"));
            Assert.True(back["consent"]!["validated"]!.GetValue<bool>());
            Assert.True(back["consent"]!["gdprCompliant"]!.GetValue<bool>());
        }

        // The export, uploaded into an empty hub, exports to exactly the same file.
        var exportedFile = new JsonArray([.. first.Values.SelectMany(records => records).Select(r => r!.DeepClone())]);
        var second = await UploadThenExportAsync(provider, exportedFile.ToJsonString());
        foreach (var (key, records) in first)
            Assert.Equal(records.ToJsonString(), second[key].ToJsonString());
    }

    static SortedDictionary<string, bool> Values(JsonNode attributes, string code, string flag) =>
        new(attributes.AsArray().ToDictionary(a => a![code]!.GetValue<string>(), a => a![flag]!.GetValue<bool>()), StringComparer.Ordinal);

    /// <summary>A fresh hub with the sample's two systems; the file uploaded by each; each organisation exported by its DPO.</summary>
    static async Task<Dictionary<(string Context, string Nmsc), JsonArray>> UploadThenExportAsync(DatabaseProvider provider, string file)
    {
        await using var app = await HubApp.StartAsync(provider);
        SourceSystemCredentials[] systems = [await app.RegisterSourceSystemAsync("tgb", "toyota", "crm"), await app.RegisterSourceSystemAsync("tmi", "lexus", "toshiko")];
        var exports = new Dictionary<(string, string), JsonArray>();
        foreach (var system in systems)
        {
            using (var client = await app.AsAsync(system))
            {
                var (_, job) = await Uploads.PostAsync(client, system, file);
                Assert.Equal("COMPLETED", job["status"]!.GetValue<string>());
                Assert.Equal(1, Uploads.Count(job, "applied"));
            }
            using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", system.Context, system.Nmsc));
            var response = await session.GetAsync($"/exports/{system.Context}/{system.Nmsc}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            exports[(system.Context, system.Nmsc)] = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        }
        return exports;
    }
}
