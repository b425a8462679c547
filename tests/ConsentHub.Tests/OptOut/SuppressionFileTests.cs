using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.OptOut;
using ConsentHub.Tests.Bulk;
using ConsentHub.Tests.Infrastructure;
using CsvHelper;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ConsentHub.Tests.OptOut;

/// <summary>
/// Suppression files (issue 15 §4): settings, the per-period generator (exactly once across instances), contents (clear,
/// hashed, erased, industry), the ledger entry, list and download (API and DPO page), generate-now.
/// The suppression entries are arranged with <see cref="OptOutAsync"/>, which writes the rows the upload writes (an opt-out
/// record with its wrapped key, and its entries with sealed values and hashes); at merge it is meant to go through the upload.
/// </summary>
public sealed class SuppressionFileTests
{
    /// <summary>
    /// Passes are driven by the tests. The other workers are off too: the tests move a fake clock by days, which would wake
    /// each of them at every step (checkpoints, sweeps), and on SQLite their writes make every pass wait for the write lock.
    /// </summary>
    static readonly Dictionary<string, string?> NoWorker = new()
    {
        ["ConsentHub:SuppressionFiles:WorkerEnabled"] = "false",
        ["ConsentHub:Ledger:CheckpointWorkerEnabled"] = "false",
        ["ConsentHub:Validation:WorkerEnabled"] = "false",
        ["ConsentHub:Propagation:DispatcherEnabled"] = "false",
        ["ConsentHub:OptOut:Recovery:Enabled"] = "false",
    };

    /// <summary>One arranged suppression entry, as the test knows it independently of the hub.</summary>
    sealed record Arranged(long Id, Guid OptOutId, string Kind, string Normalised, string Sha256, DateTime OptedOutAt)
    {
        public DateTime? SupersededAt { get; set; }

        public bool InForceAt(DateTime cutOff) => OptedOutAt < cutOff && (SupersededAt is null || SupersededAt > cutOff);
    }

    sealed record FileLine(string Kind, string Value, string? OptedOutAt, string Source, bool? Hashed);

    static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    static SuppressionIdentifier Email(string address) => SuppressionIdentifiers.Email(address) ?? throw new ArgumentException(address);

    /// <summary>Writes what the upload writes for one opt-out record naming <paramref name="identifiers"/> at <paramref name="at"/>.</summary>
    static async Task<List<Arranged>> OptOutAsync(HubApp app, string nmsc, DateTime at, params SuppressionIdentifier[] identifiers)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        var vault = scope.ServiceProvider.GetRequiredService<OptOutVault>();
        var id = Guid.CreateVersion7();
        var transactionId = Guid.CreateVersion7();
        var key = OptOutVault.NewKey();
        db.OptOutTransactions.Add(new OptOutTransaction
        {
            Id = transactionId, Nmsc = nmsc, Context = "toyota", SourceSystem = "web", ApiKeyId = Guid.NewGuid(), ReceivedAt = at, Successful = 1,
        });
        db.OptOutRecords.Add(new OptOutRecord
        {
            Id = id, TransactionId = transactionId, Position = 0, Nmsc = nmsc, Successful = true, Validation = "1", ReceivedAt = at, AppliedAt = at,
            Sealed = OptOutVault.SealText(key, id, OptOutVault.FieldsPurpose, "{}"), ProtectedKey = vault.Wrap(id, key),
        });
        var entries = identifiers.Select(i => new SuppressionEntry
        {
            Nmsc = nmsc, OptOutId = id, Kind = i.Kind, Sha256 = i.Sha256, Source = "toyota/web", OptedOutAt = at,
            SealedValue = OptOutVault.SealText(key, id, OptOutVault.EntryPurpose(i.Kind), i.Normalised),
        }).ToList();
        db.SuppressionEntries.AddRange(entries);
        await db.SaveChangesAsync();
        Assert.All(entries, e => Assert.True(e.Id > 0));
        return [.. entries.Select(e => new Arranged(e.Id, id, e.Kind, identifiers.Single(i => i.Kind == e.Kind && i.Sha256 == e.Sha256).Normalised, e.Sha256, at))];
    }

    static async Task SupersedeAsync(HubApp app, Arranged entry, DateTime at)
    {
        using var scope = app.Scope();
        var changed = await app.Db(scope).SuppressionEntries.Where(e => e.Id == entry.Id).ExecuteUpdateAsync(s => s.SetProperty(e => e.SupersededAt, at));
        Assert.Equal(1, changed);
        entry.SupersededAt = at;
    }

    static async Task JoinIndustryAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        var db = app.Db(scope);
        db.DataSharingAgreements.Add(new DataSharingAgreement
        {
            Nmsc = nmsc, AgreementReference = "DSA-" + nmsc, SignedOn = new DateOnly(2026, 1, 1), JoinedAt = DateTime.UtcNow, JoinedLedgerIndex = 0,
        });
        await db.SaveChangesAsync();
        Assert.True(await IndustryPool.IsMemberAsync(db, nmsc, CancellationToken.None));
    }

    static async Task ConfigureAsync(HttpClient admin, string nmsc, object settings)
    {
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/suppression-files", settings);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    static async Task<JsonArray> GenerateNowAsync(HttpClient admin, string nmsc)
    {
        var response = await admin.PostAsync($"/admin/organisations/{nmsc}/suppression-files:generate", null);
        var body = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToJsonString());
        return body["files"]!.AsArray();
    }

    static async Task<int> PassAsync(HubApp app)
    {
        using var scope = app.Scope();
        return await scope.ServiceProvider.GetRequiredService<SuppressionFileGenerator>().GenerateDueAsync(CancellationToken.None);
    }

    static async Task<List<SuppressionFile>> FilesAsync(HubApp app, string nmsc)
    {
        using var scope = app.Scope();
        return await app.Db(scope).SuppressionFiles.AsNoTracking().Where(f => f.Nmsc == nmsc).OrderBy(f => f.CutOff).ThenBy(f => f.Kind).ThenBy(f => f.Format).ToListAsync();
    }

    static async Task<byte[]> DownloadAsync(HttpClient client, string nmsc, Guid id)
    {
        var response = await client.GetAsync($"/nmscs/{nmsc}/suppression-files/{id}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>A file's lines, read back with CsvHelper's reader or as a JSON array; the header (or members) checked.</summary>
    static List<FileLine> Parse(string format, byte[] bytes, bool hashedFile)
    {
        string[] columns = hashedFile ? ["kind", "value", "opted_out_at", "source"] : ["kind", "value", "opted_out_at", "source", "hashed"];
        var lines = new List<FileLine>();
        if (format == "csv")
        {
            using var reader = CsvReader.Create(bytes, CsvReaderOptions.Default);
            reader.ReadHeader();
            Assert.Equal(columns, reader.Headers.ToArray());
            while (reader.Read())
            {
                Assert.Equal(columns.Length, reader.FieldCount);
                var at = reader.GetString(2);
                lines.Add(new FileLine(reader.GetString(0), reader.GetString(1), at.Length == 0 ? null : at, reader.GetString(3),
                    hashedFile ? null : bool.Parse(reader.GetString(4))));
            }
            return lines;
        }
        var array = Assert.IsType<JsonArray>(JsonNode.Parse(bytes));
        foreach (var item in array)
        {
            var line = item!.AsObject();
            Assert.Equal(columns, line.Select(m => m.Key).ToArray());
            lines.Add(new FileLine(line["kind"]!.GetValue<string>(), line["value"]!.GetValue<string>(), line["opted_out_at"]?.GetValue<string>(),
                line["source"]!.GetValue<string>(), hashedFile ? null : line["hashed"]!.GetValue<bool>()));
        }
        return lines;
    }

    // ---- the schedule -----------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task A_month_walked_day_by_day_by_two_instances_issues_30_daily_full_files_and_30_deltas_per_format_exactly_once(DatabaseProvider provider)
    {
        var start = DateTime.UtcNow.Date.AddDays(1);
        var clock = new FakeTimeProvider(new DateTimeOffset(start.AddDays(-3)));
        await using var first = await HubApp.StartAsync(provider, NoWorker, s => s.AddSingleton<TimeProvider>(clock));
        await using var second = first.SecondInstance(NoWorker, s => s.AddSingleton<TimeProvider>(clock));
        var nmsc = (await first.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        var arranged = new List<Arranged>();
        arranged.AddRange(await OptOutAsync(first, nmsc, start.AddDays(-2), Email("early@example.com"),
            SuppressionIdentifiers.Phone("941-867-5309", "US")!));
        using (var admin = await first.AdminAsync())
            await ConfigureAsync(admin, nmsc, new { frequency = "daily", formats = new[] { "csv", "json" }, hashed = false });

        var issued = 0;
        for (var day = 0; day < 30; day++)
        {
            var cutOff = start.AddDays(day);
            clock.SetUtcNow(cutOff);
            var passes = await Task.WhenAll(PassAsync(first), PassAsync(second), PassAsync(first), PassAsync(second));
            Assert.True(passes.Sum() == 4, $"day {day}: {string.Join(",", passes)} files issued");
            issued += passes.Sum();
            // During the day: a new opt-out; one at the next day's very cut-off (it belongs to the file after); a supersession.
            arranged.AddRange(await OptOutAsync(first, nmsc, cutOff.AddHours(6), Email($"person{day}@example.com")));
            if (day == 20) arranged.AddRange(await OptOutAsync(first, nmsc, cutOff.AddDays(1), Email("at-the-cut-off@example.com")));
            if (day == 10) await SupersedeAsync(first, arranged.Single(a => a.Normalised == "person3@example.com"), cutOff.AddHours(7));
        }
        Assert.Equal(120, issued);

        var files = await FilesAsync(first, nmsc);
        Assert.Equal(120, files.Count);
        Assert.All(files, f => Assert.NotNull(f.LedgerIndex));
        Assert.Equal(files.Count, files.Select(f => (f.Slot, f.Kind, f.Format)).Distinct().Count());
        foreach (var format in new[] { "csv", "json" })
        {
            foreach (var kind in new[] { "full", "delta" })
            {
                var series = files.Where(f => f.Format == format && f.Kind == kind).ToList();
                Assert.Equal(Enumerable.Range(0, 30).Select(d => start.AddDays(d)), series.Select(f => f.PeriodStart));
                Assert.All(series, f => Assert.Equal(f.PeriodStart.AddDays(1), f.PeriodEnd));
            }
        }

        using var reader = await first.AdminAsync();
        foreach (var file in files)
        {
            var lines = Parse(file.Format, await DownloadAsync(reader, nmsc, file.Id), hashedFile: false);
            Assert.Equal(file.Lines, lines.Count);
            var expected = arranged.Where(a => a.InForceAt(file.CutOff));
            if (file.Kind == "delta")
            {
                var previous = file.CutOff == start ? (DateTime?)null : file.CutOff.AddDays(-1);
                Assert.Equal(previous, file.DeltaFrom);
                if (previous is { } from) expected = expected.Where(a => a.OptedOutAt >= from);
            }
            Assert.Equal(expected.Select(a => a.Normalised).Order(), lines.Select(l => l.Value).Order());
            Assert.All(lines, l => Assert.False(l.Hashed));
        }
        // Spot checks of the model itself: the superseded entry left the full file, the cut-off instant belongs to the next.
        var day11 = files.Single(f => f.Kind == "full" && f.Format == "csv" && f.CutOff == start.AddDays(11));
        Assert.DoesNotContain(Parse("csv", await DownloadAsync(reader, nmsc, day11.Id), false), l => l.Value == "person3@example.com");
        var day10 = files.Single(f => f.Kind == "full" && f.Format == "csv" && f.CutOff == start.AddDays(10));
        Assert.Contains(Parse("csv", await DownloadAsync(reader, nmsc, day10.Id), false), l => l.Value == "person3@example.com");
        var delta21 = files.Single(f => f.Kind == "delta" && f.Format == "json" && f.CutOff == start.AddDays(21));
        var delta22 = files.Single(f => f.Kind == "delta" && f.Format == "json" && f.CutOff == start.AddDays(22));
        Assert.DoesNotContain(Parse("json", await DownloadAsync(reader, nmsc, delta21.Id), false), l => l.Value == "at-the-cut-off@example.com");
        Assert.Contains(Parse("json", await DownloadAsync(reader, nmsc, delta22.Id), false), l => l.Value == "at-the-cut-off@example.com");
    }

    [ProviderTheory, Providers]
    public async Task Weekly_files_start_on_monday_monthly_files_on_the_first_and_a_hub_that_was_down_issues_only_the_current_period(DatabaseProvider provider)
    {
        var wednesday = DateTime.UtcNow.Date.AddDays(1);
        while (wednesday.DayOfWeek != DayOfWeek.Wednesday) wednesday = wednesday.AddDays(1);
        var clock = new FakeTimeProvider(new DateTimeOffset(wednesday.AddHours(10)));
        await using var app = await HubApp.StartAsync(provider, NoWorker, s => s.AddSingleton<TimeProvider>(clock));
        var nmsc = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        // Tokens live on the hub's clock, which the test moves by days: a fresh one for each request.
        async Task ConfigureNowAsync(object settings)
        {
            using var admin = await app.AdminAsync();
            await ConfigureAsync(admin, nmsc, settings);
        }
        await OptOutAsync(app, nmsc, wednesday.AddDays(-10), Email("before@example.com"));

        await ConfigureNowAsync(new { frequency = "weekly", formats = new[] { "csv" } });
        Assert.Equal(2, await PassAsync(app));
        var monday = wednesday.AddDays(-2);
        Assert.All(await FilesAsync(app, nmsc), f => Assert.Equal((monday, monday.AddDays(7), "weekly"), (f.PeriodStart, f.PeriodEnd, f.Frequency)));
        Assert.Equal(0, await PassAsync(app));
        clock.SetUtcNow(monday.AddDays(7).AddSeconds(-1));
        Assert.Equal(0, await PassAsync(app));
        clock.SetUtcNow(monday.AddDays(7));
        Assert.Equal(2, await PassAsync(app));
        Assert.Equal(2, (await FilesAsync(app, nmsc)).Count(f => f.PeriodStart == monday.AddDays(7)));

        await ConfigureNowAsync(new { frequency = "monthly", formats = new[] { "csv" } });
        var now = monday.AddDays(7);
        var firstOfMonth = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.Equal(2, await PassAsync(app));
        Assert.Equal(2, (await FilesAsync(app, nmsc)).Count(f => f.Frequency == "monthly" && f.PeriodStart == firstOfMonth && f.PeriodEnd == firstOfMonth.AddMonths(1)));
        clock.SetUtcNow(firstOfMonth.AddMonths(1).AddSeconds(-1));
        Assert.Equal(0, await PassAsync(app));
        clock.SetUtcNow(firstOfMonth.AddMonths(1));
        Assert.Equal(2, await PassAsync(app));

        // Daily, then the hub is down for five days: it issues today's files, not the missed days'; the delta spans the gap.
        await ConfigureNowAsync(new { frequency = "daily", formats = new[] { "csv" } });
        Assert.Equal(2, await PassAsync(app));
        var lastDaily = firstOfMonth.AddMonths(1);
        var gap = await OptOutAsync(app, nmsc, lastDaily.AddDays(2), Email("while-down@example.com"));
        var back = lastDaily.AddDays(5).AddHours(9);
        clock.SetUtcNow(back);
        Assert.Equal(2, await PassAsync(app));
        Assert.Equal(0, await PassAsync(app));
        var daily = (await FilesAsync(app, nmsc)).Where(f => f.Frequency == "daily").ToList();
        Assert.Equal([lastDaily, lastDaily, back.Date, back.Date], daily.Select(f => f.PeriodStart).Order());
        var delta = daily.Single(f => f.Kind == "delta" && f.PeriodStart == back.Date);
        Assert.Equal(lastDaily, delta.DeltaFrom);
        using var reader = await app.AdminAsync();
        Assert.Equal(["while-down@example.com"], Parse("csv", await DownloadAsync(reader, nmsc, delta.Id), false).Select(l => l.Value));
        Assert.Single(gap);
    }

    [ProviderTheory, Providers]
    public async Task The_worker_issues_the_current_periods_files_by_itself(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider, new() { ["ConsentHub:SuppressionFiles:PollSeconds"] = "1" });
        var nmsc = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        await OptOutAsync(app, nmsc, DateTime.UtcNow.Date.AddHours(-1), Email("someone@example.com"));
        using var admin = await app.AdminAsync();
        await ConfigureAsync(admin, nmsc, new { frequency = "daily", formats = new[] { "json" } });

        var until = DateTime.UtcNow.AddSeconds(30);
        List<SuppressionFile> files;
        while ((files = await FilesAsync(app, nmsc)).Count(f => f.LedgerIndex != null) < 2 && DateTime.UtcNow < until) await Task.Delay(100);
        Assert.Equal(2, files.Count);
        Assert.All(files, f => Assert.Equal(DateTime.UtcNow.Date, f.PeriodStart));
        var full = files.Single(f => f.Kind == "full");
        Assert.Equal(["someone@example.com"], Parse("json", await DownloadAsync(admin, nmsc, full.Id), false).Select(l => l.Value));
    }

    // ---- contents ---------------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task A_hashed_file_holds_sha256_of_each_normalised_identifier_and_its_bytes_are_the_ones_the_ledger_records(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        var identifiers = new[]
        {
            Email("  John.Doe@Example.COM "),
            SuppressionIdentifiers.Phone("(941) 867-5309", "US")!,
            SuppressionIdentifiers.Postal("John", "Doe", "123  main st", "34323-1234")!,
        };
        // The normalised forms, written out here: what every party hashes.
        string[] normalised = ["john.doe@example.com", "+19418675309", "JOHN|DOE|123 MAIN ST|34323"];
        Assert.Equal(normalised, identifiers.Select(i => i.Normalised));
        await OptOutAsync(app, nmsc, DateTime.UtcNow.AddMinutes(-5), identifiers);
        using var admin = await app.AdminAsync();
        await ConfigureAsync(admin, nmsc, new { frequency = "daily", formats = new[] { "csv", "json" }, hashed = true });

        var made = await GenerateNowAsync(admin, nmsc);
        Assert.Equal(["full/csv", "delta/csv", "full/json", "delta/json"], made.Select(f => $"{f!["kind"]}/{f["format"]}"));
        Assert.All(made, f => Assert.Equal("on-demand", f!["frequency"]!.GetValue<string>()));
        foreach (var made1 in made)
        {
            var file = made1!.AsObject();
            var format = file["format"]!.GetValue<string>();
            var response = await admin.GetAsync(file["_links"]!["self"]!["href"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(format == "csv" ? "text/csv" : "application/json", response.Content.Headers.ContentType?.MediaType);
            var disposition = response.Content.Headers.ContentDisposition!;
            Assert.Equal("attachment", disposition.DispositionType);
            var fileName = disposition.FileName?.Trim('"') ?? "";
            Assert.StartsWith($"suppression-{nmsc}-on-demand-", fileName);
            Assert.EndsWith($"-{file["kind"]}-hashed.{format}", fileName);
            var digest = SHA256.HashData(bytes);
            Assert.Equal($"sha-256=:{Convert.ToBase64String(digest)}:", Assert.Single(response.Headers.GetValues("Repr-Digest")));

            var lines = Parse(format, bytes, hashedFile: true);
            Assert.Equal(normalised.Select(Sha256Hex).Order(), lines.Select(l => l.Value).Order());
            Assert.Equal(["email", "phone", "postal"], lines.Select(l => l.Kind).Order());
            Assert.All(lines, l => Assert.Equal("toyota/web", l.Source));
            Assert.All(lines, l => Assert.EndsWith("Z", l.OptedOutAt));

            // The ledger's entry names these very bytes.
            var entry = JsonNode.Parse((await Json.ReadAsync(await admin.GetAsync($"/ledger/entries/{file["ledgerIndex"]}")))["canonical"]!.GetValue<string>())!;
            Assert.Equal("suppression-file-issued", entry["type"]!.GetValue<string>());
            var payload = entry["payload"]!;
            Assert.Equal(Convert.ToHexStringLower(digest), payload["sha256"]!.GetValue<string>());
            Assert.Equal(bytes.Length, payload["size"]!.GetValue<long>());
            Assert.Equal(3, payload["lines"]!.GetValue<int>());
            Assert.Equal(file["id"]!.GetValue<string>(), payload["id"]!.GetValue<string>());
            Assert.Equal(nmsc, payload["nmsc"]!.GetValue<string>());
        }
        var verification = await Json.ReadAsync(await admin.GetAsync("/ledger/verify"));
        Assert.True(verification["valid"]!.GetValue<bool>(), verification.ToJsonString());
    }

    [ProviderTheory, Providers]
    public async Task A_clear_file_opens_each_value_and_writes_an_erased_persons_entry_as_its_hash_marked_hashed(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        var at = HubTimeSeconds(DateTime.UtcNow.AddMinutes(-5));
        var kept = Assert.Single(await OptOutAsync(app, nmsc, at, Email("Kept@Example.com")));
        var erased = Assert.Single(await OptOutAsync(app, nmsc, at, Email("erased@example.com")));
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            // What erasure does: the sealed value and the record's key are destroyed, the hash stays.
            Assert.Equal(1, await db.SuppressionEntries.Where(e => e.Id == erased.Id).ExecuteUpdateAsync(s => s.SetProperty(e => e.SealedValue, (byte[]?)null)));
            Assert.Equal(1, await db.OptOutRecords.Where(r => r.Id == erased.OptOutId)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.ProtectedKey, (string?)null).SetProperty(r => r.Sealed, (byte[]?)null)));
        }
        using var admin = await app.AdminAsync();
        await ConfigureAsync(admin, nmsc, new { frequency = "weekly", formats = new[] { "csv", "json" }, hashed = false });

        foreach (var file in (await GenerateNowAsync(admin, nmsc)).Where(f => f!["kind"]!.GetValue<string>() == "full"))
        {
            var format = file!["format"]!.GetValue<string>();
            var lines = Parse(format, await DownloadAsync(admin, nmsc, Guid.Parse(file["id"]!.GetValue<string>())), hashedFile: false);
            Assert.Equal(2, lines.Count);
            var stamp = at.ToString("yyyy-MM-dd'T'HH:mm:ss'.000Z'", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains(new FileLine("email", "kept@example.com", stamp, "toyota/web", false), lines);
            Assert.Contains(new FileLine("email", Sha256Hex("erased@example.com"), stamp, "toyota/web", true), lines);
            Assert.DoesNotContain(lines, l => l.Value.Contains("erased", StringComparison.Ordinal));
            Assert.Equal(kept.Sha256, Sha256Hex("kept@example.com"));
        }
    }

    static DateTime HubTimeSeconds(DateTime utc) => new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);

    [ProviderTheory, Providers]
    public async Task Industry_lines_appear_hashed_only_in_members_files_and_never_repeat_the_members_own_entries(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var memberA = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        var memberB = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        var outsider = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        var at = DateTime.UtcNow.AddMinutes(-5);
        await OptOutAsync(app, memberA, at, Email($"alice-{memberA}@example.com"), Email($"shared-{memberB}@example.com"));
        await OptOutAsync(app, memberB, at, Email($"shared-{memberB}@example.com"), Email($"bob-{memberB}@example.com"));
        await OptOutAsync(app, outsider, at, Email($"carol-{outsider}@example.com"));
        var providerLine = Sha256Hex($"provider-{memberB}@example.com");
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.IndustryOptOuts.Add(new IndustryOptOut { Provider = "acme-" + memberB, Kind = "email", Sha256 = providerLine, AddedAt = at });
            await db.SaveChangesAsync();
        }
        await JoinIndustryAsync(app, memberA);
        await JoinIndustryAsync(app, memberB);
        using var admin = await app.AdminAsync();

        // Not a member: refused, nothing stored.
        var refused = await admin.PutAsJsonAsync($"/admin/organisations/{outsider}/suppression-files", new { frequency = "daily", formats = new[] { "csv" }, industry = true });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("data sharing agreement", (await Json.ReadAsync(refused))["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{outsider}/suppression-files")).StatusCode);

        await ConfigureAsync(admin, memberB, new { frequency = "daily", formats = new[] { "csv" }, hashed = false, industry = true });
        var made = await GenerateNowAsync(admin, memberB);
        var full = made.Single(f => f!["kind"]!.GetValue<string>() == "full")!;
        Assert.True(full["industry"]!.GetValue<bool>());
        var bytes = await DownloadAsync(admin, memberB, Guid.Parse(full["id"]!.GetValue<string>()));
        var lines = Parse("csv", bytes, hashedFile: false);
        var pool = lines.Where(l => l.Source == "industry").ToList();
        Assert.Contains(new FileLine("email", Sha256Hex($"alice-{memberA}@example.com"), null, "industry", true), pool);
        Assert.Contains(new FileLine("email", providerLine, null, "industry", true), pool);
        Assert.All(pool, l => Assert.True(SuppressionIdentifiers.IsSha256(l.Value)));
        // B's own entries are its own lines, in clear, and not repeated from the pool; the outsider's are nowhere.
        Assert.Single(lines, l => l.Value == $"shared-{memberB}@example.com");
        Assert.DoesNotContain(lines, l => l.Value == Sha256Hex($"shared-{memberB}@example.com"));
        Assert.DoesNotContain(pool, l => l.Value == Sha256Hex($"bob-{memberB}@example.com"));
        Assert.DoesNotContain(lines, l => l.Value == Sha256Hex($"carol-{outsider}@example.com"));
        // No line and no byte names the member an entry came from.
        Assert.DoesNotContain(memberA, Encoding.UTF8.GetString(bytes));
        var delta = made.Single(f => f!["kind"]!.GetValue<string>() == "delta")!;
        Assert.DoesNotContain(Parse("csv", await DownloadAsync(admin, memberB, Guid.Parse(delta["id"]!.GetValue<string>())), false), l => l.Source == "industry");

        // The outsider's file has no pool; nor has B's once B has left.
        await ConfigureAsync(admin, outsider, new { frequency = "daily", formats = new[] { "csv" }, industry = false });
        var outsiderFull = (await GenerateNowAsync(admin, outsider)).Single(f => f!["kind"]!.GetValue<string>() == "full")!;
        Assert.Equal([$"carol-{outsider}@example.com"], Parse("csv", await DownloadAsync(admin, outsider, Guid.Parse(outsiderFull["id"]!.GetValue<string>())), false).Select(l => l.Value));
        using (var scope = app.Scope())
            Assert.Equal(1, await app.Db(scope).DataSharingAgreements.Where(a => a.Nmsc == memberB).ExecuteUpdateAsync(s => s.SetProperty(a => a.LeftAt, DateTime.UtcNow)));
        var afterLeaving = (await GenerateNowAsync(admin, memberB)).Single(f => f!["kind"]!.GetValue<string>() == "full")!;
        Assert.False(afterLeaving["industry"]!.GetValue<bool>());
        Assert.DoesNotContain(Parse("csv", await DownloadAsync(admin, memberB, Guid.Parse(afterLeaving["id"]!.GetValue<string>())), false), l => l.Source == "industry");
    }

    // ---- settings ---------------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Settings_are_checked_field_by_field_ledgered_and_deleting_them_stops_generation_but_keeps_the_files(DatabaseProvider provider)
    {
        // Its own app without the worker: after the delete, nothing may make a file but this test.
        await using var app = await HubApp.StartAsync(provider, NoWorker);
        var nmsc = (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc;
        using var admin = await app.AdminAsync();
        var path = $"/admin/organisations/{nmsc}/suppression-files";
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(path)).StatusCode);

        foreach (var (body, field) in new (string, string)[]
                 {
                     ("""{"frequency":"hourly","formats":["csv"]}""", "frequency"),
                     ("""{"formats":["csv"]}""", "frequency"),
                     ("""{"frequency":"daily","formats":[]}""", "formats"),
                     ("""{"frequency":"daily","formats":["xml"]}""", "formats"),
                     ("""{"frequency":"daily","formats":["csv","csv"]}""", "formats"),
                     ("""{"frequency":"daily","formats":"csv"}""", "formats"),
                     ("""{"frequency":"daily","formats":["csv"],"hashed":"yes"}""", "hashed"),
                     ("""{"frequency":"daily","formats":["csv"],"industry":1}""", "industry"),
                     ("""{"frequency":"daily","formats":["csv"],"Hashed":true}""", "Hashed"),
                     ("""{"frequency":"daily",""", "body"),
                 })
        {
            var response = await admin.PutAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(problem["errors"]!.AsObject().ContainsKey(field) || problem["detail"]!.GetValue<string>().Contains(field, StringComparison.Ordinal),
                $"{body}: {problem.ToJsonString()}");
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(path)).StatusCode);
        }
        var unknown = await admin.PutAsJsonAsync($"/admin/organisations/{HubApp.Unique("tgb")}/suppression-files", new { frequency = "daily", formats = new[] { "csv" } });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync(path + ":generate", null)).StatusCode);

        var put = await admin.PutAsJsonAsync(path, new { frequency = "monthly", formats = new[] { "json", "csv" }, hashed = true });
        var settings = await Json.ReadAsync(put);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("monthly", settings["frequency"]!.GetValue<string>());
        Assert.Equal(["csv", "json"], settings["formats"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.True(settings["hashed"]!.GetValue<bool>());
        Assert.False(settings["industry"]!.GetValue<bool>());
        var got = await Json.ReadAsync(await admin.GetAsync(path));
        Assert.Equal(settings.ToJsonString(), got.ToJsonString());
        using (var scope = app.Scope())
        {
            var entries = await app.Db(scope).LedgerEntries.AsNoTracking().Where(e => e.Type == "suppression-files-configured" && e.Payload.Contains(nmsc)).ToListAsync();
            var entry = JsonNode.Parse(Assert.Single(entries).Payload)!;
            Assert.Equal("monthly", entry["frequency"]!.GetValue<string>());
        }
        // The same settings again change nothing and record nothing.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync(path, new { frequency = "monthly", formats = new[] { "csv", "json" }, hashed = true })).StatusCode);

        var made = await GenerateNowAsync(admin, nmsc);
        Assert.Equal(4, made.Count);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync(path + ":generate", null)).StatusCode);
        await PassAsync(app);
        var files = await FilesAsync(app, nmsc);
        Assert.Equal(made.Select(f => Guid.Parse(f!["id"]!.GetValue<string>())).Order(), files.Select(f => f.Id).Order());
        var list = await Json.ReadAsync(await admin.GetAsync($"/nmscs/{nmsc}/suppression-files"));
        Assert.Equal(4, list["count"]!.GetValue<int>());
        using (var scope = app.Scope())
            Assert.Equal(2, await app.Db(scope).LedgerEntries.CountAsync(e => e.Type == "suppression-files-configured" && e.Payload.Contains(nmsc)));
    }

    // ---- who reads --------------------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Files_are_read_by_the_admin_the_organisations_dpo_and_source_systems_and_are_404_to_other_organisations(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await OptOutAsync(app, crm.Nmsc, DateTime.UtcNow.AddMinutes(-1), Email("reader@example.com"));
        using var admin = await app.AdminAsync();
        await ConfigureAsync(admin, crm.Nmsc, new { frequency = "daily", formats = new[] { "csv" } });
        await ConfigureAsync(admin, other.Nmsc, new { frequency = "daily", formats = new[] { "csv" } });
        var made = await GenerateNowAsync(admin, crm.Nmsc);
        var otherFile = Guid.Parse((await GenerateNowAsync(admin, other.Nmsc))[0]!["id"]!.GetValue<string>());
        var id = Guid.Parse(made[0]!["id"]!.GetValue<string>());
        var list = $"/nmscs/{crm.Nmsc}/suppression-files";

        using var dpo = await Rights.People.AsDpoAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc));
        using var system = await app.AsAsync(crm);
        using var otherDpo = await Rights.People.AsDpoAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", other.Nmsc));
        using var otherSystem = await app.AsAsync(other);
        using var writeOnly = app.WithToken(await app.TokenAsync(crm.ClientId, crm.ClientSecret, new() { ["grant_type"] = "client_credentials", ["scope"] = "write" }));
        using var anonymous = app.CreateClient();

        var expected = await DownloadAsync(admin, crm.Nmsc, id);
        foreach (var (who, client) in new[] { ("admin", admin), ("own DPO", dpo), ("own source system", system) })
        {
            var page = await client.GetAsync(list);
            var body = await Json.ReadAsync(page);
            Assert.True(page.StatusCode == HttpStatusCode.OK, $"{who}: {(int)page.StatusCode} {body.ToJsonString()}");
            var indexes = body["files"]!.AsArray().Select(f => f!["ledgerIndex"]!.GetValue<long>()).ToList();
            Assert.Equal(indexes.OrderDescending(), indexes);
            Assert.Contains(body["files"]!.AsArray(), f => f!["id"]!.GetValue<string>() == id.ToString());
            Assert.Equal(expected, await DownloadAsync(client, crm.Nmsc, id));
        }
        foreach (var (who, client) in new[] { ("another organisation's DPO", otherDpo), ("another organisation's source system", otherSystem) })
        {
            Assert.True((await client.GetAsync(list)).StatusCode == HttpStatusCode.NotFound, who);
            Assert.True((await client.GetAsync($"{list}/{id}")).StatusCode == HttpStatusCode.NotFound, who);
        }
        // A file of another organisation under this organisation's path is no file of it.
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{list}/{otherFile}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await system.GetAsync($"{list}/{otherFile}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{list}/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writeOnly.GetAsync($"{list}/{id}")).StatusCode);

        // Paging: one per page, newest first, following next.
        var first = await Json.ReadAsync(await admin.GetAsync($"{list}?limit=1"));
        Assert.Equal(1, first["count"]!.GetValue<int>());
        var second = await Json.ReadAsync(await admin.GetAsync(first["_links"]!["next"]!["href"]!.GetValue<string>()));
        Assert.True(first["files"]![0]!["ledgerIndex"]!.GetValue<long>() > second["files"]![0]!["ledgerIndex"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"{list}?limit=0")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_dpo_page_lists_the_organisations_suppression_files_and_its_link_downloads_the_file(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await OptOutAsync(app, crm.Nmsc, DateTime.UtcNow.AddMinutes(-1), Email("page@example.com"));
        using var admin = await app.AdminAsync();
        await ConfigureAsync(admin, crm.Nmsc, new { frequency = "daily", formats = new[] { "json" } });
        var file = (await GenerateNowAsync(admin, crm.Nmsc)).Single(f => f!["kind"]!.GetValue<string>() == "full")!;
        var id = Guid.Parse(file["id"]!.GetValue<string>());
        var expected = await DownloadAsync(admin, crm.Nmsc, id);

        using var session = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", crm.Nmsc));
        var landing = await session.GetAsync("/dpo");
        Assert.Equal(HttpStatusCode.OK, landing.StatusCode);
        var html = WebUtility.HtmlDecode(await landing.Content.ReadAsStringAsync());
        Assert.Contains("Suppression files", html);
        var href = $"/dpo/suppression-files/{crm.Nmsc}/{id}";
        Assert.Contains($"href=\"{href}\"", html);
        Assert.Contains($"suppression-{crm.Nmsc}-on-demand-", html);

        var download = await session.GetAsync(href);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(expected, await download.Content.ReadAsByteArrayAsync());

        using var otherSession = await Dpos.SignInAsync(app, await Dpos.CreateAsync(app, "dpo", "toyota", other.Nmsc));
        Assert.DoesNotContain(href, WebUtility.HtmlDecode(await (await otherSession.GetAsync("/dpo")).Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.NotFound, (await otherSession.GetAsync(href)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherSession.GetAsync($"/dpo/suppression-files/{other.Nmsc}/{id}")).StatusCode);
        using var noSession = Dpos.Browserless(app);
        Assert.Equal(HttpStatusCode.Unauthorized, (await noSession.GetAsync(href)).StatusCode);
    }
}
