using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.Consents;

/// <summary>
/// Issue 2 §5 "Rules": each violation is a 400 problem naming the field and the rule, and changes nothing.
/// Every case runs on both providers: the theory data is provider × case name.
/// </summary>
public sealed class SubscriptionRulesTests
{
    const string ProblemJson = "application/problem+json";

    /// <summary>Organisation categories for a case: hide EVENTS, add PROFILING (and ANALYTICS where five distinct codes are needed).</summary>
    static readonly object HideEventsAddProfiling = new
    {
        hidden = new[] { "EVENTS" },
        local = new[] { new { code = "PROFILING", description = "Profiling for personalised offers" } },
    };

    static readonly object TwoLocals = new
    {
        hidden = Array.Empty<string>(),
        local = new[]
        {
            new { code = "PROFILING", description = "Profiling for personalised offers" },
            new { code = "ANALYTICS", description = "Usage analytics" },
        },
    };

    static readonly object HideCombined = new { hidden = new[] { "OFFERS_SURVEYS" }, local = Array.Empty<object>() };

    public sealed record Refusal(
        Func<HttpContent> Content,
        (string Field, string Rule)[] Expected,
        HttpStatusCode Status = HttpStatusCode.BadRequest,
        string? ProblemType = null,
        object? Categories = null,
        string? CustomerId = null);

    static Refusal Bad(Action<JsonObject> change, string field, string rule, object? categories = null) =>
        new(() => AsJson(Body(change)), [(field, rule)], Categories: categories);

    static Refusal BadRaw(string raw, params (string Field, string Rule)[] expected) => new(() => AsJson(raw), expected);

    const string C0 = "consent.consentAttributes[0]";
    const string C1 = "consent.consentAttributes[1]";
    const string Ch0 = "channel.channelAttributes[0]";
    const string Ch1 = "channel.channelAttributes[1]";

    static readonly Dictionary<string, Refusal> Refusals = new()
    {
        // category codes
        ["unknown category"] = Bad(b => Codes(b, "NEWSLETTER"), $"{C0}.consentCode", "unknown-category"),
        ["unknown category in lower case"] = Bad(b => Codes(b, "offers"), $"{C0}.consentCode", "unknown-category"),
        ["local category of no organisation"] = Bad(b => Codes(b, "PROFILING"), $"{C0}.consentCode", "unknown-category"),
        ["unknown category after a valid one"] = Bad(b => Codes(b, "OFFERS", "NEWSLETTER"), $"{C1}.consentCode", "unknown-category"),
        ["hidden canonical category"] = Bad(b => Codes(b, "EVENTS"), $"{C0}.consentCode", "hidden-category", HideEventsAddProfiling),
        ["combined category containing a hidden one"] = Bad(b => Codes(b, "OFFERS_EVENTS"), $"{C0}.consentCode", "hidden-category", HideEventsAddProfiling),
        ["hidden combined category"] = Bad(b => Codes(b, "OFFERS_SURVEYS"), $"{C0}.consentCode", "hidden-category", HideCombined),
        ["missing category code"] = Bad(b => Attr(b, 0).Remove("consentCode"), $"{C0}.consentCode", "required"),
        ["empty category code"] = Bad(b => Attr(b, 0)["consentCode"] = "", $"{C0}.consentCode", "required"),
        ["null consent attribute"] = Bad(b => b["consent"]!["consentAttributes"] = new JsonArray((JsonNode?)null), C0, "required"),
        // at most 4 categories
        ["five categories"] = Bad(b => Codes(b, "REMINDERS", "OFFERS", "SURVEYS", "PROFILING", "ANALYTICS"),
            "consent.consentAttributes", "max-categories", TwoLocals),
        // overlaps
        ["combined overlapping a canonical"] = Bad(b => Codes(b, "OFFERS_SURVEYS", "SURVEYS"), $"{C1}.consentCode", "overlapping-categories"),
        ["canonical then a combined covering it"] = Bad(b => Codes(b, "SURVEYS", "OFFERS_SURVEYS"), $"{C1}.consentCode", "overlapping-categories"),
        ["two combined that overlap"] = Bad(b => Codes(b, "OFFERS_SURVEYS", "REMINDERS_SURVEYS"), $"{C1}.consentCode", "overlapping-categories"),
        ["the same code twice"] = Bad(b => Codes(b, "OFFERS", "OFFERS"), $"{C1}.consentCode", "overlapping-categories"),
        ["the same local code twice"] = Bad(b => Codes(b, "PROFILING", "PROFILING"), $"{C1}.consentCode", "overlapping-categories", HideEventsAddProfiling),
        // channels
        ["unknown channel"] = Bad(b => Chan(b, 0)["channelCode"] = "FAX", $"{Ch0}.channelCode", "unknown-channel"),
        ["channel in lower case"] = Bad(b => Chan(b, 0)["channelCode"] = "email", $"{Ch0}.channelCode", "unknown-channel"),
        ["duplicate channel"] = Bad(b => Channels(b, "EMAIL", "EMAIL"), $"{Ch1}.channelCode", "duplicate-channel"),
        ["missing channel code"] = Bad(b => Chan(b, 0).Remove("channelCode"), $"{Ch0}.channelCode", "required"),
        ["missing channel flag"] = Bad(b => Chan(b, 0).Remove("channelFlag"), $"{Ch0}.channelFlag", "required"),
        ["missing channel requested timestamp"] = Bad(b => Chan(b, 0).Remove("requestedTimestamp"), $"{Ch0}.requestedTimestamp", "required"),
        // string lengths (README "Limits")
        ["consent description over 1000"] = Bad(b => Attr(b, 0)["consentDescription"] = new string('d', 1_001), $"{C0}.consentDescription", "max-length"),
        ["long description over 10000"] = Bad(b => Attr(b, 0)["consentLongDescription"] = new string('d', 10_001), $"{C0}.consentLongDescription", "max-length"),
        ["validation reference over 200"] = Bad(b => Attr(b, 0)["validationReference"] = new string('r', 201), $"{C0}.validationReference", "max-length"),
        ["consent origin source system over 200"] = Bad(b => Attr(b, 0)["originSourceSystem"] = new string('o', 201), $"{C0}.originSourceSystem", "max-length"),
        ["consent modified by organisation over 200"] = Bad(b => Attr(b, 0)["modifiedByOrganization"] = new string('o', 201), $"{C0}.modifiedByOrganization", "max-length"),
        ["consent modified by user over 200"] = Bad(b => Attr(b, 0)["modifiedByUser"] = new string('u', 201), $"{C0}.modifiedByUser", "max-length"),
        ["channel modified by user over 200"] = Bad(b => Chan(b, 0)["modifiedByUser"] = new string('u', 201), $"{Ch0}.modifiedByUser", "max-length"),
        ["channel origin source system over 200"] = Bad(b => Chan(b, 0)["originSourceSystem"] = new string('o', 201), $"{Ch0}.originSourceSystem", "max-length"),
        // communication attributes
        ["email over 254"] = Bad(b => Comm(b)["email"] = new string('e', 250) + "@example.com", "consent.communicationAttributes.email", "email-address"),
        ["email without at sign"] = Bad(b => Comm(b)["email"] = "person.example.com", "consent.communicationAttributes.email", "email-address"),
        ["language not a language tag"] = Bad(b => Comm(b)["language"] = "english!", "consent.communicationAttributes.language", "language-tag"),
        ["country not alpha-2"] = Bad(b => Comm(b)["country"] = "GBR", "consent.communicationAttributes.country", "country-code"),
        ["phone not a number"] = Bad(b => Comm(b)["phone"] = "call me", "consent.communicationAttributes.phone", "phone-number"),
        ["phone too short to be possible"] = Bad(b => Comm(b)["phone"] = "+44 12", "consent.communicationAttributes.phone", "phone-number"),
        ["phone too long to be possible"] = Bad(b => Comm(b)["phone"] = "+44 7700 900123 4567", "consent.communicationAttributes.phone", "phone-number"),
        ["national phone without a country"] = Bad(b =>
        {
            Comm(b).Remove("country");
            Comm(b)["phone"] = "07700 900123";
        }, "consent.communicationAttributes.phone", "phone-number"),
        ["phone over 40"] = Bad(b => Comm(b)["phone"] = "+44 " + new string('7', 37), "consent.communicationAttributes.phone", "max-length"),
        // timestamps
        ["requested timestamp without offset"] = Bad(b => Attr(b, 0)["requestedTimestamp"] = "2024-01-01T10:00:00.000", $"{C0}.requestedTimestamp", "timestamp-format"),
        ["requested timestamp garbage"] = Bad(b => Attr(b, 0)["requestedTimestamp"] = "yesterday at noon", $"{C0}.requestedTimestamp", "timestamp-format"),
        ["requested timestamp date only"] = Bad(b => Attr(b, 0)["requestedTimestamp"] = "2024-01-01", $"{C0}.requestedTimestamp", "timestamp-format"),
        ["requested timestamp impossible date"] = Bad(b => Attr(b, 0)["requestedTimestamp"] = "2024-02-30T10:00:00Z", $"{C0}.requestedTimestamp", "timestamp-format"),
        ["requested timestamp offset out of range"] = Bad(b => Attr(b, 0)["requestedTimestamp"] = "2024-01-01T10:00:00+2500", $"{C0}.requestedTimestamp", "timestamp-format"),
        ["validated timestamp garbage"] = Bad(b => Attr(b, 0)["validatedTimestamp"] = "not a time", $"{C0}.validatedTimestamp", "timestamp-format"),
        ["command timestamp without offset"] = Bad(b => b["commandTimestamp"] = "2024-01-01T10:00:00", "commandTimestamp", "timestamp-format"),
        ["channel timestamp without offset"] = Bad(b => Chan(b, 0)["requestedTimestamp"] = "2024-01-01T10:00:00", $"{Ch0}.requestedTimestamp", "timestamp-format"),
        // gdprCompliant
        ["gdprCompliant false"] = Bad(b => b["consent"]!["gdprCompliant"] = false, "consent.gdprCompliant", "must-be-true"),
        ["gdprCompliant absent"] = Bad(b => b["consent"]!.AsObject().Remove("gdprCompliant"), "consent.gdprCompliant", "must-be-true"),
        // commandType
        ["unknown command type"] = Bad(b => b["commandType"] = "DELETED", "commandType", "unknown-command-type"),
        ["command type PROPAGATED"] = Bad(b => b["commandType"] = "PROPAGATED", "commandType", "not-accepted"),
        ["command type PROCESSED without its propagationId"] = Bad(b => b["commandType"] = "PROCESSED", "propagationId", "required"),
        ["command type missing"] = Bad(b => b.Remove("commandType"), "commandType", "required"),
        // required members
        ["consent flag missing"] = Bad(b => Attr(b, 0).Remove("consentFlag"), $"{C0}.consentFlag", "required"),
        ["consent flag null"] = Bad(b => Attr(b, 0)["consentFlag"] = null, $"{C0}.consentFlag", "required"),
        ["requested timestamp missing"] = Bad(b => Attr(b, 0).Remove("requestedTimestamp"), $"{C0}.requestedTimestamp", "required"),
        // With neither an email nor a phone: a validated change of those alone is a rectification (Rights/RectificationTests).
        ["no consent and no channel attributes"] = Bad(b => { b["consent"]!["consentAttributes"] = new JsonArray(); b["consent"]!.AsObject().Remove("communicationAttributes"); b.Remove("channel"); }, "consent", "required"),
        ["empty object"] = BadRaw("{}", ("commandType", "required"), ("consent", "required")),
        ["empty body"] = BadRaw("", ("body", "required")),
        ["JSON null"] = BadRaw("null", ("body", "required")),
        // JSON syntax and types
        ["malformed JSON"] = BadRaw("""{"commandType": "REQUESTED", "consent": { "gdprCompliant": tru }}""", ("consent.gdprCompliant", "json")),
        ["truncated JSON"] = BadRaw("""{"commandType": "REQUESTED", "consent": {""", ("consent", "json")),
        ["a JSON array instead of an object"] = BadRaw("[]", ("body", "json")),
        ["consentFlag a string"] = Bad(b => Attr(b, 0)["consentFlag"] = "yes", $"{C0}.consentFlag", "json"),
        ["gdprCompliant a number"] = Bad(b => b["consent"]!["gdprCompliant"] = 1, "consent.gdprCompliant", "json"),
        ["consentAttributes an object"] = Bad(b => b["consent"]!["consentAttributes"] = new JsonObject(), "consent.consentAttributes", "json"),
        ["channelCode a number"] = Bad(b => Chan(b, 0)["channelCode"] = 42, $"{Ch0}.channelCode", "json"),
        // transport
        // (Routing answers these from the endpoint's Accepts metadata, so the problem type is RFC 9110's.)
        ["wrong content type"] = new(() => new StringContent(Body(_ => { }), Encoding.UTF8, "text/plain"), [], HttpStatusCode.UnsupportedMediaType),
        ["form content type"] = new(() => new FormUrlEncodedContent([new("commandType", "REQUESTED")]), [], HttpStatusCode.UnsupportedMediaType),
        ["no content type"] = new(() => new ByteArrayContent(Encoding.UTF8.GetBytes(Body(_ => { }))), [], HttpStatusCode.UnsupportedMediaType),
        ["body over 256 KiB with a length"] = new(() => AsJson(Huge()), [], HttpStatusCode.RequestEntityTooLarge, "payload-too-large"),
        ["body over 256 KiB chunked"] = new(() => new UnknownLengthContent(Huge(), "application/json"), [], HttpStatusCode.RequestEntityTooLarge, "payload-too-large"),
        // the route
        ["source customer id of 201 characters"] = new(() => AsJson(Body(_ => { })), [("sourceCustomerId", "source-customer-id")],
            CustomerId: new string('x', 201)),
        ["source customer id with surrounding spaces"] = new(() => AsJson(Body(_ => { })), [("sourceCustomerId", "source-customer-id")],
            CustomerId: " padded "),
        ["source customer id with a control character"] = new(() => AsJson(Body(_ => { })), [("sourceCustomerId", "source-customer-id")],
            CustomerId: "tab\there"),
    };

    public static IEnumerable<object[]> RefusalCases() =>
        from p in ProvidersAttribute.Both() from name in Refusals.Keys select new[] { p[0], name };

    [ProviderTheory, MemberData(nameof(RefusalCases))]
    public async Task Refused_change_names_the_field_and_the_rule_and_changes_nothing(DatabaseProvider provider, string @case)
    {
        var refusal = Refusals[@case];
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        if (refusal.Categories is not null) await ConfigureCategoriesAsync(app, crm.Nmsc, refusal.Categories);
        using var client = await app.AsAsync(crm);
        var customer = refusal.CustomerId ?? "fresh-" + Guid.NewGuid().ToString("N")[..8];

        var problem = await RefusedAsync(client, crm, customer, refusal.Content(), refusal.Status, @case);

        if (refusal.ProblemType is { } type)
            Assert.EndsWith("/" + type, problem["type"]!.GetValue<string>());
        if (refusal.Status == HttpStatusCode.BadRequest)
            Assert.Equal(
                refusal.Expected.Select(e => $"{e.Field} {e.Rule}").Order(StringComparer.Ordinal),
                Violations(problem).Select(v => $"{v.Field} {v.Rule}").Order(StringComparer.Ordinal));
        else
            Assert.Null(problem["violations"]);

        // A customer who already has data keeps exactly that data after the same refused request.
        if (refusal.CustomerId is null)
        {
            var known = "known-" + Guid.NewGuid().ToString("N")[..8];
            await AppliedAsync(client, crm, known, Seed.Consent("REMINDERS", true).ToJsonString());
            var before = await ReadAsync(client, crm, known);
            await RefusedAsync(client, crm, known, refusal.Content(), refusal.Status, @case, customerExists: true);
            var history = await Json.ReadAsync(await client.GetAsync(HubApp.SubscriptionDataPath(crm, known) + "/history"));
            Assert.Equal(1, history["count"]!.GetValue<int>());
            Assert.Equal(before, await ReadAsync(client, crm, known));
        }
    }

    public sealed record Acceptance(string Body, string[] Codes, object? Categories = null, string? RequestedUtc = null);

    static Acceptance Good(Action<JsonObject> change, string[] codes, object? categories = null, string? requestedUtc = null) =>
        new(Body(change), codes, categories, requestedUtc);

    static readonly Dictionary<string, Acceptance> Acceptances = new()
    {
        ["offset +0100"] = Good(b => Attr(b, 0)["requestedTimestamp"] = "2024-03-01T10:00:00.000+0100", ["OFFERS"], requestedUtc: "2024-03-01T09:00:00.000Z"),
        ["offset +01:00"] = Good(b => Attr(b, 0)["requestedTimestamp"] = "2024-03-01T10:00:00.000+01:00", ["OFFERS"], requestedUtc: "2024-03-01T09:00:00.000Z"),
        ["offset Z"] = Good(b => Attr(b, 0)["requestedTimestamp"] = "2024-03-01T09:00:00Z", ["OFFERS"], requestedUtc: "2024-03-01T09:00:00.000Z"),
        ["negative offset -0530"] = Good(b => Attr(b, 0)["requestedTimestamp"] = "2024-03-01T03:30:00-0530", ["OFFERS"], requestedUtc: "2024-03-01T09:00:00.000Z"),
        ["seconds omitted"] = Good(b => Attr(b, 0)["requestedTimestamp"] = "2024-03-01T10:00+01:00", ["OFFERS"], requestedUtc: "2024-03-01T09:00:00.000Z"),
        ["the seed record"] = new(Seed.Customer123, ["OFFERS", "REMINDERS"], RequestedUtc: "2017-03-20T14:10:44.000Z"),
        ["a local category"] = Good(b => Codes(b, "PROFILING"), ["PROFILING"], HideEventsAddProfiling),
        ["a combined category alone"] = Good(b => Codes(b, "OFFERS_SURVEYS"), ["OFFERS_SURVEYS"]),
        ["a combined category without the hidden part"] = Good(b => Codes(b, "OFFERS_SURVEYS"), ["OFFERS_SURVEYS"], HideEventsAddProfiling),
        ["two combined that do not overlap"] = Good(b => Codes(b, "OFFERS_SURVEYS", "REMINDERS_EVENTS"), ["OFFERS_SURVEYS", "REMINDERS_EVENTS"]),
        ["four canonical categories"] = Good(b => Codes(b, "REMINDERS", "OFFERS", "SURVEYS", "EVENTS"), ["EVENTS", "OFFERS", "REMINDERS", "SURVEYS"]),
        ["three canonical and a local"] = Good(b => Codes(b, "REMINDERS", "OFFERS", "SURVEYS", "PROFILING"), ["OFFERS", "PROFILING", "REMINDERS", "SURVEYS"], HideEventsAddProfiling),
        ["description of exactly 1000"] = Good(b => Attr(b, 0)["consentDescription"] = new string('d', 1_000), ["OFFERS"]),
        ["references of exactly 200"] = Good(b =>
        {
            Attr(b, 0)["validationReference"] = new string('r', 200);
            Chan(b, 0)["modifiedByUser"] = new string('u', 200);
        }, ["OFFERS"]),
        ["consent only"] = Good(b => b.Remove("channel"), ["OFFERS"]),
        ["phone in international form"] = Good(b => Comm(b)["phone"] = "+44 7700 900123", ["OFFERS"]),
        ["phone in the national form of country"] = Good(b => Comm(b)["phone"] = "(0)7700 900-123", ["OFFERS"]),
        ["international phone without a country"] = Good(b =>
        {
            Comm(b).Remove("country");
            Comm(b)["phone"] = "+32 470 12 34 56";
        }, ["OFFERS"]),
        ["channel only"] = new(Seed.Channel("PHONE", true).ToJsonString(), []),
    };

    public static IEnumerable<object[]> AcceptanceCases() =>
        from p in ProvidersAttribute.Both() from name in Acceptances.Keys select new[] { p[0], name };

    [ProviderTheory, MemberData(nameof(AcceptanceCases))]
    public async Task Valid_change_is_applied(DatabaseProvider provider, string @case)
    {
        var acceptance = Acceptances[@case];
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        if (acceptance.Categories is not null) await ConfigureCategoriesAsync(app, crm.Nmsc, acceptance.Categories);
        using var client = await app.AsAsync(crm);

        await AppliedAsync(client, crm, "c1", acceptance.Body, @case);

        var data = JsonNode.Parse(await ReadAsync(client, crm, "c1"))!;
        var consents = data["consent"]?["consentAttributes"]?.AsArray() ?? [];
        Assert.Equal(acceptance.Codes, consents.Select(c => c!["consentCode"]!.GetValue<string>()));
        if (acceptance.RequestedUtc is { } utc)
            Assert.All(consents, c => Assert.Equal(utc, c!["requestedTimestamp"]!.GetValue<string>()));
        if (@case == "channel only")
            Assert.Equal("PHONE", Assert.Single(data["channel"]!["channelAttributes"]!.AsArray())!["channelCode"]!.GetValue<string>());
    }

    [ProviderTheory, Providers]
    public async Task A_hidden_category_stays_usable_for_other_organisations(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var hiding = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        await ConfigureCategoriesAsync(app, hiding.Nmsc, HideEventsAddProfiling);
        using var hidingClient = await app.AsAsync(hiding);
        using var otherClient = await app.AsAsync(other);

        var refused = await RefusedAsync(hidingClient, hiding, "c1", AsJson(Body(b => Codes(b, "EVENTS"))), HttpStatusCode.BadRequest, "hiding");
        Assert.Equal("hidden-category", Assert.Single(Violations(refused)).Rule);
        await AppliedAsync(otherClient, other, "c1", Body(b => Codes(b, "EVENTS")));
        // ... and the other organisation has no local PROFILING.
        var unknown = await RefusedAsync(otherClient, other, "c2", AsJson(Body(b => Codes(b, "PROFILING"))), HttpStatusCode.BadRequest, "other");
        Assert.Equal("unknown-category", Assert.Single(Violations(unknown)).Rule);
    }

    [ProviderTheory, Providers]
    public async Task Every_violation_of_one_request_is_reported_together(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var crm = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var client = await app.AsAsync(crm);
        var body = Body(b =>
        {
            b["commandType"] = "PROPAGATED";
            b["consent"]!["gdprCompliant"] = false;
            Codes(b, "NEWSLETTER", "OFFERS");
            Attr(b, 1)["requestedTimestamp"] = "2024-01-01T10:00:00";
            Chan(b, 0)["channelCode"] = "FAX";
        });

        var problem = await RefusedAsync(client, crm, "c1", AsJson(body), HttpStatusCode.BadRequest, "many");

        Assert.Equal(
            [
                "channel.channelAttributes[0].channelCode unknown-channel",
                "commandType not-accepted",
                "consent.consentAttributes[0].consentCode unknown-category",
                "consent.consentAttributes[1].requestedTimestamp timestamp-format",
                "consent.gdprCompliant must-be-true",
            ],
            Violations(problem).Select(v => $"{v.Field} {v.Rule}").Order(StringComparer.Ordinal));
        // RFC 9457 members, plus a readable message per violation.
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(problem["title"]?.GetValue<string>()));
        Assert.Contains("NEWSLETTER", problem["detail"]!.GetValue<string>());
        Assert.All(problem["violations"]!.AsArray(), v => Assert.False(string.IsNullOrWhiteSpace(v!["message"]?.GetValue<string>())));
    }

    // ---- helpers --------------------------------------------------------------------------------

    /// <summary>Posts, asserts the refusal status and problem media type and that the customer got nothing; returns the problem.</summary>
    static async Task<JsonNode> RefusedAsync(
        HttpClient client, SourceSystemCredentials system, string customerId, HttpContent content, HttpStatusCode status, string because, bool customerExists = false)
    {
        using var response = await PostAsync(client, system, customerId, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{because}: expected {(int)status}, got {(int)response.StatusCode} {text}");
        Assert.True(ProblemJson == response.Content.Headers.ContentType?.MediaType, $"{because}: media type {response.Content.Headers.ContentType} for {text}");
        Assert.Null(response.Headers.Location);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());

        if (!customerExists)
        {
            // Nothing was stored: not even the customer record.
            var read = await client.GetAsync(HubApp.SubscriptionDataPath(system, customerId));
            Assert.True(HttpStatusCode.NotFound == read.StatusCode, $"{because}: the refused customer reads as {(int)read.StatusCode}");
            var history = await client.GetAsync(HubApp.SubscriptionDataPath(system, customerId) + "/history");
            Assert.True(HttpStatusCode.NotFound == history.StatusCode, $"{because}: the refused customer's history reads as {(int)history.StatusCode}");
        }
        return problem;
    }

    static async Task AppliedAsync(HttpClient client, SourceSystemCredentials system, string customerId, string body, string because = "")
    {
        using var response = await PostAsync(client, system, customerId, AsJson(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(HttpStatusCode.Created == response.StatusCode, $"{because}: expected 201, got {(int)response.StatusCode} {text}");
    }

    static async Task<string> ReadAsync(HttpClient client, SourceSystemCredentials system, string customerId)
    {
        var response = await client.GetAsync(HubApp.SubscriptionDataPath(system, customerId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    static Task<HttpResponseMessage> PostAsync(HttpClient client, SourceSystemCredentials system, string customerId, HttpContent content) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, HubApp.SubscriptionDataPath(system, customerId)) { Content = content });

    static async Task ConfigureCategoriesAsync(HubApp app, string nmsc, object categories)
    {
        using var admin = await app.AdminAsync();
        var response = await admin.PutAsJsonAsync($"/admin/organisations/{nmsc}/categories", categories);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    static List<(string Field, string Rule)> Violations(JsonNode problem) =>
        (problem["violations"] ?? throw new Xunit.Sdk.XunitException($"no violations in {problem.ToJsonString()}"))
        .AsArray().Select(v => (v!["field"]!.GetValue<string>(), v["rule"]!.GetValue<string>())).ToList();

    /// <summary>A valid body (OFFERS granted, EMAIL granted, validated) changed by <paramref name="change"/>.</summary>
    static string Body(Action<JsonObject> change)
    {
        var body = Seed.Consent("OFFERS", true);
        body["channel"] = new JsonObject
        {
            ["channelAttributes"] = new JsonArray(new JsonObject
            {
                ["channelCode"] = "EMAIL", ["channelFlag"] = true, ["requestedTimestamp"] = "2024-01-01T10:00:00Z",
            }),
        };
        change(body);
        return body.ToJsonString();
    }

    static JsonObject Attr(JsonObject body, int i) => body["consent"]!["consentAttributes"]![i]!.AsObject();

    static JsonObject Chan(JsonObject body, int i) => body["channel"]!["channelAttributes"]![i]!.AsObject();

    static JsonObject Comm(JsonObject body) => body["consent"]!["communicationAttributes"]!.AsObject();

    static void Codes(JsonObject body, params string[] codes) =>
        body["consent"]!["consentAttributes"] = new JsonArray(codes.Select(c => (JsonNode?)Seed.Attribute(c, true)).ToArray());

    static void Channels(JsonObject body, params string[] codes) =>
        body["channel"]!["channelAttributes"] = new JsonArray(codes.Select(c => (JsonNode?)new JsonObject
        {
            ["channelCode"] = c, ["channelFlag"] = true, ["requestedTimestamp"] = "2024-01-01T10:00:00Z",
        }).ToArray());

    static StringContent AsJson(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A syntactically valid body just over 256 KiB: the limit is on bytes, before any rule.</summary>
    static string Huge() => Body(b => Attr(b, 0)["consentLongDescription"] = new string('x', 256 * 1024));

    /// <summary>Sent without Content-Length (chunked), so the server must count while reading.</summary>
    sealed class UnknownLengthContent(string text) : HttpContent
    {
        readonly byte[] bytes = Encoding.UTF8.GetBytes(text);

        public UnknownLengthContent(string text, string mediaType) : this(text) =>
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType) { CharSet = "utf-8" };

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < bytes.Length; offset += 8192)
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(8192, bytes.Length - offset)));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
