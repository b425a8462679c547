using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentHub.Data;
using ConsentHub.Propagation;
using ConsentHub.Tests.Clusters;
using ConsentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ConsentHub.Tests.Auth;

/// <summary>
/// Every endpoint has an authorisation test: the table below lists each protected endpoint the app maps, and
/// <see cref="Every_mapped_endpoint_is_either_anonymous_by_intent_or_in_the_authorisation_table"/> fails when
/// an endpoint is added without an entry here.
/// </summary>
public sealed class AuthorisationTests
{
    public enum Access
    {
        /// <summary>The admin role only.</summary>
        Admin,
        /// <summary>A source system, only as itself (nmsc, context and name of the route are its own).</summary>
        WriteAsItself,
        /// <summary>A source system of the customer's organisation and context, or the admin; others get 404.</summary>
        ReadBound,
        /// <summary>The source system itself or the admin; its organisation's other systems get 403, others 404.</summary>
        ItselfOrAdmin,
        /// <summary>The cluster feed of the route's organisation, or the admin; source systems and other feeds get 403.</summary>
        ClusterFeed,
        /// <summary>A DPO's browser session (cookie), never a bearer token; which exports a DPO may download is tested in Bulk/ExportTests.</summary>
        DpoSession,
        /// <summary>A console session (cookie) of the admin or a DPO, never a bearer token; what each sees is tested in OperatorConsole/.</summary>
        ConsoleSession,
        /// <summary>A console session of the admin only (the ledger, as the ledger API); a DPO's session gets 403, tokens the login page.</summary>
        ConsoleAdmin,
        /// <summary>The source system that uploaded, or the admin; every other caller gets 404.</summary>
        UploaderOrAdmin,
        /// <summary>The admin or a DPO's bearer token covering the organisation; other DPOs get 404, every other role 403.</summary>
        DataSubjectRights,
        /// <summary>The admin, a DPO of the organisation, its source systems (scope read) or its API keys; other organisations get 404, other roles 403.</summary>
        SuppressionCheck,
        /// <summary>A source system's API key (header api-key) only; without one in force, bearer tokens included, 401 with the seed's "status": false.</summary>
        ApiKey,
        /// <summary>The admin, a DPO's bearer token covering the organisation, or a source system of the organisation (scope read); other organisations' get 404.</summary>
        OrganisationFiles,
        /// <summary>
        /// The opt-in interface of seed 003: a source system's token only (scope read for GET, write otherwise), speaking for
        /// itself; every other token gets 403 with the seed's result member; another system's contacts and flows are 520/521.
        /// </summary>
        OptInInterface,
        /// <summary>
        /// The communication system a webhook reminder was sent to, or the admin (scope write); to every other caller the
        /// reminder does not exist (404). Who may report which reminder is tested in Reminders/ReminderTests.
        /// </summary>
        ReminderOutcome,
    }

    public sealed record Row(string Method, string Pattern, Access Access);

    const string Customer = "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/customers/{sourceCustomerId}";

    public static readonly Row[] Protected =
    [
        new("GET", "/metrics", Access.Admin),
        new("PUT", "/admin/organisations/{nmsc}", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}", Access.Admin),
        new("PATCH", "/admin/organisations/{nmsc}", Access.Admin),
        new("POST", "/admin/organisations/{nmsc}/api-users", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/api-users", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/api-users/{username}", Access.Admin),
        new("DELETE", "/admin/organisations/{nmsc}/api-users/{username}", Access.Admin),
        new("PUT", "/admin/organisations/{nmsc}/categories", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/categories", Access.Admin),
        new("PUT", "/admin/contexts/{context}", Access.Admin),
        new("GET", "/admin/contexts/{context}", Access.Admin),
        new("POST", "/admin/source-systems", Access.Admin),
        new("GET", "/admin/source-systems", Access.Admin),
        new("GET", "/admin/source-systems/{id:long}", Access.Admin),
        new("DELETE", "/admin/source-systems/{id:long}", Access.Admin),
        new("POST", "/admin/source-systems/{id:long}/reactivate", Access.Admin),
        new("POST", "/admin/source-systems/{id:long}/rotate-password", Access.Admin),
        new("POST", "/admin/source-systems/{id:long}/rotate-client-secret", Access.Admin),
        new("PUT", "/admin/contexts/{context}/branding", Access.Admin),
        new("GET", "/admin/contexts/{context}/branding", Access.Admin),
        new("PUT", "/admin/contexts/{context}/texts/{language}", Access.Admin),
        new("GET", "/admin/contexts/{context}/texts/{language}", Access.Admin),
        new("GET", "/admin/mail", Access.Admin),
        new("GET", "/admin/mail/{file}", Access.Admin),
        new("GET", "/ledger/entries", Access.Admin),
        new("GET", "/ledger/verify", Access.Admin),
        new("GET", "/ledger/entries/{index}", Access.Admin),
        new("GET", "/ledger/export", Access.Admin),
        new("GET", "/ledger/checkpoint", Access.Admin),
        new("GET", "/ledger/checkpoints", Access.Admin),
        new("GET", "/ledger/proofs/inclusion", Access.Admin),
        new("GET", "/ledger/proofs/consistency", Access.Admin),
        new("POST", Customer + "/subscription-data", Access.WriteAsItself),
        new("GET", Customer + "/subscription-data", Access.ReadBound),
        new("GET", Customer + "/subscription-data/history", Access.ReadBound),
        new("GET", Customer + "/cluster", Access.ReadBound),
        new("GET", "/change-requests/{id}", Access.ReadBound),
        new("PUT", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination", Access.ItselfOrAdmin),
        new("GET", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination", Access.ItselfOrAdmin),
        new("DELETE", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination", Access.ItselfOrAdmin),
        new("POST", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination/rotate-secret", Access.ItselfOrAdmin),
        new("POST", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination/rotate-api-key", Access.ItselfOrAdmin),
        new("GET", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination/deliveries", Access.ItselfOrAdmin),
        new("POST", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination/recover", Access.ItselfOrAdmin),
        new("POST", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination/enable", Access.ItselfOrAdmin),
        new("POST", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/destination/disable", Access.ItselfOrAdmin),
        new("GET", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/propagations", Access.ItselfOrAdmin),
        new("GET", "/propagations/{id}", Access.ReadBound),
        new("POST", "/propagations/{id}/redeliver", Access.ItselfOrAdmin),
        new("POST", "/admin/cluster-feeds", Access.Admin),
        new("GET", "/admin/cluster-feeds/{id:long}", Access.Admin),
        new("PUT", "/nmscs/{nmsc}/clusters/{clusterId}", Access.ClusterFeed),
        new("GET", "/nmscs/{nmsc}/clusters/{clusterId}", Access.ClusterFeed),
        new("DELETE", "/nmscs/{nmsc}/clusters/{clusterId}", Access.ClusterFeed),
        new("POST", "/nmscs/{nmsc}/clusters:batch", Access.ClusterFeed),
        new("POST", "/admin/users", Access.Admin),
        new("GET", "/admin/users", Access.Admin),
        new("GET", "/admin/users/{username}", Access.Admin),
        new("DELETE", "/admin/users/{username}", Access.Admin),
        new("GET", "/console", Access.ConsoleSession),
        new("POST", "/console/logout", Access.ConsoleSession),
        new("POST", "/console/destinations/recover", Access.ConsoleSession),
        new("POST", "/console/destinations/enable", Access.ConsoleSession),
        new("GET", "/console/customers", Access.ConsoleSession),
        new("POST", "/console/customers", Access.ConsoleSession),
        new("GET", "/console/customers/{id:long}", Access.ConsoleSession),
        new("POST", "/console/customers/{id:long}/verify", Access.ConsoleSession),
        new("GET", "/console/operations", Access.ConsoleSession),
        new("GET", "/console/tenancy", Access.ConsoleSession),
        new("POST", "/console/tenancy/source-systems", Access.ConsoleAdmin),
        new("POST", "/console/tenancy/source-systems/{id:long}/{action}", Access.ConsoleAdmin),
        new("POST", "/console/tenancy/cluster-feeds", Access.ConsoleAdmin),
        new("POST", "/console/tenancy/destinations/disable", Access.ConsoleSession),
        new("POST", "/console/tenancy/destinations/enable", Access.ConsoleSession),
        new("POST", "/console/tenancy/destinations/rotate-secret", Access.ConsoleSession),
        new("GET", "/console/ledger", Access.ConsoleAdmin),
        new("POST", "/console/ledger/verify", Access.ConsoleAdmin),
        new("GET", "/console/ledger/export", Access.ConsoleAdmin),
        new("GET", "/dpo", Access.DpoSession),
        new("POST", "/dpo/logout", Access.DpoSession),
        new("GET", "/exports/{context}/{nmsc}", Access.DpoSession),
        new("POST", "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/uploads", Access.WriteAsItself),
        new("GET", "/uploads/{id}", Access.UploaderOrAdmin),
        new("GET", "/uploads/{id}/errors", Access.UploaderOrAdmin),
        new("POST", "/nmscs/{nmsc}/erasures", Access.DataSubjectRights),
        new("GET", "/nmscs/{nmsc}/erasures/{id}", Access.DataSubjectRights),
        new("GET", "/nmscs/{nmsc}/subject-access", Access.DataSubjectRights),
        new("GET", "/dpo/erasure", Access.DpoSession),
        new("POST", "/dpo/erasure", Access.DpoSession),
        new("POST", ApiKeysRoute, Access.Admin),
        new("GET", ApiKeysRoute, Access.Admin),
        new("GET", ApiKeysRoute + "/{id}", Access.Admin),
        new("DELETE", ApiKeysRoute + "/{id}", Access.Admin),
        new("PUT", "/admin/organisations/{nmsc}/data-sharing", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/data-sharing", Access.Admin),
        new("DELETE", "/admin/organisations/{nmsc}/data-sharing", Access.Admin),
        new("POST", "/admin/industry-opt-outs", Access.Admin),
        new("GET", "/admin/industry-opt-outs", Access.Admin),
        new("DELETE", "/admin/industry-opt-outs", Access.Admin),
        new("POST", "/nmscs/{nmsc}/suppression:check", Access.SuppressionCheck),
        new("POST", "/RestServices/OptOut/Upload", Access.ApiKey),
        new("GET", "/nmscs/{nmsc}/opt-outs", Access.DataSubjectRights),
        // Also the API keys of the source system that sent it: OptOut/UploadTests reads a transaction with them.
        new("GET", "/opt-outs/transactions/{transaction_id}", Access.DataSubjectRights),
        new("PUT", "/admin/organisations/{nmsc}/suppression-files", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/suppression-files", Access.Admin),
        new("DELETE", "/admin/organisations/{nmsc}/suppression-files", Access.Admin),
        new("POST", "/admin/organisations/{nmsc}/suppression-files:generate", Access.Admin),
        new("GET", "/nmscs/{nmsc}/suppression-files", Access.OrganisationFiles),
        new("GET", "/nmscs/{nmsc}/suppression-files/{id}", Access.OrganisationFiles),
        new("GET", "/dpo/suppression-files/{nmsc}/{id}", Access.DpoSession),
        new("PUT", "/admin/organisations/{nmsc}/opt-in-types", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/opt-in-types", Access.Admin),
        new("GET", OptInRoute + "/{contactId}", Access.OptInInterface),
        new("POST", OptInRoute + "/{contactId}", Access.OptInInterface),
        new("POST", OptInRoute + "/optins/{contactId}", Access.OptInInterface),
        new("GET", OptInRoute + "/flows/{extRefNo}", Access.OptInInterface),
        new("PUT", OptInRoute + "/flows/{extRefNo}", Access.OptInInterface),
        new("GET", "/admin/organisations/{nmsc}/event-types/", Access.Admin),
        new("PUT", EventTypeRoute, Access.Admin),
        new("GET", EventTypeRoute, Access.Admin),
        new("DELETE", EventTypeRoute, Access.Admin),
        new("POST", EventTypeRoute + ":try", Access.Admin),
        new("POST", EventTypeRoute + "/tokens", Access.Admin),
        new("GET", EventTypeRoute + "/tokens", Access.Admin),
        new("DELETE", EventTypeRoute + "/tokens/{id}", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/pollers/", Access.Admin),
        new("PUT", PollerRoute, Access.Admin),
        new("GET", PollerRoute, Access.Admin),
        new("DELETE", PollerRoute, Access.Admin),
        new("GET", PollerRoute + "/runs", Access.Admin),
        new("POST", PollerRoute + ":run", Access.Admin),
        new("PUT", PollerRoute + ":pause", Access.Admin),
        new("PUT", PollerRoute + ":resume", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/sql-access/", Access.Admin),
        new("PUT", SqlAccessRoute, Access.Admin),
        new("GET", SqlAccessRoute, Access.Admin),
        new("DELETE", SqlAccessRoute, Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/replicas/", Access.Admin),
        new("PUT", ReplicaRoute, Access.Admin),
        new("GET", ReplicaRoute, Access.Admin),
        new("DELETE", ReplicaRoute, Access.Admin),
        new("GET", ReplicaRoute + "/status", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/cdc/", Access.Admin),
        new("PUT", CdcRoute, Access.Admin),
        new("GET", CdcRoute, Access.Admin),
        new("DELETE", CdcRoute, Access.Admin),
        new("GET", CdcRoute + "/status", Access.Admin),
        new("POST", CdcRoute + ":replay", Access.Admin),
        new("GET", "/admin/organisations/{nmsc}/extracts/", Access.Admin),
        new("PUT", ExtractRoute, Access.Admin),
        new("GET", ExtractRoute, Access.Admin),
        new("DELETE", ExtractRoute, Access.Admin),
        new("POST", ExtractRoute + ":run", Access.Admin),
        new("GET", ExtractRoute + "/runs", Access.Admin),
        new("GET", ExtractRoute + "/runs/{id}", Access.Admin),
        new("GET", ExtractRoute + "/runs/{id}/file", Access.Admin),
        new("GET", "/dpo/extracts/{nmsc}/{id}", Access.DpoSession),
        new("GET", "/admin/organisations/{nmsc}/reminder-rules/", Access.Admin),
        new("PUT", ReminderRoute, Access.Admin),
        new("GET", ReminderRoute, Access.Admin),
        new("DELETE", ReminderRoute, Access.Admin),
        new("POST", ReminderRoute + ":run", Access.Admin),
        new("GET", ReminderRoute + "/runs", Access.Admin),
        new("POST", "/nmscs/{nmsc}/reminders/{id}:outcome", Access.ReminderOutcome),
    ];

    const string EventTypeRoute = "/admin/organisations/{nmsc}/event-types/{eventTypeId}";
    const string PollerRoute = "/admin/organisations/{nmsc}/pollers/{name}";
    const string SqlAccessRoute = "/admin/organisations/{nmsc}/sql-access/{role}";
    const string ReplicaRoute = "/admin/organisations/{nmsc}/replicas/{name}";
    const string CdcRoute = "/admin/organisations/{nmsc}/cdc/{name}";
    const string ExtractRoute = "/admin/organisations/{nmsc}/extracts/{name}";
    const string ReminderRoute = "/admin/organisations/{nmsc}/reminder-rules/{name}";

    const string OptInRoute = "/rest/api/optin/v1/optins";

    /// <summary>Administration that lives under the source system it concerns rather than under /admin/.</summary>
    const string ApiKeysRoute = "/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/api-keys";

    /// <summary>Reachable without a token, by intent. A pattern ending in '*' stands for every route under it.</summary>
    // The landing page: the unguessable token in its address is the person's credential.
    static readonly string[] Anonymous = ["POST /oauth/token", "* /health", "GET /openapi/{documentName}.json", "GET /docs*", "GET /validation/{token}", "POST /validation/{token}",
        // The consent reminder's page: likewise, the token in the address is the person's credential.
        "GET /reminders/{token}", "POST /reminders/{token}", "GET /ledger/public-key",
        // The DPO's login form: the password in it is the credential.
        "GET /dpo/login", "POST /dpo/login",
        // The console's login form and its stylesheet.
        "GET /console/login", "POST /console/login", "GET /console/console.css",
        // The preference centre: a person's credential is the emailed link, then the session it opens; what each page
        // shows without them, and to whom, is tested in Preferences/PreferenceCentreTests.
        "GET /preferences/", "POST /preferences/", "GET /preferences/link/{token}", "POST /preferences/link/{token}",
        "GET /preferences/choices", "POST /preferences/choices", "POST /preferences/sign-out",
        // Inbound events (seed 001): the event type's static token is checked by the handler (Inbound/EventTokenTests).
        "POST /events/{nmsc}/{eventTypeId}"];

    /// <summary>Concrete values for one customer's routes: the customer, its system and one of its change requests.</summary>
    sealed record Target(SourceSystemCredentials System, string CustomerId, string ChangeId, Guid PropagationId, Guid UploadId)
    {
        /// <summary>An opt-in flow of the system (seed 003); none unless a test starts one.</summary>
        public string ExtRefNo { get; init; } = Guid.Empty.ToString();

        public string Url(Row row) => row.Pattern
            .Replace("{contactId}", Uri.EscapeDataString(CustomerId))
            .Replace("{eventTypeId}", "form-builder")
            .Replace("{name}", "feed")
            // Not a valid role name: PostgreSQL roles are cluster-wide, so the table's requests must never create one.
            .Replace("{role}", "Not-A-Role")
            .Replace("{extRefNo}", ExtRefNo)
            .Replace("/propagations/{id}", $"/propagations/{PropagationId}")
            .Replace("/uploads/{id}", $"/uploads/{UploadId}")
            .Replace("{transaction_id}", Guid.Empty.ToString())
            .Replace("{context}", System.Context)
            .Replace("{nmsc}", System.Nmsc)
            .Replace("{sourceSystem}", Uri.EscapeDataString(System.Name))
            .Replace("{sourceCustomerId}", Uri.EscapeDataString(CustomerId))
            .Replace("{id:long}", System.Id.ToString(CultureInfo.InvariantCulture))
            .Replace("{id}", ChangeId)
            .Replace("{clusterId}", "cluster-1")
            .Replace("{language}", "en")
            .Replace("{file}", "none.eml")
            .Replace("{username}", "nobody")
            // Sent without an antiforgery token, the console's form does nothing.
            .Replace("{action}", "deactivate");
    }

    static HttpRequestMessage Request(Row row, Target target)
    {
        var request = new HttpRequestMessage(new HttpMethod(row.Method), target.Url(row));
        if (row.Method is "POST" or "PUT" or "PATCH")
        {
            var body = row.Access switch
            {
                Access.WriteAsItself => Seed.Consent("OFFERS", true).ToJsonString(),
                Access.OptInInterface => """[{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"}]""",
                _ => "{}",
            };
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        return request;
    }

    /// <summary>A source system with one applied change for customer c1.</summary>
    static async Task<Target> CustomerOfAsync(HubApp app, SourceSystemCredentials system, string customerId = "c1")
    {
        using var client = await app.AsAsync(system);
        var posted = await HubApp.SubmitAsync(client, system, customerId, Seed.Consent("OFFERS", true));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var changeId = (await Json.ReadAsync(posted))["id"]!.GetValue<string>();
        // A message the customer's system was sent, as the dispatcher would have recorded it (it has no destination here).
        var propagationId = Guid.CreateVersion7();
        using (var scope = app.Scope())
        {
            var db = app.Db(scope);
            db.Propagations.Add(new PropagationMessage
            {
                Id = propagationId, SourceSystemId = system.Id, Nmsc = system.Nmsc, Context = system.Context, SourceSystem = system.Name,
                SourceCustomerId = customerId, LedgerIndex = 1, Cause = PropagationCauses.ChangeApplied, Payload = "{}",
                State = PropagationStates.Delivered, CreatedAt = DateTime.UtcNow, NextAttemptAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }
        // An upload of the system whose one record was rejected (unvalidated): it changed nothing but has an error report.
        var upload = await client.PostAsync($"/contexts/{system.Context}/nmscs/{system.Nmsc}/source-systems/{system.Name}/uploads",
            new StringContent(new JsonArray(new JsonObject
            {
                ["context"] = system.Context, ["nmsc"] = system.Nmsc, ["sourceSystemName"] = system.Name, ["sourceCustomerId"] = customerId,
                ["data"] = Seed.Consent("OFFERS", false, validated: false),
            }).ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        var uploadId = Guid.Parse((await Json.ReadAsync(upload))["id"]!.GetValue<string>());
        return new Target(system, customerId, changeId, propagationId, uploadId);
    }

    // ---- the table is complete ----------------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Every_mapped_endpoint_is_either_anonymous_by_intent_or_in_the_authorisation_table(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.NotEmpty(endpoints);

        var mapped = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"];
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var authorised = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Any();
            foreach (var method in methods)
            {
                var key = $"{method} {pattern}";
                mapped.Add(key);
                if (IsAnonymousByIntent(key))
                {
                    Assert.True(anonymous, $"{key} is meant to be anonymous but does not allow anonymous callers.");
                }
                else
                {
                    Assert.True(Protected.Any(r => $"{r.Method} {r.Pattern}" == key),
                        $"{key} has no row in AuthorisationTests.Protected: add one (and so an authorisation test) for it.");
                    Assert.False(anonymous, $"{key} allows anonymous callers.");
                    Assert.True(authorised, $"{key} requires no authorisation.");
                }
            }
        }
        // No stale rows: every row names a mapped endpoint, so every row is exercised against real routing.
        foreach (var row in Protected) Assert.Contains($"{row.Method} {row.Pattern}", mapped);
        foreach (var intent in Anonymous) Assert.Contains(mapped, key => Matches(intent, key));
    }

    static bool IsAnonymousByIntent(string key) => Anonymous.Any(intent => Matches(intent, key));

    static bool Matches(string intent, string key) =>
        intent.EndsWith('*') ? key.StartsWith(intent[..^1], StringComparison.Ordinal) : intent == key;

    // ---- who is refused, by the table --------------------------------------------------------------

    [ProviderTheory, Providers]
    public async Task Every_protected_endpoint_refuses_an_anonymous_caller_with_401_invalid_token(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var anonymous = app.CreateClient();
        using var garbage = app.WithToken("garbage");

        // DPO session endpoints answer with the cookie scheme's challenge instead, API key endpoints with the seed's: see the tests below.
        foreach (var row in Protected.Where(r => r.Access is not (Access.DpoSession or Access.ConsoleSession or Access.ConsoleAdmin or Access.ApiKey)))
        {
            foreach (var client in new[] { anonymous, garbage })
            {
                var response = await client.SendAsync(Request(row, target));
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{row.Method} {row.Pattern}: {(int)response.StatusCode} {text}");
                Assert.Equal("invalid_token", JsonNode.Parse(text)!["error"]!.GetValue<string>());
            }
        }
        // Nothing was written by the refused requests.
        using var admin = await app.AdminAsync();
        var history = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(target.System, target.CustomerId) + "/history"));
        Assert.Equal(1, history["count"]!.GetValue<int>());
    }

    [ProviderTheory, Providers]
    public async Task Dpo_session_endpoints_refuse_anonymous_callers_and_every_bearer_token_and_admit_a_dpo_session(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var anonymous = app.CreateClient(new() { AllowAutoRedirect = false });
        using var system = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();
        using var session = await Bulk.Dpos.SignInAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc));
        var rows = Protected.Where(r => r.Access == Access.DpoSession).ToList();
        Assert.NotEmpty(rows);

        foreach (var row in rows)
        {
            foreach (var (who, client) in new[] { ("anonymous", anonymous), ("source system", system), ("admin", admin) })
            {
                var refused = await client.SendAsync(Request(row, target));
                Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode}");
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            }
            var admitted = await session.SendAsync(Request(row, target));
            Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)admitted.StatusCode < 500,
                $"DPO on {row.Method} {row.Pattern}: {(int)admitted.StatusCode}");
        }
    }

    [ProviderTheory, Providers]
    public async Task Console_session_endpoints_send_anonymous_callers_and_every_bearer_token_to_the_login_and_admit_admin_and_dpo_sessions(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var anonymous = app.CreateClient(new() { AllowAutoRedirect = false });
        using var system = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();
        using var dpoBearer = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc));
        using var adminSession = await OperatorConsole.Operators.AdminAsync(app);
        var dpo = await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc);
        using var dpoSession = await OperatorConsole.Operators.SignInAsync(app, dpo.Username, dpo.Password);
        var rows = Protected.Where(r => r.Access is Access.ConsoleSession or Access.ConsoleAdmin).ToList();
        Assert.NotEmpty(rows);

        foreach (var row in rows)
        {
            foreach (var (who, client) in new[] { ("anonymous", anonymous), ("source system", system), ("admin's token", admin), ("DPO's token", dpoBearer) })
            {
                // Sent without following the redirect (the login page would answer 200), with the client's token.
                using var request = Request(row, target);
                request.Headers.Authorization = client.DefaultRequestHeaders.Authorization;
                var refused = await anonymous.SendAsync(request);
                Assert.True(refused.StatusCode == HttpStatusCode.Redirect && refused.Headers.Location?.OriginalString == "/console/login",
                    $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode} {refused.Headers.Location}");
            }
            foreach (var (who, session) in new[] { ("admin", adminSession), ("DPO", dpoSession) })
            {
                var admitted = await session.SendAsync(Request(row, target));
                if (who == "DPO" && row.Access == Access.ConsoleAdmin)
                {
                    Assert.True(admitted.StatusCode == HttpStatusCode.Forbidden, $"{who} session on {row.Method} {row.Pattern}: {(int)admitted.StatusCode}");
                    continue;
                }
                Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.Redirect) && (int)admitted.StatusCode < 500,
                    $"{who} session on {row.Method} {row.Pattern}: {(int)admitted.StatusCode}");
            }
        }
    }

    [ProviderTheory, Providers]
    public async Task Api_key_endpoints_refuse_every_caller_without_a_key_in_force_with_the_seeds_status_false_and_admit_a_key(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var anonymous = app.CreateClient();
        using var system = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();
        using var dpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc));
        var key = await app.IssueApiKeyAsync(target.System.Context, target.System.Nmsc, target.System.Name);
        var rows = Protected.Where(r => r.Access == Access.ApiKey).ToList();
        Assert.NotEmpty(rows);

        foreach (var row in rows)
        {
            foreach (var (who, client, apiKey) in new[]
                     {
                         ("anonymous", anonymous, (string?)null), ("an unknown key", anonymous, "chk_" + new string('z', 43)),
                         ("a source system's token", system, null), ("the admin's token", admin, null), ("a DPO's token", dpo, null),
                     })
            {
                using var request = Request(row, target);
                if (apiKey is not null) request.Headers.Add("api-key", apiKey);
                var refused = await client.SendAsync(request);
                var text = await refused.Content.ReadAsStringAsync();
                Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode} {text}");
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                Assert.False(JsonNode.Parse(text)!["status"]!.GetValue<bool>());
            }
            using var admitted = Request(row, target);
            admitted.Headers.Add("api-key", key);
            var response = await anonymous.SendAsync(admitted);
            Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)response.StatusCode < 500,
                $"the key on {row.Method} {row.Pattern}: {(int)response.StatusCode}");
        }
        // An API key opens no other route: it is not a bearer token.
        foreach (var row in Protected.Where(r => r.Access is Access.Admin or Access.ReadBound or Access.WriteAsItself))
        {
            using var request = Request(row, target);
            request.Headers.Add("api-key", key);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(request)).StatusCode);
        }
        await AssertUntouchedAsync(app, target);
    }

    [ProviderTheory, Providers]
    public async Task Admin_and_ledger_endpoints_refuse_a_source_system_with_403_and_admit_the_admin(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        var adminRows = Protected.Where(r => r.Access == Access.Admin).ToList();
        Assert.All(adminRows, r => Assert.True(r.Pattern.StartsWith("/admin/", StringComparison.Ordinal) || r.Pattern.StartsWith("/ledger/", StringComparison.Ordinal)
            || r.Pattern.StartsWith(ApiKeysRoute, StringComparison.Ordinal) || r.Pattern == "/metrics"));
        Assert.All(Protected.Where(r => r.Pattern.StartsWith("/admin/", StringComparison.Ordinal) || r.Pattern.StartsWith("/ledger/", StringComparison.Ordinal)),
            r => Assert.Equal(Access.Admin, r.Access));

        // Both grants of the source system, so neither path to a token yields admin rights.
        using var viaClientCredentials = await app.AsAsync(target.System);
        using var viaPassword = app.WithToken(await app.TokenAsync(target.System.ClientId, target.System.ClientSecret,
            new() { ["grant_type"] = "password", ["username"] = target.System.Username, ["password"] = target.System.Password }));
        // An organisation the source system tries to create must not come into being.
        var unborn = target with { System = target.System with { Nmsc = HubApp.Unique("tgb") } };
        foreach (var row in adminRows)
        {
            foreach (var client in new[] { viaClientCredentials, viaPassword })
            {
                var response = await client.SendAsync(Request(row, row.Method == "GET" ? target : unborn));
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden,
                    $"{row.Method} {row.Pattern}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{unborn.System.Nmsc}")).StatusCode);
        foreach (var row in adminRows)
        {
            var response = await admin.SendAsync(Request(row, target));
            Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)response.StatusCode < 500,
                $"admin on {row.Method} {row.Pattern}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [ProviderTheory, Providers]
    public async Task An_admin_token_reads_only_with_scope_read_and_writes_only_with_scope_write(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        async Task<HttpClient> AdminWith(string scope) => app.WithToken(await app.TokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = HubApp.AdminPassword, ["scope"] = scope }));
        using var reader = await AdminWith("read");
        using var writer = await AdminWith("write");
        var unborn = target with { System = target.System with { Nmsc = HubApp.Unique("tgb") } };

        foreach (var row in Protected.Where(r => r.Access is Access.Admin or Access.ReadBound or Access.ClusterFeed or Access.UploaderOrAdmin or Access.DataSubjectRights
                     or Access.OrganisationFiles))
        {
            var reads = row.Method == "GET";
            var refused = await (reads ? writer : reader).SendAsync(Request(row, reads ? target : unborn));
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{row.Method} {row.Pattern} with the other scope: {(int)refused.StatusCode}");
            var admitted = await (reads ? reader : writer).SendAsync(Request(row, target));
            Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)admitted.StatusCode < 500,
                $"{row.Method} {row.Pattern} with its scope: {(int)admitted.StatusCode}");
        }
        using var admin = await app.AdminAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/organisations/{unborn.System.Nmsc}")).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Cluster_endpoints_admit_the_organisations_feed_and_the_admin_and_refuse_source_systems_and_other_feeds(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var own = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, target.System.Nmsc));
        using var other = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, HubApp.Unique("tgb")));
        using var system = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();

        foreach (var row in Protected.Where(r => r.Access == Access.ClusterFeed))
        {
            foreach (var (who, client) in new[] { ("source system", system), ("other organisation's feed", other) })
            {
                var refused = await client.SendAsync(Request(row, target));
                Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode}");
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            }
            foreach (var (who, client) in new[] { ("own feed", own), ("admin", admin) })
            {
                var admitted = await client.SendAsync(Request(row, target));
                Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)admitted.StatusCode < 500,
                    $"{who} on {row.Method} {row.Pattern}: {(int)admitted.StatusCode} {await admitted.Content.ReadAsStringAsync()}");
            }
        }
        // A feed is no source system and no admin: it reads no customer and administers nothing.
        foreach (var row in Protected.Where(r => r.Access is Access.Admin or Access.WriteAsItself))
            Assert.Equal(HttpStatusCode.Forbidden, (await own.SendAsync(Request(row, target))).StatusCode);
        foreach (var row in Protected.Where(r => r.Access == Access.ReadBound))
            Assert.Equal(HttpStatusCode.NotFound, (await own.SendAsync(Request(row, target))).StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task Data_subject_rights_admit_the_admin_and_the_organisations_dpo_token_and_refuse_every_other_caller(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        var dpo = await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc);
        using var own = await Rights.People.AsDpoAsync(app, dpo);
        using var admin = await app.AdminAsync();
        using var otherDpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", "toyota",
            (await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm")).Nmsc));
        using var system = await app.AsAsync(target.System);
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, target.System.Nmsc));
        using var session = await Bulk.Dpos.SignInAsync(app, dpo);
        var rows = Protected.Where(r => r.Access == Access.DataSubjectRights).ToList();
        Assert.NotEmpty(rows);

        foreach (var row in rows)
        {
            foreach (var (who, client, status) in new[]
                     {
                         ("source system", system, HttpStatusCode.Forbidden), ("cluster feed", feed, HttpStatusCode.Forbidden),
                         ("another organisation's DPO", otherDpo, HttpStatusCode.NotFound), ("a DPO's browser session", session, HttpStatusCode.Unauthorized),
                     })
            {
                var refused = await client.SendAsync(Request(row, target));
                Assert.True(refused.StatusCode == status, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode}");
            }
            foreach (var (who, client) in new[] { ("own DPO", own), ("admin", admin) })
            {
                var admitted = await client.SendAsync(Request(row, target));
                Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)admitted.StatusCode < 500,
                    $"{who} on {row.Method} {row.Pattern}: {(int)admitted.StatusCode} {await admitted.Content.ReadAsStringAsync()}");
            }
        }
        // A DPO's token is no admin's, no source system's and no feed's.
        foreach (var row in Protected.Where(r => r.Access is Access.Admin or Access.WriteAsItself or Access.ClusterFeed))
            Assert.Equal(HttpStatusCode.Forbidden, (await own.SendAsync(Request(row, target))).StatusCode);
        foreach (var row in Protected.Where(r => r.Access is Access.ReadBound or Access.UploaderOrAdmin))
            Assert.Equal(HttpStatusCode.NotFound, (await own.SendAsync(Request(row, target))).StatusCode);
        await AssertUntouchedAsync(app, target);
    }

    [ProviderTheory, Providers]
    public async Task The_suppression_check_admits_the_organisations_callers_and_the_admin_hides_other_organisations_and_refuses_other_roles(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var own = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();
        using var dpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc));
        using var stranger = await app.AsAsync(await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, target.System.Nmsc));
        var rows = Protected.Where(r => r.Access == Access.SuppressionCheck).ToList();
        Assert.NotEmpty(rows);

        foreach (var row in rows)
        {
            foreach (var (who, client, status) in new[] { ("another organisation's system", stranger, HttpStatusCode.NotFound), ("cluster feed", feed, HttpStatusCode.Forbidden) })
            {
                var refused = await client.SendAsync(Request(row, target));
                Assert.True(refused.StatusCode == status, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode}");
            }
            foreach (var (who, client) in new[] { ("own system", own), ("own DPO", dpo), ("admin", admin) })
            {
                var admitted = await client.SendAsync(Request(row, target));
                Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound) && (int)admitted.StatusCode < 500,
                    $"{who} on {row.Method} {row.Pattern}: {(int)admitted.StatusCode} {await admitted.Content.ReadAsStringAsync()}");
            }
        }
    }

    [ProviderTheory, Providers]
    public async Task Organisation_files_admit_the_admin_the_organisations_dpo_token_and_its_source_systems_and_hide_them_from_every_other_caller(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        var dpo = await Bulk.Dpos.CreateAsync(app, "dpo", target.System.Context, target.System.Nmsc);
        using var ownDpo = await Rights.People.AsDpoAsync(app, dpo);
        using var ownSystem = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();
        var other = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var otherSystem = await app.AsAsync(other);
        using var otherDpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", "toyota", other.Nmsc));
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, target.System.Nmsc));
        using var session = await Bulk.Dpos.SignInAsync(app, dpo);
        var rows = Protected.Where(r => r.Access == Access.OrganisationFiles).ToList();
        Assert.NotEmpty(rows);

        foreach (var row in rows)
        {
            foreach (var (who, client, status) in new[]
                     {
                         ("another organisation's source system", otherSystem, HttpStatusCode.NotFound),
                         ("another organisation's DPO", otherDpo, HttpStatusCode.NotFound),
                         ("cluster feed", feed, HttpStatusCode.Forbidden), ("a DPO's browser session", session, HttpStatusCode.Unauthorized),
                     })
            {
                var refused = await client.SendAsync(Request(row, target));
                Assert.True(refused.StatusCode == status, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode}");
            }
            foreach (var (who, client) in new[] { ("own DPO", ownDpo), ("own source system", ownSystem), ("admin", admin) })
            {
                var admitted = await client.SendAsync(Request(row, target));
                Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)admitted.StatusCode < 500,
                    $"{who} on {row.Method} {row.Pattern}: {(int)admitted.StatusCode} {await admitted.Content.ReadAsStringAsync()}");
            }
        }
        await AssertUntouchedAsync(app, target);
    }

    [ProviderTheory, Providers]
    public async Task A_source_system_cannot_read_customers_of_another_organisation_and_learns_nothing_of_their_existence(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var a = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        // Same context and system name, other organisation: only the nmsc tells them apart.
        var b = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var asB = await app.AsAsync(b);
        using var asA = await app.AsAsync(a.System);
        var unknown = a with { CustomerId = "nobody", ChangeId = Guid.NewGuid().ToString(), PropagationId = Guid.NewGuid(), UploadId = Guid.NewGuid() };

        foreach (var row in Protected.Where(r => r.Access == Access.ReadBound))
        {
            Assert.Equal(HttpStatusCode.OK, (await asA.SendAsync(Request(row, a))).StatusCode);

            var existing = await asB.SendAsync(Request(row, a));
            var missing = await asB.SendAsync(Request(row, unknown));
            Assert.True(existing.StatusCode == HttpStatusCode.NotFound, $"{row.Method} {row.Pattern}: {(int)existing.StatusCode}");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("application/problem+json", existing.Content.Headers.ContentType?.MediaType);
            // The refusal of an existing customer reads exactly like the answer for one that does not exist.
            Assert.Equal(WithoutTraceId(await missing.Content.ReadAsStringAsync()), WithoutTraceId(await existing.Content.ReadAsStringAsync()));
        }
    }

    [ProviderTheory, Providers]
    public async Task A_source_system_cannot_submit_as_a_source_system_of_another_organisation(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var a = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        var b = await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm");
        using var asB = await app.AsAsync(b);

        foreach (var row in Protected.Where(r => r.Access == Access.WriteAsItself))
        {
            foreach (var customer in new[] { a, a with { CustomerId = "new-customer" } })
            {
                var response = await asB.SendAsync(Request(row, customer));
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{row.Method} {row.Pattern}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        await AssertUntouchedAsync(app, a);
    }

    [ProviderTheory, Providers]
    public async Task A_source_system_cannot_submit_as_another_source_system_of_its_own_organisation(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm"));
        var dealer = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer");
        var lexusCrm = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");

        foreach (var intruder in new[] { dealer, lexusCrm })
        {
            using var client = await app.AsAsync(intruder);
            foreach (var row in Protected.Where(r => r.Access == Access.WriteAsItself))
            {
                var response = await client.SendAsync(Request(row, crm));
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{intruder.Name}/{intruder.Context} {row.Method} {row.Pattern}: {(int)response.StatusCode}");
            }
        }
        // The same system name in another context of the organisation is another system: it may not write into toyota's.
        using (var lexus = await app.AsAsync(lexusCrm))
            Assert.Equal(HttpStatusCode.Created, (await HubApp.SubmitAsync(lexus, lexusCrm, "c1", Seed.Consent("SURVEYS", true))).StatusCode);
        await AssertUntouchedAsync(app, crm);
    }

    [ProviderTheory, Providers]
    public async Task A_source_system_of_the_same_organisation_but_another_context_cannot_read(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var toyota = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm"));
        var lexus = await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm");
        var toyotaDealer = await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer");
        using var asLexus = await app.AsAsync(lexus);
        using var asDealer = await app.AsAsync(toyotaDealer);

        foreach (var row in Protected.Where(r => r.Access == Access.ReadBound))
        {
            var response = await asLexus.SendAsync(Request(row, toyota));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{row.Method} {row.Pattern}: {(int)response.StatusCode}");
            // Control: another source system of the same organisation and context does read.
            Assert.Equal(HttpStatusCode.OK, (await asDealer.SendAsync(Request(row, toyota))).StatusCode);
        }
    }

    [ProviderTheory, Providers]
    public async Task The_admin_reads_every_customer_but_cannot_submit_subscription_data(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var admin = await app.AdminAsync();

        foreach (var row in Protected.Where(r => r.Access == Access.ReadBound))
        {
            var response = await admin.SendAsync(Request(row, target));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{row.Method} {row.Pattern}: {(int)response.StatusCode}");
        }
        foreach (var row in Protected.Where(r => r.Access == Access.WriteAsItself))
        {
            var response = await admin.SendAsync(Request(row, target));
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{row.Method} {row.Pattern}: {(int)response.StatusCode}");
        }
        await AssertUntouchedAsync(app, target);
    }

    [ProviderTheory, Providers]
    public async Task An_organisation_api_user_reads_every_record_of_its_organisation_and_nothing_else_and_writes_nothing(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var toyota = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm"));
        var lexus = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(nmsc, "lexus", "dealer"));
        var stranger = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        var unknown = stranger with { CustomerId = "nobody", ChangeId = Guid.NewGuid().ToString(), PropagationId = Guid.NewGuid(), UploadId = Guid.NewGuid() };
        using var everyContext = await Tenancy.ApiUsers.AsAsync(app, await Tenancy.ApiUsers.CreateAsync(app, nmsc));
        using var toyotaOnly = await Tenancy.ApiUsers.AsAsync(app, await Tenancy.ApiUsers.CreateAsync(app, nmsc, "toyota"));

        foreach (var row in Protected.Where(r => r.Access == Access.ReadBound))
        {
            foreach (var (who, client, target) in new[] { ("every context", everyContext, toyota), ("every context", everyContext, lexus), ("toyota only", toyotaOnly, toyota) })
            {
                var read = await client.SendAsync(Request(row, target));
                Assert.True(read.StatusCode == HttpStatusCode.OK, $"{who} on {row.Method} {row.Pattern} in {target.System.Context}: {(int)read.StatusCode}");
            }
            // Another organisation's records, and another context for a bound user, do not exist for it.
            var missing = WithoutTraceId(await (await everyContext.SendAsync(Request(row, unknown))).Content.ReadAsStringAsync());
            var hidden = await everyContext.SendAsync(Request(row, stranger));
            Assert.True(hidden.StatusCode == HttpStatusCode.NotFound, $"{row.Method} {row.Pattern} of another organisation: {(int)hidden.StatusCode}");
            Assert.Equal(missing, WithoutTraceId(await hidden.Content.ReadAsStringAsync()));
            Assert.Equal(HttpStatusCode.NotFound, (await toyotaOnly.SendAsync(Request(row, lexus))).StatusCode);
        }
        foreach (var row in Protected.Where(r => r.Access is Access.WriteAsItself or Access.ItselfOrAdmin or Access.Admin or Access.ClusterFeed))
        {
            var refused = await everyContext.SendAsync(Request(row, toyota));
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{row.Method} {row.Pattern}: {(int)refused.StatusCode}");
        }
        foreach (var row in Protected.Where(r => r.Access == Access.UploaderOrAdmin))
            Assert.Equal(HttpStatusCode.NotFound, (await everyContext.SendAsync(Request(row, toyota))).StatusCode);
        await AssertUntouchedAsync(app, toyota);
    }

    [ProviderTheory, Providers]
    public async Task What_belongs_to_a_source_system_is_refused_to_its_siblings_and_hidden_from_strangers(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm"));
        using var sibling = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer"));
        using var stranger = await app.AsAsync(await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));

        foreach (var row in Protected.Where(r => r.Access == Access.ItselfOrAdmin))
        {
            var refused = await sibling.SendAsync(Request(row, target));
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"sibling {row.Method} {row.Pattern}: {(int)refused.StatusCode}");
            var hidden = await stranger.SendAsync(Request(row, target));
            Assert.True(hidden.StatusCode == HttpStatusCode.NotFound, $"stranger {row.Method} {row.Pattern}: {(int)hidden.StatusCode}");
        }
    }

    [ProviderTheory, Providers]
    public async Task An_upload_is_read_by_its_source_system_and_the_admin_and_does_not_exist_for_anyone_else(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var target = await CustomerOfAsync(app, await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm"));
        var unknown = target with { UploadId = Guid.NewGuid() };
        using var own = await app.AsAsync(target.System);
        using var admin = await app.AdminAsync();
        using var sibling = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer"));
        using var otherContext = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "lexus", "crm"));
        using var stranger = await app.AsAsync(await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, nmsc));

        foreach (var row in Protected.Where(r => r.Access == Access.UploaderOrAdmin))
        {
            foreach (var (who, client) in new[] { ("itself", own), ("admin", admin) })
            {
                var admitted = await client.SendAsync(Request(row, target));
                Assert.True(admitted.StatusCode == HttpStatusCode.OK, $"{who} on {row.Method} {row.Pattern}: {(int)admitted.StatusCode}");
            }
            var missing = WithoutTraceId(await (await own.SendAsync(Request(row, unknown))).Content.ReadAsStringAsync());
            foreach (var (who, client) in new[] { ("sibling", sibling), ("other context", otherContext), ("stranger", stranger), ("feed", feed) })
            {
                var hidden = await client.SendAsync(Request(row, target));
                Assert.True(hidden.StatusCode == HttpStatusCode.NotFound, $"{who} on {row.Method} {row.Pattern}: {(int)hidden.StatusCode}");
                Assert.Equal(missing, WithoutTraceId(await hidden.Content.ReadAsStringAsync()));
            }
        }
    }

    [ProviderTheory, Providers]
    public async Task Anonymous_endpoints_are_reachable_without_a_token(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        using var client = app.CreateClient();

        var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", (await Json.ReadAsync(health))["status"]!.GetValue<string>());

        var openApi = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        Assert.NotNull((await Json.ReadAsync(openApi))["paths"]!["/oauth/token"]);

        var docs = await client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType?.MediaType);

        var token = await app.PostTokenAsync(HubApp.AdminClientId, HubApp.AdminClientSecret,
            new() { ["grant_type"] = "password", ["username"] = "admin", ["password"] = HubApp.AdminPassword });
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
    }

    [ProviderTheory, Providers]
    public async Task The_opt_in_interface_admits_only_source_systems_by_scope_and_refuses_every_other_token_with_403(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var nmsc = HubApp.Unique("tgb");
        var crm = await app.RegisterSourceSystemAsync(nmsc, "toyota", "crm");
        var customer = await CustomerOfAsync(app, crm);
        using var own = await app.AsAsync(crm);
        // A pending double opt-in flow of the system, for the flow routes.
        var started = await own.PostAsync(OptInRoute + "/c2", new StringContent(
            """[{"type":"C0INFOTYPE_SURVEYS","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_REQUESTED"}]""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var target = customer with { ExtRefNo = (await Json.ReadAsync(started))["extRefNo"]!.GetValue<string>() };
        using var admin = await app.AdminAsync();
        using var apiUser = await Tenancy.ApiUsers.AsAsync(app, await Tenancy.ApiUsers.CreateAsync(app, nmsc));
        using var dpo = await Rights.People.AsDpoAsync(app, await Bulk.Dpos.CreateAsync(app, "dpo", crm.Context, nmsc));
        using var feed = await ClusterFeeds.AsAsync(app, await ClusterFeeds.RegisterAsync(app, nmsc));
        using var sibling = await app.AsAsync(await app.RegisterSourceSystemAsync(nmsc, "toyota", "dealer"));
        using var stranger = await app.AsAsync(await app.RegisterSourceSystemAsync(HubApp.Unique("tgb"), "toyota", "crm"));
        async Task<HttpClient> OwnWith(string scope) => app.WithToken(await app.TokenAsync(crm.ClientId, crm.ClientSecret,
            new() { ["grant_type"] = "client_credentials", ["scope"] = scope }));
        using var reader = await OwnWith("read");
        using var writer = await OwnWith("write");
        var rows = Protected.Where(r => r.Access == Access.OptInInterface).ToList();
        Assert.Equal(5, rows.Count);

        foreach (var row in rows)
        {
            foreach (var (who, client) in new[] { ("admin", admin), ("organisation API user", apiUser), ("DPO", dpo), ("cluster feed", feed),
                         ("the system with the other scope", row.Method == "GET" ? writer : reader) })
            {
                var refused = await client.SendAsync(Request(row, target));
                var text = await refused.Content.ReadAsStringAsync();
                Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{who} on {row.Method} {row.Pattern}: {(int)refused.StatusCode} {text}");
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                Assert.True(JsonNode.Parse(text)!["result"]?["code"]?.GetValue<int>() == 403, $"{who} on {row.Method} {row.Pattern} without the seed's result: {text}");
            }
            // Another system, of the organisation or not, has no such contact or flow of its own.
            foreach (var (who, client) in new[] { ("sibling", sibling), ("stranger", stranger) })
            {
                var hidden = await client.SendAsync(Request(row, target));
                var expected = row.Pattern.Contains("{extRefNo}") ? 521 : row.Method == "GET" ? 520 : 200;
                Assert.True((int)hidden.StatusCode == expected, $"{who} on {row.Method} {row.Pattern}: {(int)hidden.StatusCode}");
            }
            foreach (var (who, client) in new[] { ("itself", own), ("itself with its scope", row.Method == "GET" ? reader : writer) })
            {
                var admitted = await client.SendAsync(Request(row, target));
                Assert.True(admitted.StatusCode == HttpStatusCode.OK, $"{who} on {row.Method} {row.Pattern}: {(int)admitted.StatusCode} {await admitted.Content.ReadAsStringAsync()}");
            }
        }
    }

    static async Task AssertUntouchedAsync(HubApp app, Target target)
    {
        using var admin = await app.AdminAsync();
        var history = await Json.ReadAsync(await admin.GetAsync(HubApp.SubscriptionDataPath(target.System, target.CustomerId) + "/history"));
        Assert.Equal(1, history["count"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(HubApp.SubscriptionDataPath(target.System, "new-customer"))).StatusCode);
    }

    static string WithoutTraceId(string problem)
    {
        var node = JsonNode.Parse(problem)!.AsObject();
        node.Remove("traceId");
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }
}
