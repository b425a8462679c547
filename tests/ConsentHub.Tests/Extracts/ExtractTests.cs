using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Extracts;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static ConsentHub.Tests.Extracts.Extracts;

namespace ConsentHub.Tests.Extracts;

/// <summary>
/// Extracts (issue 19 §1): definitions and their refusals, each filter alone and combined against what the test sent, the
/// four formats holding the same rows (Parquet and CSV read back by DuckDB), summaries, personal data, the DPO's download.
/// </summary>
public sealed class ExtractTests
{
    static readonly DateTime Now = DateTime.UtcNow;

    /// <summary>An organisation with two source systems in toyota and one in lexus, and fourteen records of varied choices.</summary>
    sealed record Arranged(string Nmsc, List<ArrangedRecord> Records);

    static async Task<Arranged> ArrangeAsync(HubApp app)
    {
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var web = await app.RegisterSourceSystemAsync(nmsc, "toyota", "web");
        var lexus = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        var recent = Now.AddDays(-10);
        var old = Now.AddDays(-60);
        var records = new List<ArrangedRecord>();
        var systems = new[] { crm, web, lexus };
        for (var i = 0; i < 14; i++)
        {
            var system = systems[i % 3];
            var consents = new List<ArrangedConsent>
            {
                new("OFFERS", i % 2 == 0, i % 4 < 2 ? recent.AddHours(i) : old.AddHours(i), i % 3 == 0 ? $"ref-{i}" : null),
            };
            if (i % 5 != 4) consents.Add(new ArrangedConsent("SURVEYS", i % 3 != 1, old.AddHours(i), $"ref-surveys-{i}"));
            var channels = new Dictionary<string, bool> { ["EMAIL"] = i % 7 != 3 };
            if (i % 2 == 1) channels["SMS"] = i % 4 == 1;
            records.Add(await SendAsync(app, system, $"c-{i}", $"person{i}@example.com", consents, channels));
        }
        return new Arranged(nmsc, records);
    }

    static readonly string[] KeyColumns = ["context", "sourceSystem", "sourceCustomerId", "consentCode", "consentFlag"];

    /// <summary>What a consent-row extract with these filters must hold, computed from what the test sent.</summary>
    static List<string> Expected(Arranged arranged, string[]? contexts = null, string[]? sourceSystems = null, string[]? categories = null,
        string[]? channels = null, bool? flag = null, DateTime? since = null, bool validatedOnly = false) =>
        [.. from r in arranged.Records
            where contexts is null || contexts.Contains(r.System.Context)
            where sourceSystems is null || sourceSystems.Contains(r.System.Name)
            where channels is null || r.Channels.Any(c => channels.Contains(c.Key) && (flag is null || c.Value == flag))
            from c in r.Consents
            where categories is null || categories.Contains(c.Code)
            where flag is null || c.Flag == flag
            where since is null || c.Requested >= since
            where !validatedOnly || c.Reference is not null
            select Key(r.System.Context, r.System.Name, r.CustomerId, c.Code, c.Flag ? "true" : "false")];

    static string Key(params string?[] values) => string.Join("|", values);

    static List<string> Keys(List<Dictionary<string, string?>> rows, IEnumerable<string> columns) => [.. rows.Select(r => Key([.. columns.Select(c => r[c])]))];

    public static IEnumerable<object[]> FilterCases()
    {
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
        {
            yield return [provider, "none"];
            yield return [provider, "contexts"];
            yield return [provider, "sourceSystems"];
            yield return [provider, "categories"];
            yield return [provider, "channels"];
            yield return [provider, "flag"];
            yield return [provider, "changedSince"];
            yield return [provider, "validatedOnly"];
            yield return [provider, "combined"];
        }
    }

    [ProviderTheory, MemberData(nameof(FilterCases))]
    public async Task Each_filter_alone_and_all_combined_select_exactly_the_consents_the_test_sent_that_match(DatabaseProvider provider, string filter)
    {
        var app = await HubApp.SharedAsync(provider);
        var arranged = await ArrangeAsync(app);
        var definition = new JsonObject
        {
            ["columns"] = new JsonArray([.. KeyColumns.Select(c => (JsonNode)c)]), ["format"] = "csv", ["kind"] = "detail", ["validatedOnly"] = false,
        };
        var since = Now.AddDays(-30);
        List<string> expected;
        switch (filter)
        {
            case "none": expected = Expected(arranged); break;
            case "contexts": definition["contexts"] = new JsonArray("lexus"); expected = Expected(arranged, contexts: ["lexus"]); break;
            case "sourceSystems": definition["sourceSystems"] = new JsonArray("web"); expected = Expected(arranged, sourceSystems: ["web"]); break;
            case "categories": definition["categories"] = new JsonArray("SURVEYS"); expected = Expected(arranged, categories: ["SURVEYS"]); break;
            case "channels": definition["channels"] = new JsonArray("SMS"); expected = Expected(arranged, channels: ["SMS"]); break;
            case "flag": definition["flag"] = false; expected = Expected(arranged, flag: false); break;
            case "changedSince": definition["changedSince"] = "P30D"; expected = Expected(arranged, since: since); break;
            case "validatedOnly": definition["validatedOnly"] = true; expected = Expected(arranged, validatedOnly: true); break;
            default:
                definition["contexts"] = new JsonArray("toyota");
                definition["categories"] = new JsonArray("OFFERS");
                definition["channels"] = new JsonArray("EMAIL");
                definition["flag"] = true;
                definition["changedSince"] = "P30D";
                expected = Expected(arranged, contexts: ["toyota"], categories: ["OFFERS"], channels: ["EMAIL"], flag: true, since: since);
                break;
        }
        Assert.NotEmpty(expected);
        if (filter != "none") Assert.True(expected.Count < Expected(arranged).Count, "the filter must leave something out");

        using var admin = await app.AdminAsync();
        await DefineAsync(admin, arranged.Nmsc, filter, definition);
        var run = await RunAsync(admin, arranged.Nmsc, filter);
        var rows = Rows("csv", await DownloadAsync(admin, run), KeyColumns);
        Assert.Equal(expected.Order(), Keys(rows, KeyColumns).Order());
        Assert.Equal(expected.Count, run["rows"]!.GetValue<long>());

        // The same count by an independent query of the hub's tables.
        using var scope = app.Scope();
        var db = app.Db(scope);
        if (filter == "none")
            Assert.Equal(expected.Count, await db.ConsentEntries.CountAsync(e => db.Customers.Any(c => c.Id == e.CustomerId && c.Nmsc == arranged.Nmsc)));
        var entry = await db.LedgerEntries.AsNoTracking().SingleAsync(e => e.Index == run["ledgerIndex"]!.GetValue<long>());
        Assert.Equal(ExtractEvents.Issued, entry.Type);
        Assert.Contains(run["sha256"]!.GetValue<string>(), entry.Payload);
    }

    static readonly string[] AllColumns =
    [
        "nmsc", "context", "sourceSystem", "sourceCustomerId", "language", "country", "clusterId", "consentCode", "consentFlag", "consentDescription",
        "requestedTimestamp", "validatedTimestamp", "validationReference", "consent.SURVEYS", "channel.SMS",
    ];

    [ProviderTheory, Providers]
    public async Task The_four_formats_hold_the_same_rows_and_parquet_has_typed_columns_that_duckdb_reads(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var arranged = await ArrangeAsync(app);
        using var admin = await app.AdminAsync();
        var files = new Dictionary<string, byte[]>();
        foreach (var format in ExtractFormats.All)
        {
            await DefineAsync(admin, arranged.Nmsc, $"all-{format}", new { columns = AllColumns, format, kind = "detail", validatedOnly = false });
            var run = await RunAsync(admin, arranged.Nmsc, $"all-{format}");
            Assert.Equal(format, run["format"]!.GetValue<string>());
            files[format] = await DownloadAsync(admin, run);
        }

        var csv = Rows("csv", files["csv"], AllColumns);
        Assert.Equal(Expected(arranged).Count, csv.Count);
        foreach (var format in new[] { "json", "ndjson", "parquet" })
        {
            var rows = Rows(format, files[format], AllColumns);
            Assert.Equal(Keys(csv, AllColumns).Order(), Keys(rows, AllColumns).Order());
        }

        // Values as sent: the record with no SMS channel has an empty channel.SMS; the one without SURVEYS an empty consent.SURVEYS.
        var c4 = csv.Single(r => r["sourceCustomerId"] == "c-4" && r["consentCode"] == "OFFERS");
        Assert.Null(c4["channel.SMS"]);
        Assert.Null(c4["consent.SURVEYS"]);
        Assert.Equal("I agree to OFFERS, \"quoted\", with a comma", c4["consentDescription"]);
        var sent = arranged.Records.Single(r => r.CustomerId == "c-4").Consents.Single(c => c.Code == "OFFERS");
        Assert.Equal(sent.Requested.ToString("yyyy-MM-dd'T'HH:mm:ss.000'Z'"), c4["requestedTimestamp"]);
        Assert.Equal("en", c4["language"]);
        var c1 = csv.Single(r => r["sourceCustomerId"] == "c-1" && r["consentCode"] == "SURVEYS");
        Assert.Equal("true", c1["channel.SMS"]);
        Assert.Equal("false", c1["consent.SURVEYS"]);

        var types = DuckDbTypes(files["parquet"]);
        Assert.Equal("BOOLEAN", types["consentFlag"]);
        Assert.Equal("BOOLEAN", types["channel.SMS"]);
        Assert.Equal("TIMESTAMP WITH TIME ZONE", types["requestedTimestamp"]);
        Assert.Equal("VARCHAR", types["sourceCustomerId"]);

        // The CSV file opens in DuckDB as it is, byte order mark and all, with the same rows.
        var fromCsv = DuckDbQuery(files["csv"], "SELECT * FROM read_csv('{0}', header = true, all_varchar = true)", AllColumns, "csv");
        Assert.Equal(Keys(csv, AllColumns).Order(), Keys(fromCsv, AllColumns).Order());
    }

    [ProviderTheory, Providers]
    public async Task A_summary_counts_records_per_context_category_flag_and_day(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var arranged = await ArrangeAsync(app);
        using var admin = await app.AdminAsync();
        string[] columns = ["context", "consentCode", "consentFlag", "day", "records"];
        await DefineAsync(admin, arranged.Nmsc, "dpo-monthly", new { kind = "summary", format = "json", columns, validatedOnly = false });
        var run = await RunAsync(admin, arranged.Nmsc, "dpo-monthly");
        var rows = Rows("json", await DownloadAsync(admin, run), columns);
        var expected = arranged.Records
            .SelectMany(r => r.Consents.Select(c => (r.System.Context, c.Code, Flag: c.Flag ? "true" : "false", Day: c.Requested.ToString("yyyy-MM-dd"))))
            .GroupBy(x => x).Select(g => Key(g.Key.Context, g.Key.Code, g.Key.Flag, g.Key.Day, g.Count().ToString())).Order().ToList();
        Assert.Equal(expected, Keys(rows, columns).Order().ToList());

        // The default summary: per organisation, context, category and flag.
        await DefineAsync(admin, arranged.Nmsc, "default-summary", new { kind = "summary", format = "parquet", validatedOnly = true });
        var summary = Rows("parquet", await DownloadAsync(admin, await RunAsync(admin, arranged.Nmsc, "default-summary")), ExtractColumns.DefaultSummary);
        var validated = arranged.Records
            .SelectMany(r => r.Consents.Where(c => c.Reference is not null).Select(c => (r.System.Context, c.Code, Flag: c.Flag ? "true" : "false")))
            .GroupBy(x => x).Select(g => Key(arranged.Nmsc, g.Key.Context, g.Key.Code, g.Key.Flag, g.Count().ToString())).Order().ToList();
        Assert.Equal(validated, Keys(summary, ExtractColumns.DefaultSummary).Order().ToList());
    }

    [ProviderTheory, Providers]
    public async Task Personal_columns_need_includePersonalData_and_then_carry_each_records_own_contact(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var arranged = await ArrangeAsync(app);
        using var admin = await app.AdminAsync();
        string[] columns = ["sourceCustomerId", "email"];
        var refused = await admin.PutAsJsonAsync($"/admin/organisations/{arranged.Nmsc}/extracts/people",
            new { columns, format = "csv", kind = "detail", rows = "record", validatedOnly = false });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await Json.ReadAsync(refused);
        Assert.Equal("columns[1]", problem["violations"]![0]!["field"]!.GetValue<string>());
        Assert.Equal("personal-data", problem["violations"]![0]!["rule"]!.GetValue<string>());

        await DefineAsync(admin, arranged.Nmsc, "people",
            new { columns, format = "ndjson", kind = "detail", rows = "record", validatedOnly = false, includePersonalData = true });
        var rows = Rows("ndjson", await DownloadAsync(admin, await RunAsync(admin, arranged.Nmsc, "people")), columns);
        Assert.Equal(arranged.Records.Select(r => Key(r.CustomerId, r.Email)).Order(), Keys(rows, columns).Order());
    }

    public static IEnumerable<object[]> Refusals()
    {
        object Valid(Action<JsonObject> change)
        {
            var body = new JsonObject { ["columns"] = new JsonArray("sourceCustomerId"), ["format"] = "csv", ["kind"] = "detail", ["validatedOnly"] = false };
            change(body);
            return body.ToJsonString();
        }
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
        {
            yield return [provider, Valid(b => b["format"] = "xlsx"), "format", "one-of"];
            yield return [provider, Valid(b => b.Remove("format")), "format", "one-of"];
            yield return [provider, Valid(b => b["kind"] = "everything"), "kind", "one-of"];
            yield return [provider, Valid(b => b.Remove("validatedOnly")), "validatedOnly", "required"];
            yield return [provider, Valid(b => b["flag"] = "yes"), "flag", "boolean"];
            yield return [provider, Valid(b => b["changedSince"] = "30 days"), "changedSince", "duration-or-instant"];
            yield return [provider, Valid(b => b["changedSince"] = "2026-11-01"), "changedSince", "duration-or-instant"];
            yield return [provider, Valid(b => b["schedule"] = "every monday"), "schedule", "cron"];
            yield return [provider, Valid(b => b["schedule"] = "0 0 6 1 * *"), "schedule", "cron"];
            yield return [provider, Valid(b => b["columns"] = new JsonArray()), "columns", "required"];
            yield return [provider, Valid(b => b["columns"] = new JsonArray("sourceCustomerId", "shoeSize")), "columns[1]", "column"];
            yield return [provider, Valid(b => b["columns"] = new JsonArray("sourceCustomerId", "sourceCustomerId")), "columns[1]", "unique"];
            yield return [provider, Valid(b => { b["rows"] = "record"; b["columns"] = new JsonArray("consentFlag"); }), "columns[0]", "column"];
            yield return [provider, Valid(b => b["categories"] = new JsonArray("OFFERS", "has space")), "categories[1]", "name"];
            yield return [provider, Valid(b => b["contexts"] = new JsonArray("nowhere")), "contexts[0]", "unknown-context"];
            yield return [provider, Valid(b => b["surprise"] = 1), "surprise", "unknown-member"];
            yield return [provider, Valid(b => { b["kind"] = "summary"; b["columns"] = new JsonArray("context"); }), "columns", "records"];
            yield return [provider, Valid(b => { b["kind"] = "summary"; b["rows"] = "record"; b.Remove("columns"); }), "rows", "detail-only"];
        }
    }

    [ProviderTheory, MemberData(nameof(Refusals))]
    public async Task A_definition_that_breaks_a_rule_is_refused_naming_the_member_and_nothing_is_stored(
        DatabaseProvider provider, string body, string field, string rule)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        long LedgerSize()
        {
            using var scope = app.Scope();
            return app.Db(scope).LedgerEntries.Count();
        }
        var before = LedgerSize();
        var response = await admin.PutAsync($"/admin/organisations/{crm.Nmsc}/extracts/refused",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem.ToJsonString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(problem["violations"]!.AsArray(), v => v!["field"]!.GetValue<string>() == field && v["rule"]!.GetValue<string>() == rule);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{crm.Nmsc}/extracts/refused")).StatusCode);
        // Other organisations' writes may land meanwhile on the shared app; none of this organisation's.
        using var scope = app.Scope();
        Assert.False(await app.Db(scope).LedgerEntries.AnyAsync(e => e.Index >= before && e.Type == ExtractEvents.Configured && e.Payload.Contains(crm.Nmsc)));
    }

    [ProviderTheory, Providers]
    public async Task A_dpo_downloads_everyone_who_opted_in_to_offers_by_email_in_the_last_30_days_as_parquet_and_queries_it_in_duckdb(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var arranged = await ArrangeAsync(app);
        var other = await ArrangeAsync(app);
        using var admin = await app.AdminAsync();
        string[] columns = ["sourceSystem", "sourceCustomerId", "consentCode", "consentFlag", "requestedTimestamp", "channel.EMAIL"];
        await DefineAsync(admin, arranged.Nmsc, "offers-by-email", new
        {
            categories = new[] { "OFFERS" }, channels = new[] { "EMAIL" }, flag = true, changedSince = "P30D", validatedOnly = false,
            columns, format = "parquet", kind = "detail",
        });
        var run = await RunAsync(admin, arranged.Nmsc, "offers-by-email");
        var runId = run["id"]!.GetValue<string>();

        using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", arranged.Nmsc));
        var landing = WebUtility.HtmlDecode(await (await session.GetAsync("/dpo")).Content.ReadAsStringAsync());
        var href = $"/dpo/extracts/{arranged.Nmsc}/{runId}";
        Assert.Contains($"href=\"{href}\"", landing);
        Assert.Contains($"extract-{arranged.Nmsc}-offers-by-email-", landing);
        var download = await session.GetAsync(href);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/vnd.apache.parquet", download.Content.Headers.ContentType?.MediaType);
        var bytes = await download.Content.ReadAsByteArrayAsync();

        var people = DuckDbQuery(bytes, "SELECT \"sourceCustomerId\" FROM read_parquet('{0}') WHERE \"consentFlag\" AND \"channel.EMAIL\" " +
            "AND \"requestedTimestamp\" >= now() - INTERVAL 30 DAY ORDER BY 1", ["sourceCustomerId"]);
        var expected = arranged.Records
            .Where(r => r.Channels.GetValueOrDefault("EMAIL") && r.Consents.Any(c => c.Code == "OFFERS" && c.Flag && c.Requested >= Now.AddDays(-30)))
            .Select(r => r.CustomerId).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, people.Select(p => p["sourceCustomerId"]!).Order(StringComparer.Ordinal).ToList());

        // The download is in the ledger with the DPO's name; another organisation's DPO sees nothing of it.
        using (var scope = app.Scope())
        {
            var downloads = await app.Db(scope).LedgerEntries.AsNoTracking()
                .Where(e => e.Type == ExtractEvents.Downloaded && e.Payload.Contains(runId)).Select(e => e.Payload).ToListAsync();
            Assert.Contains(downloads, p => p.Contains("dpo:"));
        }
        using var otherSession = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", other.Nmsc));
        Assert.DoesNotContain(href, await (await otherSession.GetAsync("/dpo")).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await otherSession.GetAsync(href)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherSession.GetAsync($"/dpo/extracts/{other.Nmsc}/{runId}")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Runs_are_listed_newest_first_with_a_next_link_and_an_unfinished_run_has_no_file(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var admin = await app.AdminAsync();
        await DefineAsync(admin, crm.Nmsc, "empty", new { columns = new[] { "sourceCustomerId" }, format = "json", kind = "detail", validatedOnly = false });
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var run = await RunAsync(admin, crm.Nmsc, "empty");
            Assert.Equal(0, run["rows"]!.GetValue<long>());
            Assert.Equal("[]", System.Text.Encoding.UTF8.GetString(await DownloadAsync(admin, run)));
            ids.Add(run["id"]!.GetValue<string>());
        }
        var seen = new List<string>();
        var next = $"/admin/organisations/{crm.Nmsc}/extracts/empty/runs?limit=2";
        while (next is not null)
        {
            var page = await Json.ReadAsync(await admin.GetAsync(next));
            seen.AddRange(page["runs"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
            next = page["_links"]!["next"]?["href"]?.GetValue<string>();
        }
        Assert.Equal(Enumerable.Reverse(ids), seen);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"/admin/organisations/{crm.Nmsc}/extracts/empty/runs?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{crm.Nmsc}/extracts/empty/runs/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/admin/organisations/{crm.Nmsc}/extracts/nothing:run", null)).StatusCode);

        // A run still waiting answers 409 for its file.
        using var scope = app.Scope();
        var db = app.Db(scope);
        var definition = await db.ExtractDefinitions.SingleAsync(d => d.Nmsc == crm.Nmsc && d.Name == "empty");
        var waiting = ExtractRunner.NewRun(definition, "test:waiting", ExtractTriggers.OnDemand, "test", DateTime.UtcNow);
        waiting.State = ExtractRunStates.Running;
        waiting.LeaseUntil = DateTime.UtcNow.AddHours(1);
        db.ExtractRuns.Add(waiting);
        await db.SaveChangesAsync();
        Assert.Equal(HttpStatusCode.Conflict,
            (await admin.GetAsync($"/admin/organisations/{crm.Nmsc}/extracts/empty/runs/{waiting.Id}/file")).StatusCode);
    }
}
