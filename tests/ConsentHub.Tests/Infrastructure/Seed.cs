using System.Text.Json.Nodes;

namespace ConsentHub.Tests.Infrastructure;

/// <summary>Request bodies in the published language of seed 004.</summary>
public static class Seed
{
    /// <summary>The `data` of the seed's cust-123 record (§3.5 sample file), verbatim.</summary>
    public const string Customer123 = """
        {
          "commandType": "REQUESTED",
          "commandTimestamp": "2018-04-23T15:10:44.000+0100",
          "consent": {
            "nmsc": "tgb",
            "gdprCompliant" : true,
            "validated" : true,
            "notify" : false,
            "communicationAttributes": { "language": "en", "country": "GB", "email": "test@toyota.com" },
            "consentAttributes": [
              { "consentCode": "REMINDERS", "consentFlag": true, "consentDescription": "I give consent to receiving REMINDERS",
                "consentLongDescription": "", "validationReference": "valref-123", "originSourceSystem": "", "modifiedByOrganization": "",
                "modifiedByUser": "", "requestedTimestamp": "2017-03-20T15:10:44.000+0100", "validatedTimestamp": "2017-03-20T12:10:44.000+0100" },
              { "consentCode": "OFFERS", "consentFlag": true, "consentDescription": "I give consent to receiving OFFERS",
                "consentLongDescription": "", "validationReference": "valref-123", "originSourceSystem": "", "modifiedByOrganization": "",
                "modifiedByUser": "", "requestedTimestamp": "2017-03-20T15:10:44.000+0100", "validatedTimestamp": "2017-03-21T12:10:44.000+0100" }
            ]
          },
          "channel": {
            "nmsc": "tgb",
            "channelAttributes" : [
              { "channelCode": "SMS", "channelFlag": true, "requestedTimestamp": "2017-03-20T15:10:44.000+0100",
                "originSourceSystem": "", "modifiedByOrganization": "", "modifiedByUser": "" },
              { "channelCode": "EMAIL", "channelFlag": true, "requestedTimestamp": "2017-03-20T15:10:44.000+0100",
                "originSourceSystem": "", "modifiedByOrganization": "", "modifiedByUser": "" }
            ]
          }
        }
        """;

    public static JsonObject Consent(string code, bool flag, string requested = "2024-01-01T10:00:00Z", bool validated = true) => new()
    {
        ["commandType"] = "REQUESTED",
        ["commandTimestamp"] = requested,
        ["consent"] = new JsonObject
        {
            ["gdprCompliant"] = true,
            ["validated"] = validated,
            ["notify"] = false,
            ["communicationAttributes"] = new JsonObject { ["language"] = "en", ["country"] = "GB", ["email"] = "person@example.com" },
            ["consentAttributes"] = new JsonArray(Attribute(code, flag, requested)),
        },
    };

    public static JsonObject Attribute(string code, bool flag, string requested = "2024-01-01T10:00:00Z") => new()
    {
        ["consentCode"] = code,
        ["consentFlag"] = flag,
        ["consentDescription"] = $"I agree to {code}",
        ["requestedTimestamp"] = requested,
    };

    /// <summary>A channel-only change; `validated` lives in the consent part, which then carries no categories.</summary>
    public static JsonObject Channel(string code, bool flag, string requested = "2024-01-01T10:00:00Z", bool validated = true) => new()
    {
        ["commandType"] = "REQUESTED",
        ["consent"] = new JsonObject { ["gdprCompliant"] = true, ["validated"] = validated, ["consentAttributes"] = new JsonArray() },
        ["channel"] = new JsonObject
        {
            ["channelAttributes"] = new JsonArray(new JsonObject { ["channelCode"] = code, ["channelFlag"] = flag, ["requestedTimestamp"] = requested }),
        },
    };
}
