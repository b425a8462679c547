using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.OptOut;
using ConsentHub.Tests.Consents;
using ConsentHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.OptOut;

/// <summary>
/// <c>POST /RestServices/OptOut/Upload</c> answers exactly as seed 002 publishes, refuses bad records one by one and bad
/// requests whole, and stores what it accepts sealed, with one ledger entry of keyed commitments.
/// </summary>
public sealed class UploadTests
{
    static readonly string[] SeedMembers = ["status", "transaction_id", "successful", "unsuccessful", "unsuccessful_ids", "results"];

    [ProviderTheory, Providers]
    public async Task The_seeds_sample_body_gets_the_seeds_answer_with_a_record_id_per_record_stored_sealed_and_ledgered(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app, "tgb");
        var sample = OptOuts.SampleBody();

        var response = await OptOuts.PostAsync(app, key, sample);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var answer = JsonDocument.Parse(text);
        using var sent = JsonDocument.Parse(sample);
        var root = answer.RootElement;
        Assert.Equal(SeedMembers, OptOuts.MemberNames(root));
        Assert.True(root.GetProperty("status").GetBoolean());
        var transactionId = Guid.Parse(root.GetProperty("transaction_id").GetString()!);
        Assert.Equal(2, root.GetProperty("successful").GetInt32());
        Assert.Equal(0, root.GetProperty("unsuccessful").GetInt32());
        Assert.Equal(0, root.GetProperty("unsuccessful_ids").GetArrayLength());
        var results = root.GetProperty("results").EnumerateArray().ToList();
        var inputs = sent.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        var recordIds = new List<Guid>();
        for (var i = 0; i < 2; i++)
        {
            // Every field as sent, in the order sent, then the record's id and its outcome.
            Assert.Equal([.. OptOuts.MemberNames(inputs[i]), "recordID", "successful"], OptOuts.MemberNames(results[i]));
            foreach (var field in inputs[i].EnumerateObject()) Assert.Equal(field.Value.GetString(), results[i].GetProperty(field.Name).GetString());
            Assert.True(results[i].GetProperty("successful").GetBoolean());
            recordIds.Add(Guid.Parse(results[i].GetProperty("recordID").GetString()!));
        }
        Assert.NotEqual(recordIds[0], recordIds[1]);

        using var scope = app.Scope();
        var db = app.Db(scope);
        var stored = await db.OptOutTransactions.SingleAsync();
        Assert.Equal((transactionId, "tgb", "toyota", "web", 2, 0), (stored.Id, stored.Nmsc, stored.Context, stored.SourceSystem, stored.Successful, stored.Unsuccessful));
        Assert.Equal((await db.ApiKeys.SingleAsync()).Id, stored.ApiKeyId);
        var records = await db.OptOutRecords.OrderBy(r => r.Position).ToListAsync();
        Assert.Equal(recordIds, records.Select(r => r.Id));
        Assert.All(records, r => Assert.True(r.Successful && r.Validation == "1" && r.ProjectId == "Test Campaign" && r.Sealed is not null && r.ProtectedKey is not null));
        // The placeholder application ran after the commit, once per successful record.
        Assert.All(records, r => Assert.NotNull(r.AppliedAt));
        // Two emails, two phones and the postal identity of each record.
        var entries = await db.SuppressionEntries.OrderBy(e => e.Id).ToListAsync();
        Assert.Equal(10, entries.Count);
        Assert.Equal(["email", "email", "phone", "phone", "postal"], entries.Where(e => e.OptOutId == recordIds[0]).Select(e => e.Kind).Order());
        Assert.All(entries, e => Assert.Equal("toyota/web", e.Source));
        Assert.Contains(entries, e => e.Kind == "email" && e.Sha256 == SuppressionIdentifiers.Email("john.doe@gmail.com")!.Sha256);
        Assert.Contains(entries, e => e.Kind == "postal" && e.Sha256 == Secrets.Sha256Hex("JOHN|DOE|123 MAIN ST|34323") && e.BlindKey is null);
        Assert.Contains(entries, e => e.Kind == "phone" && e.Sha256 == Secrets.Sha256Hex("+19418675309"));

        // One ledger entry for the transaction, naming the records, with keyed commitments and no value or plain hash.
        var entry = await db.LedgerEntries.SingleAsync(e => e.Type == OptOutEvents.Received);
        Assert.All(records, r => Assert.Equal(entry.Index, r.LedgerIndex));
        Assert.Contains(transactionId.ToString(), entry.Payload);
        Assert.All(recordIds, id => Assert.Contains(id.ToString(), entry.Payload));
        Assert.Contains("commitment", entry.Payload);
        foreach (var e in entries) Assert.DoesNotContain(e.Sha256, entry.Payload);
        foreach (var trace in new[] { "john", "gmail", "8675309", "main st", "34323" }) Assert.DoesNotContain(trace, entry.Payload, StringComparison.OrdinalIgnoreCase);

        // No column of any table holds an address, a phone or a name in clear: only sealed.
        Assert.Empty(await PersonalDataTests.CellsContainingAsync(db, ["john.doe@gmail.com", "johndoe8@gmail.com", "867-5309", "8675308", "main st", "sarasota", "does"]));
        using var admin = await app.AdminAsync();
        Assert.True((await Json.ReadAsync(await admin.GetAsync("/ledger/verify")))["valid"]!.GetValue<bool>());
    }

    [ProviderTheory, Providers]
    public async Task An_address_without_the_rest_of_a_postal_identity_is_refused_with_the_seeds_reason_and_the_other_record_is_stored(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        var records = JsonNode.Parse(OptOuts.SampleBody())!.AsArray();
        records[1] = new JsonObject { ["address1"] = "128 Main St", ["validation"] = "2", ["projectid"] = "Test Campaign2" };

        var response = await OptOuts.PostAsync(app, key, records.ToJsonString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var answer = JsonDocument.Parse(text);
        var root = answer.RootElement;
        Assert.Equal(SeedMembers, OptOuts.MemberNames(root));
        Assert.True(root.GetProperty("status").GetBoolean());
        Assert.Equal((1, 1), (root.GetProperty("successful").GetInt32(), root.GetProperty("unsuccessful").GetInt32()));
        Assert.Equal([1], root.GetProperty("unsuccessful_ids").EnumerateArray().Select(e => e.GetInt32()));
        var refused = root.GetProperty("results")[1];
        Assert.Equal(["address1", "validation", "projectid", "successful", "unsuccessful_reason"], OptOuts.MemberNames(refused));
        Assert.False(refused.GetProperty("successful").GetBoolean());
        Assert.Equal("Invalid Address", refused.GetProperty("unsuccessful_reason").GetString());
        var accepted = Guid.Parse(root.GetProperty("results")[0].GetProperty("recordID").GetString()!);

        using var scope = app.Scope();
        var db = app.Db(scope);
        var transactionId = Guid.Parse(root.GetProperty("transaction_id").GetString()!);
        var stored = await db.OptOutRecords.Where(r => r.TransactionId == transactionId).OrderBy(r => r.Position).ToListAsync();
        Assert.Equal(2, stored.Count);
        Assert.Equal(accepted, stored[0].Id);
        Assert.False(stored[1].Successful);
        Assert.Equal("Invalid Address", stored[1].UnsuccessfulReason);
        Assert.NotNull(stored[1].Sealed);
        Assert.Null(stored[1].AppliedAt);
        Assert.False(await db.SuppressionEntries.AnyAsync(e => e.OptOutId == stored[1].Id));
        Assert.Equal(5, await db.SuppressionEntries.CountAsync(e => e.OptOutId == accepted));
    }

    [ProviderTheory, Providers]
    public async Task More_than_100_records_or_none_are_refused_whole_with_status_false_and_nothing_is_stored(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var (_, key) = await OptOuts.SystemWithKeyAsync(app);
        long ledgerBefore;
        using (var scope = app.Scope()) ledgerBefore = await app.Db(scope).LedgerEntries.CountAsync();

        var many = OptOuts.Body([.. Enumerable.Range(0, 101).Select(i => OptOuts.Record($"person{i}@example.com"))]);
        foreach (var body in new[] { many, "[]" })
        {
            var response = await OptOuts.PostAsync(app, key, body);
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem.ToJsonString());
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.False(problem["status"]!.GetValue<bool>());
            Assert.Contains("1 to 100 records", problem["detail"]!.GetValue<string>());
        }

        // Exactly 100 is allowed: the limit is the seed's.
        var hundred = await OptOuts.PostAsync(app, key, OptOuts.Body([.. Enumerable.Range(0, 100).Select(i => OptOuts.Record($"person{i}@example.com"))]));
        Assert.Equal(HttpStatusCode.OK, hundred.StatusCode);
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            Assert.Equal(1, await db.OptOutTransactions.CountAsync());
            Assert.Equal(100, await db.OptOutRecords.CountAsync());
            Assert.Equal(100, await db.SuppressionEntries.CountAsync());
            Assert.Equal(ledgerBefore + 1, await db.LedgerEntries.CountAsync());
            // Nothing of the refused requests: the person of the 101st record was never stored.
            Assert.False(await db.SuppressionEntries.AnyAsync(e => e.Sha256 == SuppressionIdentifiers.Email("person100@example.com")!.Sha256));
        }
    }

    [ProviderTheory, Providers]
    public async Task A_body_that_is_not_json_or_not_an_array_is_refused_whole_with_status_false(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        var sampleObject = JsonNode.Parse(OptOuts.SampleBody())![0]!.ToJsonString();

        foreach (var (body, rule) in new[] { ("not json", "json"), ("", "json"), ("[{\"email1\": ", "json"), (sampleObject, "array"), ("\"text\"", "array"), ("null", "array") })
        {
            var response = await OptOuts.PostAsync(app, key, body);
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {problem.ToJsonString()}");
            Assert.False(problem["status"]!.GetValue<bool>());
            Assert.Equal(rule, problem["violations"]![0]!["rule"]!.GetValue<string>());
        }
        // Over a mebibyte: 413, also with status false.
        var huge = await OptOuts.PostAsync(app, key, "[" + new string(' ', UploadApi.MaxBodyBytes) + "]");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.False((await Json.ReadAsync(huge))["status"]!.GetValue<bool>());

        using var scope = app.Scope();
        Assert.False(await app.Db(scope).OptOutTransactions.AnyAsync(t => t.Nmsc == system.Nmsc));
    }

    public static TheoryData<string, string, string?> Limits()
    {
        var data = new TheoryData<string, string, string?>();
        void Add(string field, int max, char fill = 'a')
        {
            data.Add(field, new string(fill, max), null);
            data.Add(field, new string(fill, max + 1), $"{field}: at most {max} character{(max == 1 ? "" : "s")}");
        }
        Add("firstname", 45);
        Add("lastname", 45);
        Add("address2", 45);
        Add("city", 45);
        Add("state", 2, 'F');
        Add("projectid", 20);
        data.Add("address1", new string('a', 60), null);
        data.Add("address1", new string('a', 61), "address1: at most 60 characters");
        data.Add("email2", new string('a', 188) + "@example.com", null);
        data.Add("email2", new string('a', 189) + "@example.com", "email2: at most 200 characters");
        data.Add("phone1", "+1 941 867 5309", null);
        data.Add("phone1", "+1  941 867 5309", "phone1: at most 15 characters");
        data.Add("phone2", "(727) 867-5309", null);
        data.Add("phone2", "+1 (727) 867-5309", "phone2: at most 15 characters");
        data.Add("validation", "2", null);
        data.Add("validation", "11", "validation: at most 1 character");
        data.Add("zip", "34323", null);
        data.Add("zip", "34323-1234", null);
        data.Add("zip", "34323-12345", "zip: at most 10 characters, five digits or five-dash-four");
        data.Add("zip", "3432", "zip: at most 10 characters, five digits or five-dash-four");
        data.Add("zip", "34323 1234", "zip: at most 10 characters, five digits or five-dash-four");
        data.Add("zip", "ABCDE", "zip: at most 10 characters, five digits or five-dash-four");
        return data;
    }

    [ProviderTheory, MemberData(nameof(Limits))]
    public async Task Every_field_takes_its_seed_size_and_one_more_character_refuses_the_record_naming_the_field(string field, string value, string? reason)
    {
        foreach (var provider in ProvidersAttribute.Both().Select(p => (DatabaseProvider)p[0]))
            await AssertLimitAsync(await HubApp.SharedAsync(provider), field, value, reason);
    }

    static async Task AssertLimitAsync(HubApp app, string field, string value, string? reason)
    {
        var (_, key) = await OptOuts.SystemWithKeyAsync(app);
        // A complete postal identity around the field, so the address fields are judged on their size alone.
        var record = new JsonObject
        {
            ["firstname"] = "John", ["lastname"] = "Doe", ["address1"] = "123 Main St", ["zip"] = "34323", ["email1"] = "john@example.com", ["validation"] = "1",
        };
        record[field] = value;

        var response = await OptOuts.PostAsync(app, key, OptOuts.Body(record));
        var answer = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
        var result = answer["results"]![0]!;
        Assert.Equal(value, result[field]!.GetValue<string>());
        Assert.Equal(reason is null, result["successful"]!.GetValue<bool>());
        Assert.Equal(reason, result["unsuccessful_reason"]?.GetValue<string>());
        Assert.Equal(reason is null, result["recordID"] is not null);
    }

    [ProviderTheory, Providers]
    public async Task Each_broken_rule_refuses_its_record_alone_with_a_reason_naming_the_field_and_the_rule(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        var cases = new (string Json, string? Reason)[]
        {
            ("""{"Email1": "john@example.com", "validation": "1"}""", "Email1: unknown field; the fields are firstname, lastname, address1, address2, city, state, zip, phone1, phone2, email1, email2, validation, projectid (case-sensitive)"),
            ("""{"email1": "john@example.com", "validation": 1}""", "validation: must be a string"),
            ("""{"email1": "john@example.com", "zip": 34323, "validation": "1"}""", "zip: must be a string"),
            ("""{"email1": null, "phone1": "941-867-5309", "validation": "1"}""", "email1: must be a string"),
            ("""{"email1": "john@example.com"}""", "validation: required, \"1\" or \"2\""),
            ("""{"email1": "john@example.com", "validation": "3"}""", "validation: must be \"1\" (the sender verified the request) or \"2\" (it did not)"),
            ("""{"firstname": "John", "lastname": "Doe", "validation": "1"}""", "record: no identifier; send email1, email2, phone1, phone2, or firstname, lastname, address1 and zip together"),
            ("""{"email1": "not an address", "validation": "1"}""", "email1: must be an email address"),
            ("""{"email2": "John <john@example.com>", "validation": "1"}""", "email2: must be an email address"),
            ("""{"phone2": "12", "validation": "1"}""", "phone2: must be a possible phone number (read as dialled in US unless it starts with +)"),
            ("""{"firstname": "John", "lastname": "Doe", "address1": "128 Main St", "validation": "1"}""", "Invalid Address"),
            ("""{"email1": "john@example.com", "email1": "jane@example.com", "validation": "1"}""", "email1: given more than once"),
            ("\"john@example.com\"", "record: must be a JSON object of the seed's fields"),
            ("""{"phone1": "941-867-5309", "validation": "2", "email1": ""}""", null),
        };

        var response = await OptOuts.PostAsync(app, key, "[" + string.Join(",", cases.Select(c => c.Json)) + "]");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var answer = JsonDocument.Parse(text);
        var results = answer.RootElement.GetProperty("results").EnumerateArray().ToList();
        for (var i = 0; i < cases.Length; i++)
        {
            var reason = results[i].TryGetProperty("unsuccessful_reason", out var r) ? r.GetString() : null;
            Assert.True(cases[i].Reason == reason, $"{cases[i].Json}: {reason}");
        }
        Assert.Equal(Enumerable.Range(0, cases.Length - 1), answer.RootElement.GetProperty("unsuccessful_ids").EnumerateArray().Select(e => e.GetInt32()));
        // The refused records are echoed as sent, the number too.
        Assert.Equal(JsonValueKind.Number, results[1].GetProperty("validation").ValueKind);
        Assert.Equal(["successful", "unsuccessful_reason"], OptOuts.MemberNames(results[12]));
    }

    [ProviderTheory, Providers]
    public async Task A_phone_without_a_plus_is_read_in_the_organisations_default_country_us_when_unset(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (us, usKey) = await OptOuts.SystemWithKeyAsync(app);
        var (gb, gbKey) = await OptOuts.SystemWithKeyAsync(app);
        // The keys part of issue 15 sets it through the API; here the organisation row is set directly.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            (await db.Organisations.SingleAsync(o => o.Nmsc == gb.Nmsc)).DefaultCountry = "GB";
            await db.SaveChangesAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await OptOuts.PostAsync(app, usKey, OptOuts.Body(new JsonObject { ["phone1"] = "941-867-5309", ["validation"] = "1" }))).StatusCode);
        var gbAnswer = await Json.ReadAsync(await OptOuts.PostAsync(app, gbKey, OptOuts.Body(
            new JsonObject { ["phone1"] = "07700 900123", ["validation"] = "1" }, new JsonObject { ["phone1"] = "+1 941 867 5309", ["validation"] = "1" })));
        Assert.Equal(2, gbAnswer["successful"]!.GetValue<int>());

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var blindIndex = scope.ServiceProvider.GetRequiredService<BlindIndex>();
            var usEntry = await db.SuppressionEntries.SingleAsync(e => e.Nmsc == us.Nmsc);
            Assert.Equal(Secrets.Sha256Hex("+19418675309"), usEntry.Sha256);
            Assert.Equal(blindIndex.Phone("+19418675309", null), usEntry.BlindKey);
            var gbEntries = await db.SuppressionEntries.Where(e => e.Nmsc == gb.Nmsc).Select(e => e.Sha256).ToListAsync();
            Assert.Equal([Secrets.Sha256Hex("+19418675309"), Secrets.Sha256Hex("+447700900123")], gbEntries.Order());
        }
    }

    [ProviderTheory, Providers]
    public async Task The_same_idempotency_key_and_body_replay_the_first_answer_and_another_body_is_refused_with_422(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        var sample = OptOuts.SampleBody();

        var first = await OptOuts.PostAsync(app, key, sample, "retry-1");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var firstBody = await first.Content.ReadAsByteArrayAsync();
        var again = await OptOuts.PostAsync(app, key, sample, "retry-1");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(firstBody, await again.Content.ReadAsByteArrayAsync());

        var other = await OptOuts.PostAsync(app, key, OptOuts.Body(OptOuts.Record()), "retry-1");
        var problem = await Json.ReadAsync(other);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.False(problem["status"]!.GetValue<bool>());
        var malformed = await OptOuts.PostAsync(app, key, sample, "bad key with spaces");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.False((await Json.ReadAsync(malformed))["status"]!.GetValue<bool>());

        using var scope = app.Scope();
        var db = app.Db(scope);
        Assert.Equal(1, await db.OptOutTransactions.CountAsync(t => t.Nmsc == system.Nmsc));
        // Nothing personal is kept with the key: the replay was rebuilt from the sealed records.
        Assert.Null((await db.IdempotencyRecords.SingleAsync(r => r.Key == "retry-1" && r.Scope == $"source-system:{system.Id}")).ResponseBody);
    }

    [ProviderTheory, Providers]
    public async Task The_client_address_comes_from_x_forwarded_for_only_behind_a_configured_proxy_and_the_referer_is_kept(DatabaseProvider provider)
    {
        foreach (var (proxied, expected) in new[] { (true, "203.0.113.7"), (false, "127.0.0.1") })
        {
            var port = HubApp.FreePort();
            await using var app = await HubApp.StartAsync(provider, proxied ? new() { ["ConsentHub:Proxies:KnownProxies:0"] = "127.0.0.1" } : null, kestrelPort: port);
            var (_, key) = await OptOuts.SystemWithKeyAsync(app);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var request = OptOuts.Request(key, OptOuts.Body(OptOuts.Record()));
            request.Headers.Add("X-Forwarded-For", "203.0.113.7");
            request.Headers.Referrer = new Uri("https://brand.example/unsubscribe?campaign=7");
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);

            using var scope = app.Scope();
            var stored = await app.Db(scope).OptOutTransactions.SingleAsync();
            Assert.Equal(expected, stored.ClientIp);
            Assert.Equal("https://brand.example/unsubscribe?campaign=7", stored.Referer);
        }
    }

    [ProviderTheory, Providers]
    public async Task Without_a_key_in_force_the_upload_is_refused_with_401_and_status_false(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        using var admin = await app.AdminAsync();
        using var anonymous = app.CreateClient();
        var body = OptOuts.Body(OptOuts.Record());

        foreach (var (who, client, apiKey) in new[] { ("no key", anonymous, (string?)null), ("unknown key", anonymous, "chk_" + new string('x', 43)), ("admin token", admin, null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, OptOuts.UploadPath) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            if (apiKey is not null) request.Headers.Add("api-key", apiKey);
            var response = await client.SendAsync(request);
            var problem = await Json.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{who}: {(int)response.StatusCode} {problem.ToJsonString()}");
            Assert.False(problem["status"]!.GetValue<bool>());
        }
        // x-api-key is read too.
        using var alternate = new HttpRequestMessage(HttpMethod.Post, OptOuts.UploadPath) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        alternate.Headers.Add("x-api-key", key);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(alternate)).StatusCode);

        using var scope = app.Scope();
        Assert.Equal(1, await app.Db(scope).OptOutTransactions.CountAsync(t => t.Nmsc == system.Nmsc));
    }

    [ProviderTheory, Providers]
    public async Task The_organisations_opt_outs_are_listed_for_its_admin_and_dpo_without_personal_values(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        var (_, otherKey) = await OptOuts.SystemWithKeyAsync(app);
        var records = JsonNode.Parse(OptOuts.SampleBody())!.AsArray();
        records.Add(new JsonObject { ["address1"] = "128 Main St", ["validation"] = "2" });
        var answer = await Json.ReadAsync(await OptOuts.PostAsync(app, key, records.ToJsonString()));
        Assert.Equal(2, answer["successful"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await OptOuts.PostAsync(app, otherKey, OptOuts.Body(OptOuts.Record("stranger@example.com")))).StatusCode);
        var transactionId = answer["transaction_id"]!.GetValue<string>();

        using var admin = await app.AdminAsync();
        using var dpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", system.Context, system.Nmsc));
        var path = $"/nmscs/{system.Nmsc}/opt-outs";
        foreach (var client in new[] { admin, dpo })
        {
            var response = await client.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var page = JsonNode.Parse(text)!;
            var listed = page["optOuts"]!.AsArray();
            Assert.Equal(3, listed.Count);
            Assert.Equal(answer["results"]![0]!["recordID"]!.GetValue<string>(), listed[0]!["recordID"]!.GetValue<string>());
            Assert.All(listed, o => Assert.Equal(transactionId, o!["transaction_id"]!.GetValue<string>()));
            Assert.Equal(["email", "phone", "postal"], listed[0]!["kinds"]!.AsArray().Select(k => k!.GetValue<string>()));
            Assert.Equal(("1", "Test Campaign", "toyota/web", true), (listed[0]!["validation"]!.GetValue<string>(), listed[0]!["projectid"]!.GetValue<string>(),
                listed[0]!["source"]!.GetValue<string>(), listed[0]!["applied"]!.GetValue<bool>()));
            Assert.Equal(0, listed[0]!["matchedRecords"]!.GetValue<int>());
            Assert.False(listed[2]!["successful"]!.GetValue<bool>());
            Assert.Equal("Invalid Address", listed[2]!["unsuccessful_reason"]!.GetValue<string>());
            Assert.Empty(listed[2]!["kinds"]!.AsArray());
            foreach (var trace in new[] { "john", "gmail", "867", "main st", "stranger" }) Assert.DoesNotContain(trace, text, StringComparison.OrdinalIgnoreCase);
        }

        // Page by page: the cursor of the next link continues after the last record shown.
        var first = await Json.ReadAsync(await admin.GetAsync(path + "?limit=2"));
        Assert.Equal(2, first["count"]!.GetValue<int>());
        var next = first["_links"]!["next"]!["href"]!.GetValue<string>();
        var second = await Json.ReadAsync(await admin.GetAsync(next));
        Assert.Equal(answer["results"]![1]!["recordID"]!.GetValue<string>(), first["optOuts"]![1]!["recordID"]!.GetValue<string>());
        Assert.Single(second["optOuts"]!.AsArray());
        Assert.Null(second["_links"]!["next"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync(path + "?after=x")).StatusCode);

        // Another organisation's DPO learns nothing of it.
        using var otherDpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", "toyota", (await OptOuts.SystemWithKeyAsync(app)).System.Nmsc));
        Assert.Equal(HttpStatusCode.NotFound, (await otherDpo.GetAsync(path)).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task A_transaction_is_shown_again_to_its_source_systems_keys_its_dpo_and_the_admin_and_to_nobody_else(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var (system, key) = await OptOuts.SystemWithKeyAsync(app, nmsc);
        var secondKey = await app.IssueApiKeyAsync(system.Context, system.Nmsc, system.Name);
        var (_, siblingKey) = await OptOuts.SystemWithKeyAsync(app, nmsc, name: "call-centre");
        var (_, strangerKey) = await OptOuts.SystemWithKeyAsync(app);
        var posted = await OptOuts.PostAsync(app, key, OptOuts.SampleBody());
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var answer = await posted.Content.ReadAsByteArrayAsync();
        var transactionId = JsonNode.Parse(answer)!["transaction_id"]!.GetValue<string>();
        var path = $"/opt-outs/transactions/{transactionId}";

        using var admin = await app.AdminAsync();
        using var dpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", system.Context, nmsc));
        using var own = OptOuts.ApiKeyClient(app, key);
        using var ownSecond = OptOuts.ApiKeyClient(app, secondKey);
        foreach (var (who, client) in new[] { ("admin", admin), ("dpo", dpo), ("the key", own), ("another key of the system", ownSecond) })
        {
            var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{who}: {(int)response.StatusCode}");
            Assert.Equal(answer, await response.Content.ReadAsByteArrayAsync());
        }

        using var sibling = OptOuts.ApiKeyClient(app, siblingKey);
        using var stranger = OptOuts.ApiKeyClient(app, strangerKey);
        using var otherDpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", "toyota", (await OptOuts.SystemWithKeyAsync(app)).System.Nmsc));
        var missing = $"/opt-outs/transactions/{Guid.NewGuid()}";
        foreach (var (who, client) in new[] { ("another system's key", sibling), ("another organisation's key", stranger), ("another organisation's DPO", otherDpo) })
        {
            var hidden = await client.GetAsync(path);
            Assert.True(hidden.StatusCode == HttpStatusCode.NotFound, $"{who}: {(int)hidden.StatusCode}");
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(missing)).StatusCode);
        }
        using var system_ = await app.AsAsync(system);
        Assert.Equal(HttpStatusCode.Forbidden, (await system_.GetAsync(path)).StatusCode);
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        using var badKey = OptOuts.ApiKeyClient(app, "chk_" + new string('y', 43));
        var refused = await badKey.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.False((await Json.ReadAsync(refused))["status"]!.GetValue<bool>());

        // An erased record (its key and seal destroyed) keeps its outcome and loses its fields.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var first = await db.OptOutRecords.SingleAsync(r => r.TransactionId == Guid.Parse(transactionId) && r.Position == 0);
            first.Sealed = null;
            first.ProtectedKey = null;
            await db.SaveChangesAsync();
        }
        var afterErasure = await Json.ReadAsync(await admin.GetAsync(path));
        var erased = afterErasure["results"]![0]!.AsObject();
        Assert.Equal(["recordID", "successful"], erased.Select(p => p.Key));
        Assert.Equal("Does", afterErasure["results"]![1]!["lastname"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task When_applying_fails_after_the_commit_the_opt_outs_stay_stored_and_owed_and_the_answer_is_still_the_seeds(DatabaseProvider provider)
    {
        await using var app = await HubApp.StartAsync(provider);
        var (_, key) = await OptOuts.SystemWithKeyAsync(app);
        // The database itself refuses to mark a record applied, as a failure of the consent core would leave it.
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            if (provider == DatabaseProvider.Postgres)
            {
                await db.Database.ExecuteSqlRawAsync("""
                    CREATE FUNCTION refuse_apply() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'application unavailable'; END; $$ LANGUAGE plpgsql;
                    CREATE TRIGGER refuse_apply BEFORE UPDATE ON opt_out_records FOR EACH ROW WHEN (NEW."AppliedAt" IS NOT NULL) EXECUTE FUNCTION refuse_apply();
                    """);
            }
            else
            {
                await db.Database.ExecuteSqlRawAsync("""
                    CREATE TRIGGER refuse_apply BEFORE UPDATE ON opt_out_records WHEN NEW."AppliedAt" IS NOT NULL
                    BEGIN SELECT RAISE(ABORT, 'application unavailable'); END;
                    """);
            }
        }

        var response = await OptOuts.PostAsync(app, key, OptOuts.SampleBody());
        var answer = await Json.ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
        Assert.True(answer["status"]!.GetValue<bool>());
        Assert.Equal(2, answer["successful"]!.GetValue<int>());

        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            var records = await db.OptOutRecords.ToListAsync();
            Assert.Equal(2, records.Count);
            // Still owed: the recovery sweep finds them by AppliedAt.
            Assert.All(records, r => Assert.Null(r.AppliedAt));
            Assert.Equal(10, await db.SuppressionEntries.CountAsync());
            Assert.Equal(1, await db.LedgerEntries.CountAsync(e => e.Type == OptOutEvents.Received));
        }
        Assert.Equal(2, app.Logs.Lines.Count(l => l.Contains("stays owed for the recovery sweep", StringComparison.Ordinal)));
    }

    [ProviderTheory, Providers]
    public async Task Two_retries_racing_with_one_idempotency_key_store_one_transaction_and_get_the_same_answer(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (system, key) = await OptOuts.SystemWithKeyAsync(app);
        var sample = OptOuts.SampleBody();

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OptOuts.PostAsync(app, key, sample, "race-1")));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());

        using var scope = app.Scope();
        var db = app.Db(scope);
        Assert.Equal(1, await db.OptOutTransactions.CountAsync(t => t.Nmsc == system.Nmsc));
        Assert.Equal(10, await db.SuppressionEntries.CountAsync(e => e.Nmsc == system.Nmsc));
    }
}
