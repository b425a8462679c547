using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.OptIn;

/// <summary>
/// The opt-in interface of seed 003 under its full path, for a CRM's bearer token: <c>contactId</c> is the CRM's
/// sourceCustomerId, each <c>type</c> one of the organisation's opt-in types (<see cref="OptInTypes"/>).
/// </summary>
public static class OptInApi
{
    public const string BasePath = "/rest/api/optin/v1/optins";

    public static IServiceCollection AddOptIn(this IServiceCollection services) => services.AddScoped<OptInFlows>();

    public static IEndpointRouteBuilder MapOptIn(this IEndpointRouteBuilder app)
    {
        app.MapOptInTypes();
        // Any valid token passes the host; the handlers refuse every token but a source system's with the right scope
        // (GET read, POST and PUT write) with a 403 that carries the seed's result member, as every refusal here does.
        var optIns = app.MapGroup(BasePath).WithTags("Opt-in interface (seed 003)");
        optIns.MapGet("/{contactId}", GetContactAsync)
            .RequireAuthorization()
            .WithName("GetOptIns")
            .WithSummary("Returns all consent data for a specific person (OptInOverviewDTO).")
            .Produces<OptInOverviewDTO>(StatusCodes.Status200OK)
            .ProducesProblem(OptInCodes.NoContact);
        // The seed's heading names the path with "optins" twice; its full path names it once. Both are served.
        foreach (var (path, name) in new[] { ("/{contactId}", "CreateOptIns"), ("/optins/{contactId}", "CreateOptInsBySeedHeading") })
            optIns.MapPost(path, CreateAsync)
                .RequireAuthorization()
                .WithName(name)
                .WithSummary("Creates consent data (no status or C0OPTINSTATUS_CURRENT: single opt-in; C0OPTINSTATUS_REQUESTED: double opt-in flow); ?approval=false sets opt-outs.")
                .Accepts<List<OptInItemInput>>("application/json")
                .Produces<OptInDTO>(StatusCodes.Status200OK)
                .ProducesProblem(OptInCodes.InvalidRequest);
        optIns.MapGet("/flows/{extRefNo}", GetFlowAsync)
            .RequireAuthorization()
            .WithName("GetOptInFlow")
            .WithSummary("Returns all consent options within a flow; C0OPTINSTATUS_REQUESTED until confirmed.")
            .Produces<OptInOverviewDTO>(StatusCodes.Status200OK)
            .ProducesProblem(OptInCodes.NoFlow);
        optIns.MapPut("/flows/{extRefNo}", UpdateFlowAsync)
            .RequireAuthorization()
            .WithName("UpdateOptInFlow")
            .WithSummary("Replaces a flow's pending selection; ?approval=true confirms it after the person's click (the selection becomes current).")
            .Accepts<List<OptInItemInput>>("application/json")
            .Produces<OptInDTO>(StatusCodes.Status200OK)
            .ProducesProblem(OptInCodes.NoFlow)
            .ProducesProblem(OptInCodes.InvalidRequest)
            .ProducesProblem(OptInCodes.MailFailed);
        return app;
    }

    static async Task<IResult> GetContactAsync(string contactId, ClaimsPrincipal user, ConsentDb db, OptInFlows flows, CancellationToken ct)
    {
        var (system, refused) = await CallerSystemAsync(user, Scopes.Read, db, ct);
        if (system is null) return refused!;
        if (ContactIdProblem(contactId) is { } invalid) return invalid;
        return await flows.OverviewAsync(system, contactId, ct);
    }

    static async Task<IResult> CreateAsync(
        string contactId, string? approval, HttpRequest http, ClaimsPrincipal user, ConsentDb db, OptInFlows flows, CancellationToken ct)
    {
        var (system, refused) = await CallerSystemAsync(user, Scopes.Write, db, ct);
        if (system is null) return refused!;
        if (ContactIdProblem(contactId) is { } invalid) return invalid;
        var optOut = approval?.ToLowerInvariant() switch
        {
            null or "true" => false,
            "false" => true,
            _ => (bool?)null,
        };
        if (optOut is null) return OptInProblem.Invalid("approval", "approval-query", "approval is true (create consent data) or false (set opt-outs).");

        var body = await JsonBody.ReadAsync<List<OptInItemInput?>>(http, ct, noBreakSpaceIsWhitespace: true);
        if (body.Error is not null) return OptInProblem.FromBody(body.Error);
        var types = await OptInTypes.OfAsync(db, system.Nmsc, ct);
        var (items, requested, violations) = OptInRequest.Read(body.Value!, types, optOut.Value ? OptInRequest.Use.OptOut : OptInRequest.Use.Create);
        if (violations.Count > 0) return OptInProblem.Invalid(violations);
        var submittedBy = Caller.From(user).Subject;
        return optOut.Value
            ? await flows.OptOutAsync(system, contactId, [.. items.Select(i => i.Type)], types, submittedBy, ct)
            : await flows.CreateAsync(system, contactId, items, types, requested, submittedBy, ct);
    }

    static async Task<IResult> GetFlowAsync(string extRefNo, ClaimsPrincipal user, ConsentDb db, OptInFlows flows, CancellationToken ct)
    {
        var (system, refused) = await CallerSystemAsync(user, Scopes.Read, db, ct);
        if (system is null) return refused!;
        var (flow, missing) = await FlowAsync(system, extRefNo, flows, ct);
        if (flow is null) return missing!;
        return await flows.ReadFlowAsync(system, flow, ct);
    }

    static async Task<IResult> UpdateFlowAsync(
        string extRefNo, string? approval, HttpRequest http, ClaimsPrincipal user, ConsentDb db, OptInFlows flows, CancellationToken ct)
    {
        var (system, refused) = await CallerSystemAsync(user, Scopes.Write, db, ct);
        if (system is null) return refused!;
        var confirm = approval?.ToLowerInvariant() switch
        {
            null => false,
            "true" => true,
            _ => (bool?)null,
        };
        if (confirm is null)
            return OptInProblem.Invalid("approval", "approval-query",
                "approval=true confirms the flow after the person's click; without it the body replaces the pending selection.");
        var (flow, missing) = await FlowAsync(system, extRefNo, flows, ct);
        if (flow is null) return missing!;
        if (confirm.Value)
            return await flows.ConfirmAsync(system, flow, http.HttpContext.Connection.RemoteIpAddress?.ToString(), http.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null, ct);

        var body = await JsonBody.ReadAsync<List<OptInItemInput?>>(http, ct, noBreakSpaceIsWhitespace: true);
        if (body.Error is not null) return OptInProblem.FromBody(body.Error);
        var types = await OptInTypes.OfAsync(db, system.Nmsc, ct);
        var (items, _, violations) = OptInRequest.Read(body.Value!, types, OptInRequest.Use.Replace);
        if (violations.Count > 0) return OptInProblem.Invalid(violations);
        return await flows.ReplaceAsync(system, flow, items, types, Caller.From(user).Subject, ct);
    }

    /// <summary>Only a source system (the CRM) speaks this interface, as itself: its token names it.</summary>
    static async Task<(SourceSystem? System, IResult? Refused)> CallerSystemAsync(ClaimsPrincipal user, string scope, ConsentDb db, CancellationToken ct)
    {
        var caller = Caller.From(user);
        if (caller.Role != Roles.SourceSystem || caller.Nmsc is null || caller.Context is null || caller.SourceSystem is null)
            return (null, OptInProblem.Of(StatusCodes.Status403Forbidden, "forbidden", "Forbidden.",
                "The opt-in interface answers a source system's token: contactId is that system's customer id."));
        if (!user.HasScope(scope))
            return (null, OptInProblem.Of(StatusCodes.Status403Forbidden, "forbidden", "Forbidden.",
                $"This call needs a token with scope {scope}."));
        var system = await db.SourceSystems.AsNoTracking()
            .SingleOrDefaultAsync(s => s.Nmsc == caller.Nmsc && s.Context == caller.Context && s.Name == caller.SourceSystem, ct);
        return system is null
            ? (null, OptInProblem.Of(StatusCodes.Status403Forbidden, "forbidden", "Forbidden.", "This source system is no longer registered."))
            : (system, null);
    }

    static async Task<(OptInFlow? Flow, IResult? Missing)> FlowAsync(SourceSystem system, string extRefNo, OptInFlows flows, CancellationToken ct)
    {
        // Another system's flow, or another organisation's, is answered exactly like one that does not exist.
        var flow = Guid.TryParse(extRefNo, out var id) ? await flows.FindAsync(system, id, ct) : null;
        return flow is null ? (null, OptInProblem.NoFlow($"No opt-in flow '{extRefNo}' was started by this source system.")) : (flow, null);
    }

    static IResult? ContactIdProblem(string contactId) => Names.IsSourceCustomerId(contactId)
        ? null
        : OptInProblem.Invalid("contactId", "source-customer-id",
            $"contactId must be 1 to {Names.MaxSourceCustomerIdLength} characters without control characters or surrounding spaces.");
}
