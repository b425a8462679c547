using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Rights;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;

namespace ConsentHub.OptOut;

/// <summary>An identifier as the parties exchange it: its kind and the lower-case hex SHA-256 of its normalised value.</summary>
public sealed record HashedIdentifier(string Kind, string Sha256);

/// <summary>Whether one identifier is suppressed, and by which lists: "own" (the organisation's), "industry" (the pool).</summary>
public sealed record SuppressionStatus(string Kind, string Sha256, bool Suppressed, IReadOnlyList<string> Lists);

/// <summary>The answer of a check: one status per identifier, in order, and whether the industry pool was consulted at all.</summary>
public sealed record SuppressionCheckResult(bool IndustryChecked, IReadOnlyList<SuppressionStatus> Results);

public sealed record IdentifierInput(string? Kind, string? Sha256);

public sealed record SuppressionCheckInput(List<IdentifierInput?>? Identifiers);

/// <summary>
/// <c>POST /nmscs/{nmsc}/suppression:check</c>: which hashed identifiers an organisation must not contact. Its own list
/// counts always; the industry pool only while the organisation's data sharing agreement is in force (a non-member
/// checks its own list only, and the answer says so). The answer never names who contributed an entry.
/// </summary>
public static class SuppressionCheck
{
    public const string Own = "own";
    public const string Industry = "industry";
    public const int MaxIdentifiers = 1000;

    /// <summary>The admin, the organisation's DPOs, its source systems (bearer token with scope read) and its API keys.</summary>
    public const string Policy = "suppression-check";

    /// <summary>
    /// The lookup itself, for this route and for the callers that need it inside the hub (the opt-in API's adBlocked).
    /// The identifiers are expected valid: a known kind and 64 lower-case hex digits.
    /// </summary>
    public static async Task<SuppressionCheckResult> CheckAsync(ConsentDb db, string nmsc, IReadOnlyList<HashedIdentifier> identifiers, CancellationToken ct)
    {
        var hashes = identifiers.Select(i => i.Sha256).Distinct().ToList();
        var own = (await db.SuppressionEntries.AsNoTracking()
                .Where(e => e.Nmsc == nmsc && e.SupersededAt == null && hashes.Contains(e.Sha256))
                .Select(e => new { e.Kind, e.Sha256 }).Distinct().ToListAsync(ct))
            .Select(e => new HashedIdentifier(e.Kind, e.Sha256)).ToHashSet();
        var member = await IndustryPool.IsMemberAsync(db, nmsc, ct);
        var industry = member
            ? (await IndustryPool.QueryFor(db, nmsc).Where(p => hashes.Contains(p.Sha256)).ToListAsync(ct))
                .Select(p => new HashedIdentifier(p.Kind, p.Sha256)).ToHashSet()
            : [];

        var results = identifiers.Select(i =>
        {
            List<string> lists = [];
            if (own.Contains(i)) lists.Add(Own);
            if (industry.Contains(i)) lists.Add(Industry);
            return new SuppressionStatus(i.Kind, i.Sha256, lists.Count > 0, lists);
        }).ToList();
        return new SuppressionCheckResult(member, results);
    }

    public static IServiceCollection AddSuppressionCheckPolicy(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.AddAuthenticationSchemes(AuthSetup.BearerOrApiKeyScheme).RequireAuthenticatedUser()
            .RequireAssertion(c => MayCheck(c.User)));
        return services;
    }

    /// <summary>Who may check at all; which organisation is decided by the handler, so that another organisation's callers get 404.</summary>
    static bool MayCheck(ClaimsPrincipal user) => user.FindFirst(HubClaims.Role)?.Value switch
    {
        Roles.ApiKey => true,
        Roles.Admin or Roles.Dpo or Roles.HeadOfficeDpo or Roles.SourceSystem => user.HasScope(Scopes.Read),
        _ => false,
    };

    public static IEndpointRouteBuilder MapSuppressionCheck(this IEndpointRouteBuilder app)
    {
        app.MapPost("/nmscs/{nmsc}/suppression:check", Check)
            .WithTags("Opt-out service")
            .WithName("CheckSuppression")
            .WithSummary("Which of up to 1000 hashed identifiers (kind, sha256) the organisation must not contact: by its own list, or by the industry pool while it is a member.")
            .RequireAuthorization(Policy)
            .Accepts<SuppressionCheckInput>("application/json")
            .Produces<SuppressionCheckResult>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> Check(string nmsc, HttpRequest http, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await MayCheckForAsync(db, Caller.From(http.HttpContext.User), nmsc, ct))
            return Problems.NotFound($"No organisation '{nmsc}'.");
        var body = await JsonBody.ReadAsync<SuppressionCheckInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var identifiers = Read(body.Value!, out var violations);
        if (violations.Count > 0) return Problems.Invalid(violations);
        return TypedResults.Ok(await CheckAsync(db, nmsc, identifiers, ct));
    }

    static async Task<bool> MayCheckForAsync(ConsentDb db, Caller caller, string nmsc, CancellationToken ct) => caller.Role switch
    {
        // Keys and source systems belong to one organisation; any of its contexts may check its list.
        Roles.ApiKey or Roles.SourceSystem => caller.Nmsc == nmsc && await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct),
        _ => await OrganisationAccess.MayActForAsync(db, caller, nmsc, ct),
    };

    static List<HashedIdentifier> Read(SuppressionCheckInput input, out List<Violation> violations)
    {
        violations = [];
        if (input.Identifiers is not { Count: > 0 and <= MaxIdentifiers } list)
        {
            violations.Add(new("identifiers", "count", $"identifiers is a list of 1 to {MaxIdentifiers} identifiers."));
            return [];
        }
        var identifiers = new List<HashedIdentifier>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            var kind = list[i]?.Kind?.ToLowerInvariant() ?? "";
            var sha256 = list[i]?.Sha256?.ToLowerInvariant() ?? "";
            if (!SuppressionKinds.IsKnown(kind))
                violations.Add(new($"identifiers[{i}].kind", "kind", $"identifiers[{i}].kind is {SuppressionKinds.Email}, {SuppressionKinds.Phone} or {SuppressionKinds.Postal}."));
            if (!SuppressionIdentifiers.IsSha256(sha256))
                violations.Add(new($"identifiers[{i}].sha256", "sha256", $"identifiers[{i}].sha256 is 64 hexadecimal digits (SHA-256 of the normalised identifier)."));
            identifiers.Add(new HashedIdentifier(kind, sha256));
        }
        return identifiers;
    }
}
