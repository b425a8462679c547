using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.OptOut;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using ConsentHub.Tests.Rights;
using CsvHelper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.OptOut;

/// <summary>
/// The opt-out service from end to end, as issue 15 states it is done: a data provider posts the seed's sample body
/// with its API key and gets the seed's answer; the matching customers' systems receive the withdrawals; the next
/// morning's suppression file, downloaded by the organisation's DPO, lists the opt-outs hashed; and another
/// organisation of the data sharing agreement finds them, hashed, in its own file, while a non-member never does.
/// </summary>
public sealed class OptOutJourneyTests
{
    /// <summary>The seed sample's first record: email2 is the address the person's two records carry.</summary>
    const string Email2 = "johndoe@gmail.com";

    static readonly Dictionary<string, string?> Settings = new(Propagations.Settings)
    {
        // The next morning is reached by a second instance on a clock of its own, not by this one's worker.
        ["ConsentHub:SuppressionFiles:WorkerEnabled"] = "false",
    };

    [ProviderTheory, Providers]
    public async Task The_seeds_sample_withdraws_a_clustered_person_everywhere_and_reaches_the_members_suppression_files_hashed(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, Settings);
        using var admin = await app.AdminAsync();

        // Two systems of tgb know John as one person (a cluster); each has a webhook.
        var crm = await app.RegisterSourceSystemAsync("tgb", "toyota", "crm");
        var dms = await app.RegisterSourceSystemAsync("tgb", "toyota", "dms");
        var provider002 = await app.RegisterSourceSystemAsync("tgb", "toyota", "consent-control");
        await using var crmHook = await WebhookReceiver.StartAsync();
        await using var dmsHook = await WebhookReceiver.StartAsync();
        await Propagations.RegisterAsync(app, crm, crmHook);
        await Propagations.RegisterAsync(app, dms, dmsHook);
        var cluster = await admin.PutAsJsonAsync("/nmscs/tgb/clusters/john", new
        {
            members = new[] { new { context = "toyota", sourceSystem = "crm", sourceCustomerId = "c-1" }, new { context = "toyota", sourceSystem = "dms", sourceCustomerId = "d-7" } },
        });
        Assert.Equal(HttpStatusCode.Created, cluster.StatusCode);
        using (var asCrm = await app.AsAsync(crm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asCrm, crm, "c-1", People.Change("OFFERS", Email2))).StatusCode);
        using (var asDms = await app.AsAsync(dms))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(asDms, dms, "d-7", People.Change("SURVEYS", "JohnDoe@Gmail.com"))).StatusCode);
        var heard = new Dictionary<WebhookReceiver, int>();
        foreach (var hook in new[] { crmHook, dmsHook })
            heard[hook] = (await hook.WaitForAsync(calls => calls.Any(c => Flag(c, "SURVEYS") == true), what: "SURVEYS granted")).Count;

        // tgb and tfr share opt-outs; tno does not. Each wants daily hashed CSV files; tfr with the industry pool.
        foreach (var nmsc in new[] { "tfr", "tno" })
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/admin/organisations/{nmsc}", null)).StatusCode);
        foreach (var nmsc in new[] { "tgb", "tfr" })
        {
            var joined = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/data-sharing", new { agreementReference = $"DSA-{nmsc}", signedOn = "2026-01-15" });
            Assert.Equal(HttpStatusCode.Created, joined.StatusCode);
        }
        foreach (var (nmsc, industry) in new[] { ("tgb", false), ("tfr", true), ("tno", false) })
        {
            var configured = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/suppression-files",
                new { frequency = "daily", formats = new[] { "csv" }, hashed = true, industry });
            Assert.True(configured.StatusCode == HttpStatusCode.OK, await configured.Content.ReadAsStringAsync());
        }
        var outsider = await admin.PutAsJsonAsync("/admin/organisations/tno/suppression-files",
            new { frequency = "daily", formats = new[] { "csv" }, hashed = true, industry = true });
        Assert.Equal(HttpStatusCode.Conflict, outsider.StatusCode);

        // The data provider posts the seed's sample verbatim with its API key.
        var key = await app.IssueApiKeyAsync(provider002);
        var answer = await OptOuts.PostAsync(app, key, OptOuts.SampleBody());
        var body = await Json.ReadAsync(answer);
        Assert.True(answer.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.True(body["status"]!.GetValue<bool>());
        Assert.Equal(2, body["successful"]!.GetValue<int>());
        Assert.Empty(body["unsuccessful_ids"]!.AsArray());
        Assert.All(body["results"]!.AsArray(), r => Assert.True(Guid.TryParse(r!["recordID"]!.GetValue<string>(), out _)));

        // Both records of the cluster are withdrawn, and both systems are told so.
        foreach (var hook in new[] { crmHook, dmsHook })
        {
            var calls = await hook.WaitForAsync(all => all.Skip(heard[hook]).Any(c => Flag(c, "SURVEYS") == false || Flag(c, "OFFERS") == false),
                what: "the withdrawal");
            var withdrawal = calls.Skip(heard[hook]).First(c => Flag(c, "SURVEYS") == false || Flag(c, "OFFERS") == false);
            Assert.Equal("PROPAGATED", withdrawal.Json["commandType"]!.GetValue<string>());
            Assert.DoesNotContain(true, Flags(withdrawal));
        }
        foreach (var (system, id) in new[] { (crm, "c-1"), (dms, "d-7") })
        {
            using var client = await app.AsAsync(system);
            var data = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(system, id)));
            Assert.All(data["consent"]!["consentAttributes"]!.AsArray(), c => Assert.False(c!["consentFlag"]!.GetValue<bool>()));
            Assert.False(data["channel"]!["channelAttributes"]!.AsArray().Single(c => c!["channelCode"]!.GetValue<string>() == "EMAIL")!["channelFlag"]!.GetValue<bool>());
        }
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());

        // The next morning (UTC), an instance issues the day's files.
        var morning = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(1).AddMinutes(5), TimeSpan.Zero);
        var clock = new FakeTimeProvider(morning);
        await using (var nextMorning = app.SecondInstance(Settings, s => s.AddSingleton<TimeProvider>(clock)))
        {
            using var scope = nextMorning.Scope();
            Assert.True(await scope.ServiceProvider.GetRequiredService<SuppressionFileGenerator>().GenerateDueAsync(CancellationToken.None) > 0);
        }

        // Every identifier of the sample's two records, normalised and hashed as providers exchange them.
        string[] emails = ["john.doe@gmail.com", Email2, "john.doe8@gmail.com", "johndoe8@gmail.com"];
        string[] phones = ["+19418675309", "+17278675309", "+19418675308", "+17278675308"];
        string[] postal = ["JOHN|DOE|123 MAIN ST|34323", "JOHN|DOES|128 MAIN ST|34323"];
        var expected = emails.Select(e => ("email", Sha256(e))).Concat(phones.Select(p => ("phone", Sha256(p)))).Concat(postal.Select(p => ("postal", Sha256(p)))).ToHashSet();

        // tgb's DPO downloads tgb's full file of the morning: the opt-outs, hashed, from the data provider.
        var dpo = await Dpos.CreateAsync(app, "dpo", "toyota", "tgb");
        using var asDpo = await People.AsDpoAsync(app, dpo);
        var own = await MorningFullFileAsync(asDpo, "tgb", morning);
        Assert.Equal(expected, own.Select(l => (l.Kind, l.Value)).ToHashSet());
        Assert.All(own, l => Assert.Equal("toyota/consent-control", l.Source));
        Assert.DoesNotContain(own, l => l.Value.Contains('@'));

        // tfr, a member with the pool, finds the same identifiers hashed, never naming tgb; tno never finds them.
        var shared = await MorningFullFileAsync(admin, "tfr", morning);
        Assert.Equal(expected, shared.Where(l => l.Source == "industry").Select(l => (l.Kind, l.Value)).ToHashSet());
        Assert.DoesNotContain(shared, l => l.Source.Contains("tgb") || l.Source.Contains("consent-control"));
        var outside = await MorningFullFileAsync(admin, "tno", morning);
        Assert.Empty(outside);
    }

    sealed record Line(string Kind, string Value, string Source);

    /// <summary>The organisation's scheduled full CSV file whose period starts on the morning's day, read as CSV.</summary>
    static async Task<List<Line>> MorningFullFileAsync(HttpClient client, string nmsc, DateTimeOffset morning)
    {
        var list = await client.GetAsync($"/nmscs/{nmsc}/suppression-files?limit=100");
        var listed = await Json.ReadAsync(list);
        Assert.True(list.StatusCode == HttpStatusCode.OK, listed.ToJsonString());
        var day = morning.UtcDateTime.Date;
        var file = listed["files"]!.AsArray().Single(f =>
            f!["kind"]!.GetValue<string>() == "full" && f["format"]!.GetValue<string>() == "csv"
            && f["frequency"]!.GetValue<string>() == "daily"
            && DateTime.Parse(f["periodStart"]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal) == day)!;
        var download = await client.GetAsync($"/nmscs/{nmsc}/suppression-files/{file["id"]!.GetValue<string>()}");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var bytes = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(file["sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        using var csv = CsvReader.Create(bytes, CsvReaderOptions.Default);
        csv.ReadHeader();
        Assert.Equal(["kind", "value", "opted_out_at", "source"], csv.Headers.ToArray());
        var lines = new List<Line>();
        while (csv.Read()) lines.Add(new Line(csv.GetString(0), csv.GetString(1), csv.GetString(3)));
        return lines;
    }

    static string Sha256(string normalised) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));

    static bool? Flag(ReceivedCall call, string code) =>
        call.Json["consent"]?["consentAttributes"]?.AsArray().FirstOrDefault(c => c!["consentCode"]!.GetValue<string>() == code)?["consentFlag"]?.GetValue<bool>();

    static IEnumerable<bool> Flags(ReceivedCall call) =>
        (call.Json["consent"]?["consentAttributes"]?.AsArray() ?? []).Select(c => c!["consentFlag"]!.GetValue<bool>())
            .Concat((call.Json["channel"]?["channelAttributes"]?.AsArray() ?? []).Select(c => c!["channelFlag"]!.GetValue<bool>()));
}
