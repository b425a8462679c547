using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;
using static ConsentHub.Tests.Inbound.InboundChecks;

namespace ConsentHub.Tests.Inbound;

/// <summary>
/// Mappings (seed 001 §1): every mistake is refused when the type is saved, with a violation naming the mapping's member
/// and the rule; what a saved mapping makes of events is shown by <c>:try</c>, which applies nothing.
/// </summary>
public sealed class MappingTests
{
    const string Id = "\"sourceCustomerId\": \"/id\"";
    const string Offers = "\"consents\": { \"OFFERS\": \"/n\" }";

    /// <summary>(mapping, the violation's field, its rule): one row per rule of EventMapping.Parse.</summary>
    static readonly (string Mapping, string Field, string Rule)[] Refused =
    [
        ("[]", "mapping", "json"),
        ("\"/id\"", "mapping", "json"),
        ($"{{ {Id}, {Offers}, \"nickname\": \"/nick\" }}", "mapping.nickname", "unknown-member"),
        ($"{{ {Offers} }}", "mapping.sourceCustomerId", "required"),
        ($"{{ \"sourceCustomerId\": {{ \"const\": \"c-1\" }}, {Offers} }}", "mapping.sourceCustomerId", "const-not-allowed"),
        ($"{{ {Id}, \"email\": \"/mail\" }}", "mapping.consents", "required"),
        ($"{{ {Id}, \"consents\": [\"OFFERS\"] }}", "mapping.consents", "json"),
        ($"{{ {Id}, {Offers}, \"channels\": \"EMAIL\" }}", "mapping.channels", "json"),
        ($"{{ {Id}, {Offers}, \"email\": 5 }}", "mapping.email", "json"),
        ($"{{ {Id}, {Offers}, \"email\": true }}", "mapping.email", "json"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": 1 }} }}", "mapping.consents.OFFERS", "json"),
        ($"{{ {Id}, {Offers}, \"email\": {{ \"pointer\": 5 }} }}", "mapping.email.pointer", "json"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"/n\", \"values\": [\"yes\"] }} }} }}", "mapping.consents.OFFERS.values", "json"),
        // JSON Pointers: a leading '/', '~' only as ~0 or ~1, not the whole event, not too long.
        ($"{{ {Id}, {Offers}, \"email\": \"mail\" }}", "mapping.email", "json-pointer"),
        ($"{{ {Id}, {Offers}, \"email\": \"/a~2b\" }}", "mapping.email", "json-pointer"),
        ($"{{ {Id}, {Offers}, \"email\": \"/mail~\" }}", "mapping.email", "json-pointer"),
        ($"{{ {Id}, {Offers}, \"email\": \"\" }}", "mapping.email", "json-pointer"),
        ($"{{ {Id}, {Offers}, \"email\": \"/{new string('m', 500)}\" }}", "mapping.email", "json-pointer"),
        ($"{{ \"sourceCustomerId\": \"id\", {Offers} }}", "mapping.sourceCustomerId", "json-pointer"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"news~letter\" }} }} }}", "mapping.consents.OFFERS", "json-pointer"),
        // Pointer or const, and a const alone.
        ($"{{ {Id}, {Offers}, \"email\": {{ \"pointer\": \"/mail\", \"const\": \"a@example.org\" }} }}", "mapping.email", "pointer-or-const"),
        ($"{{ {Id}, {Offers}, \"email\": {{ }} }}", "mapping.email", "pointer-or-const"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"values\": {{ \"yes\": true }} }} }} }}", "mapping.consents.OFFERS", "pointer-or-const"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"const\": true, \"values\": {{ \"yes\": true }} }} }} }}", "mapping.consents.OFFERS", "const-alone"),
        ($"{{ {Id}, {Offers}, \"requestedTimestamp\": {{ \"const\": \"2024-06-01T12:00:00Z\", \"format\": \"unix\" }} }}", "mapping.requestedTimestamp", "const-alone"),
        // A constant of the member's kind.
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"const\": \"yes\" }} }} }}", "mapping.consents.OFFERS.const", "json"),
        ($"{{ {Id}, {Offers}, \"validated\": {{ \"const\": 1 }} }}", "mapping.validated.const", "json"),
        ($"{{ {Id}, {Offers}, \"requestedTimestamp\": {{ \"const\": \"yesterday\" }} }}", "mapping.requestedTimestamp.const", "json"),
        ($"{{ {Id}, {Offers}, \"requestedTimestamp\": {{ \"const\": 1717243200 }} }}", "mapping.requestedTimestamp.const", "json"),
        ($"{{ {Id}, {Offers}, \"country\": {{ \"const\": \"\" }} }}", "mapping.country.const", "json"),
        ($"{{ {Id}, {Offers}, \"language\": {{ \"const\": 7 }} }}", "mapping.language.const", "json"),
        // Values: booleans, at least one, at most 50, each at most 100 characters.
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"/n\", \"values\": {{ \"yes\": \"true\" }} }} }} }}", "mapping.consents.OFFERS.values.yes", "json"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"/n\", \"values\": {{ }} }} }} }}", "mapping.consents.OFFERS.values", "required"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"/n\", \"values\": {{ {string.Join(", ", Enumerable.Range(0, 51).Select(i => $"\"v{i}\": true"))} }} }} }} }}",
            "mapping.consents.OFFERS.values", "max-values"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"/n\", \"values\": {{ \"{new string('y', 101)}\": true }} }} }} }}",
            $"mapping.consents.OFFERS.values.{new string('y', 20)}…", "max-length"),
        // Members a kind does not have.
        ($"{{ {Id}, {Offers}, \"email\": {{ \"pointer\": \"/mail\", \"values\": {{ \"x\": true }} }} }}", "mapping.email.values", "unknown-member"),
        ($"{{ {Id}, {Offers}, \"email\": {{ \"pointer\": \"/mail\", \"format\": \"unix\" }} }}", "mapping.email.format", "unknown-member"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": {{ \"pointer\": \"/n\", \"default\": true }} }} }}", "mapping.consents.OFFERS.default", "unknown-member"),
        ($"{{ {Id}, {Offers}, \"requestedTimestamp\": {{ \"pointer\": \"/at\", \"format\": \"rfc822\" }} }}", "mapping.requestedTimestamp.format", "time-format"),
        ($"{{ {Id}, {Offers}, \"requestedTimestamp\": {{ \"pointer\": \"/at\", \"format\": 1 }} }}", "mapping.requestedTimestamp.format", "time-format"),
        // The organisation's catalogue (SURVEYS hidden, PROFILING local), overlaps, channels, the most categories.
        ($"{{ {Id}, \"consents\": {{ \"NEWSLETTER\": \"/n\" }} }}", "mapping.consents.NEWSLETTER", "unknown-category"),
        ($"{{ {Id}, \"consents\": {{ \"SURVEYS\": \"/n\" }} }}", "mapping.consents.SURVEYS", "hidden-category"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS_SURVEYS\": \"/n\" }} }}", "mapping.consents.OFFERS_SURVEYS", "hidden-category"),
        ($"{{ {Id}, \"consents\": {{ \"OFFERS\": \"/a\", \"REMINDERS_OFFERS\": \"/b\" }} }}", "mapping.consents.REMINDERS_OFFERS", "overlapping-categories"),
        ($"{{ {Id}, \"consents\": {{ \"REMINDERS_EVENTS\": \"/a\", \"EVENTS\": \"/b\" }} }}", "mapping.consents.EVENTS", "overlapping-categories"),
        ($"{{ {Id}, \"channels\": {{ \"FAX\": \"/f\" }} }}", "mapping.channels.FAX", "unknown-channel"),
        ($"{{ {Id}, {Offers}, \"channels\": {{ \"EMAIL\": \"/e\", \"email\": \"/e2\" }} }}", "mapping.channels.email", "unknown-channel"),
        ($"{{ {Id}, \"consents\": {{ \"REMINDERS\": \"/a\", \"OFFERS\": \"/b\", \"EVENTS\": \"/c\", \"PROFILING\": \"/d\", \"LOYALTY\": \"/e\" }} }}",
            "mapping.consents", "max-categories"),
    ];

    [ProviderTheory, Providers]
    public async Task Every_mapping_error_is_refused_at_save_naming_the_member_and_the_rule_and_nothing_is_saved(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("map");
        await app.RegisterSourceSystemAsync(nmsc, "toyota", "forms");
        using var admin = await app.AdminAsync();
        var catalogue = await admin.PutAsync($"/admin/organisations/{nmsc}/categories", Inbound.Json("""
            { "hidden": ["SURVEYS"], "local": [ { "code": "PROFILING", "description": "Profiling" }, { "code": "LOYALTY", "description": "Local" } ] }
            """));
        Assert.True(catalogue.StatusCode == HttpStatusCode.OK, await catalogue.Content.ReadAsStringAsync());
        var path = Inbound.TypePath(nmsc, "mapped");

        foreach (var (mapping, field, rule) in Refused)
        {
            var body = new JsonObject { ["context"] = "toyota", ["sourceSystem"] = "forms", ["mapping"] = JsonNode.Parse(mapping) }.ToJsonString();
            var violations = await InvalidAsync(admin.PutAsync(path, Inbound.Json(body)), field, rule, mapping.Length > 200 ? mapping[..200] : mapping);
            Assert.All(violations, v => Assert.False(string.IsNullOrWhiteSpace(Str(v!["message"]))));
            await ProblemAsync(admin.GetAsync(path), HttpStatusCode.NotFound, "after refusing " + rule);
        }
        foreach (var idPointer in new[] { "id", "", "/i~d" })
        {
            await InvalidAsync(admin.PutAsync(path, Inbound.Json(TypeBody(idPointer: idPointer))), "idPointer", "json-pointer", $"idPointer '{idPointer}'");
            await ProblemAsync(admin.GetAsync(path), HttpStatusCode.NotFound, "after refusing the idPointer");
        }
        // A refused replacement keeps the type as it was.
        await Inbound.ExpectAsync(admin.PutAsync(path, Inbound.Json(TypeBody())), HttpStatusCode.Created);
        await InvalidAsync(admin.PutAsync(path, Inbound.Json(TypeBody(mapping: $"{{ {Id}, \"consents\": {{ \"SURVEYS\": \"/n\" }} }}"))), "mapping.consents.SURVEYS", "hidden-category");
        var kept = await Inbound.ExpectAsync(admin.GetAsync(path), HttpStatusCode.OK);
        Assert.Equal("/newsletter", Str(kept["mapping"]!["consents"]!["OFFERS"]));
        Assert.Single(await LedgerAsync(app, nmsc, "event-type-configured"));

        // Every limit at its edge is accepted: 4 categories, 50 values of 100 characters, a 500-character pointer, channels alone.
        var edge = $$"""
            { {{Id}}, "requestedTimestamp": { "pointer": "/at", "format": "unix-ms" },
              "consents": { "REMINDERS": "/a", "OFFERS": { "pointer": "/b", "values": { {{string.Join(", ", Enumerable.Range(0, 49).Select(i => $"\"v{i}\": true"))}}, "{{new string('y', 100)}}": false } },
                            "EVENTS": { "const": true }, "PROFILING": "/{{new string('p', 499)}}" },
              "channels": { "EMAIL": "/e", "SMS": "/s", "PHONE": "/p", "MAIL": "/m" } }
            """;
        await Inbound.ExpectAsync(admin.PutAsync(path, Inbound.Json(TypeBody(mapping: edge))), HttpStatusCode.OK);
        await Inbound.ExpectAsync(admin.PutAsync(path, Inbound.Json(TypeBody(mapping: $"{{ {Id}, \"channels\": {{ \"SMS\": \"/sms\" }} }}"))), HttpStatusCode.OK);
    }

    const string Rich = """
        {
          "sourceCustomerId": "/customer/id",
          "email": "/contact/e~1mail",
          "phone": "/phones/0",
          "language": "/lang",
          "country": { "const": "DE" },
          "validated": { "pointer": "/confirmed", "values": { "Y": true, "N": false } },
          "gdprCompliant": { "const": true },
          "requestedTimestamp": { "pointer": "/at", "format": "unix" },
          "consents": {
            "OFFERS": { "pointer": "/newsletter", "values": { "yes": true, "Y": true, "1": true, "no": false } },
            "SURVEYS": { "const": false }
          },
          "channels": { "EMAIL": "/flags/tilde~0flag" }
        }
        """;

    const string Sample = """
        { "customer": { "id": 4711 }, "contact": { "e/mail": "anna@example.org" }, "phones": ["+49 30 1234567", "+49 30 7654321"],
          "lang": "de", "confirmed": "Y", "at": 1717243200, "newsletter": "yes", "flags": { "tilde~flag": true } }
        """;

    static async Task<JsonObject> TryAsync(HttpClient admin, string nmsc, string eventTypeId, string sample) =>
        await Inbound.ExpectAsync(admin.PostAsync(Inbound.TypePath(nmsc, eventTypeId) + ":try", Inbound.Json(sample)), HttpStatusCode.OK);

    static JsonObject With(string sample, string pointerless, JsonNode? value)
    {
        var ev = JsonNode.Parse(sample)!.AsObject();
        if (value is null) ev.Remove(pointerless);
        else ev[pointerless] = value;
        return ev;
    }

    static JsonNode Consent(JsonObject tried, string code) =>
        tried["data"]!["consent"]!["consentAttributes"]!.AsArray().Single(c => Str(c!["consentCode"]) == code)!;

    static void AssertRejected(JsonObject tried, string field, string rule)
    {
        Assert.False(tried["valid"]!.GetValue<bool>(), tried.ToJsonString());
        Assert.True(tried["violations"]!.AsArray().Any(v => Str(v!["field"]) == field && Str(v["rule"]) == rule),
            $"expected ({field}, {rule}); got {tried["violations"]!.ToJsonString()}");
    }

    [ProviderTheory, Providers]
    public async Task Try_maps_a_sample_event_through_pointers_values_constants_and_time_formats_and_applies_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("map");
        var (admin, _) = await TypeAsync(app, nmsc, "rich", TypeBody(mapping: Rich));

        var tried = await TryAsync(admin, nmsc, "rich", Sample);
        Assert.True(tried["valid"]!.GetValue<bool>(), tried.ToJsonString());
        Assert.Empty(tried["violations"]!.AsArray());
        Assert.Equal("4711", Str(tried["sourceCustomerId"]));
        var data = tried["data"]!;
        Assert.Equal("REQUESTED", Str(data["commandType"]));
        Assert.Equal("2024-06-01T12:00:00.000Z", Str(data["commandTimestamp"]));
        var contact = data["consent"]!["communicationAttributes"]!;
        Assert.Equal("anna@example.org", Str(contact["email"]));
        Assert.Equal("+49 30 1234567", Str(contact["phone"]));
        Assert.Equal("de", Str(contact["language"]));
        Assert.Equal("DE", Str(contact["country"]));
        Assert.True(data["consent"]!["validated"]!.GetValue<bool>());
        Assert.True(data["consent"]!["gdprCompliant"]!.GetValue<bool>());
        Assert.True(Consent(tried, "OFFERS")["consentFlag"]!.GetValue<bool>());
        Assert.Equal("2024-06-01T12:00:00.000Z", Str(Consent(tried, "OFFERS")["validatedTimestamp"]));
        Assert.Equal("event-type:rich", Str(Consent(tried, "OFFERS")["validationReference"]));
        Assert.False(Consent(tried, "SURVEYS")["consentFlag"]!.GetValue<bool>());
        var email = Assert.Single(data["channel"]!["channelAttributes"]!.AsArray())!;
        Assert.Equal("EMAIL", Str(email["channelCode"]));
        Assert.True(email["channelFlag"]!.GetValue<bool>());
        Assert.Equal(Inbound.TypePath(nmsc, "rich") + ":try", Str(tried["_links"]!["self"]!["href"]));

        // Each value the mapping names, whatever its JSON type: "yes", "Y", 1 and "1" are true, "no" false.
        foreach (var (value, flag) in new (JsonNode, bool)[] { ("yes", true), ("Y", true), (1, true), ("1", true), ("no", false) })
        {
            var mapped = await TryAsync(admin, nmsc, "rich", With(Sample, "newsletter", value).ToJsonString());
            Assert.True(mapped["valid"]!.GetValue<bool>(), mapped.ToJsonString());
            Assert.Equal(flag, Consent(mapped, "OFFERS")["consentFlag"]!.GetValue<bool>());
        }
        // A value the mapping does not name, and a flag of the wrong JSON type, are named by the event's pointer.
        foreach (var value in new JsonNode[] { "maybe", 2, true, "YES" })
            AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "newsletter", value).ToJsonString()), "/newsletter", "unmapped-value");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "flags", new JsonObject { ["tilde~flag"] = "true" }).ToJsonString()),
            "/flags/tilde~0flag", "json-type");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "lang", 49).ToJsonString()), "/lang", "json-type");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "at", "2024-06-01T12:00:00Z").ToJsonString()), "/at", "timestamp-format");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "at", 1.5).ToJsonString()), "/at", "timestamp-format");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "at", JsonNode.Parse("1e300")).ToJsonString()), "/at", "timestamp-format");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "customer", new JsonObject()).ToJsonString()), "/customer/id", "required");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "customer", new JsonObject { ["id"] = " padded " }).ToJsonString()), "/customer/id", "source-customer-id");

        // Missing optional members are left out; the requested time is then the time of receipt.
        var sparse = JsonNode.Parse(Sample)!.AsObject();
        foreach (var member in new[] { "phones", "lang", "at", "flags" }) sparse.Remove(member);
        sparse["contact"] = new JsonObject();
        sparse["confirmed"] = "Y";
        var minimal = await TryAsync(admin, nmsc, "rich", sparse.ToJsonString());
        Assert.True(minimal["valid"]!.GetValue<bool>(), minimal.ToJsonString());
        Assert.Null(minimal["data"]!["consent"]!["communicationAttributes"]!["language"]);
        Assert.Null(minimal["data"]!["consent"]!["communicationAttributes"]!["email"]);
        Assert.Null(minimal["data"]!["channel"]);
        var received = DateTime.Parse(Str(minimal["data"]!["commandTimestamp"]), null, System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.InRange(received, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));

        // The consent rules' own violations are named by the event's pointer that carried the value.
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "lang", "not a language!").ToJsonString()), "/lang", "language-tag");
        AssertRejected(await TryAsync(admin, nmsc, "rich", With(Sample, "contact", new JsonObject { ["e/mail"] = "not-an-address" }).ToJsonString()),
            "/contact/e~1mail", "email-address");
        // Unvalidated ("N") without an email: the mapped email's pointer is what is missing.
        var unvalidated = With(Sample, "confirmed", "N");
        unvalidated["contact"] = new JsonObject();
        AssertRejected(await TryAsync(admin, nmsc, "rich", unvalidated.ToJsonString()), "/contact/e~1mail", "required-for-validation");

        // Nothing was applied by any of those tries.
        Assert.Null(await CustomerIdAsync(app, nmsc, "forms", "4711"));
        Assert.Empty(await LedgerAsync(app, nmsc, "inbound-event-received"));

        // :try needs the type, and one JSON object.
        await ProblemAsync(admin.PostAsync(Inbound.TypePath(nmsc, "nosuch") + ":try", Inbound.Json(Sample)), HttpStatusCode.NotFound);
        await InvalidAsync(admin.PostAsync(Inbound.TypePath(nmsc, "rich") + ":try", Inbound.Json("[" + Sample + "]")), "body", "json");
        await InvalidAsync(admin.PostAsync(Inbound.TypePath(nmsc, "rich") + ":try", Inbound.Json("{")), "body", "json");
        await ProblemAsync(admin.PostAsync(Inbound.TypePath(nmsc, "rich") + ":try", new StringContent(Sample, System.Text.Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType);
    }

    [ProviderTheory, Providers]
    public async Task Try_reads_unix_milliseconds_and_iso8601_times_numeric_ids_and_names_an_unmapped_email_by_the_mapping(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("map");
        var (admin, _) = await TypeAsync(app, nmsc, "ms", TypeBody(mapping: """
            { "sourceCustomerId": "/id", "validated": { "const": true }, "requestedTimestamp": { "pointer": "/at", "format": "unix-ms" },
              "consents": { "REMINDERS": "/list/1/on" } }
            """));
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "iso"), Inbound.Json(TypeBody(mapping: """
            { "sourceCustomerId": "/id", "validated": { "const": true }, "requestedTimestamp": "/when", "consents": { "OFFERS": { "const": false } } }
            """))), HttpStatusCode.Created);
        await Inbound.ExpectAsync(admin.PutAsync(Inbound.TypePath(nmsc, "plain"), Inbound.Json(TypeBody(mapping: """
            { "sourceCustomerId": "/id", "consents": { "OFFERS": "/n" } }
            """))), HttpStatusCode.Created);

        var ms = await TryAsync(admin, nmsc, "ms", """{ "id": 12345678901234567890, "at": 1717243200123, "list": [ { "on": false }, { "on": true } ] }""");
        Assert.True(ms["valid"]!.GetValue<bool>(), ms.ToJsonString());
        Assert.Equal("12345678901234567890", Str(ms["sourceCustomerId"]));
        Assert.Equal("2024-06-01T12:00:00.123Z", Str(ms["data"]!["commandTimestamp"]));
        Assert.True(Consent(ms, "REMINDERS")["consentFlag"]!.GetValue<bool>());
        // An index that is not there, or written with a leading zero, finds nothing: the flag is then missing, not false.
        var noIndex = await TryAsync(admin, nmsc, "ms", """{ "id": 1, "at": 1717243200123, "list": [ { "on": true } ] }""");
        AssertRejected(noIndex, "event", "required");
        Assert.Empty(noIndex["data"]!["consent"]!["consentAttributes"]!.AsArray());
        AssertRejected(await TryAsync(admin, nmsc, "ms", """{ "id": 1, "at": 1717243200123, "list": { "01": { "on": true } } }"""), "event", "required");

        var iso = await TryAsync(admin, nmsc, "iso", """{ "id": "i-1", "when": "2024-06-01T14:00:00+02:00" }""");
        Assert.True(iso["valid"]!.GetValue<bool>(), iso.ToJsonString());
        Assert.Equal("2024-06-01T14:00:00+02:00", Str(iso["data"]!["commandTimestamp"]));
        Assert.False(Consent(iso, "OFFERS")["consentFlag"]!.GetValue<bool>());
        AssertRejected(await TryAsync(admin, nmsc, "iso", """{ "id": "i-1", "when": "1st of June" }"""), "/when", "timestamp-format");

        // No email member in the mapping, and the events are not validated: the mapping is what lacks it.
        AssertRejected(await TryAsync(admin, nmsc, "plain", """{ "id": "p-1", "n": true }"""), "mapping.email", "required-for-validation");
        // A JSON null counts as missing.
        AssertRejected(await TryAsync(admin, nmsc, "plain", """{ "id": null, "n": true }"""), "/id", "required");

        foreach (var id in new[] { "12345678901234567890", "1", "i-1", "p-1" })
            Assert.Null(await CustomerIdAsync(app, nmsc, "forms", id));
    }
}
