using System.Security.Claims;
using System.Text.Encodings.Web;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ConsentHub.Auth;

/// <summary>
/// Authenticates a request by its <c>api-key</c> header (seed 002; <c>x-api-key</c> is read too) as the key's source
/// system. Only the policy <see cref="AuthSetup.ApiKeyPolicy"/> uses this scheme, so a key opens no other route.
/// </summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "api-key";
    public const string Header = "api-key";
    public const string AlternateHeader = "x-api-key";
    /// <summary>The claim that names the <see cref="ApiKey"/> a request came with.</summary>
    public const string KeyIdClaim = "api_key_id";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Request.Headers[Header].FirstOrDefault() ?? Request.Headers[AlternateHeader].FirstOrDefault();
        if (string.IsNullOrWhiteSpace(presented)) return AuthenticateResult.NoResult();
        var db = Context.RequestServices.GetRequiredService<ConsentDb>();
        var key = await ApiKeys.FindActiveAsync(db, presented.Trim(), Context.RequestAborted);
        if (key is null) return AuthenticateResult.Fail("The API key is not known, or was revoked.");
        await ApiKeys.MarkUsedAsync(db, key, Context.RequestServices.GetRequiredService<TimeProvider>().Now(), Context.RequestAborted);
        var identity = new ClaimsIdentity(
        [
            new Claim("sub", $"api-key:{key.Id}"),
            new Claim(HubClaims.Role, Roles.ApiKey),
            new Claim(HubClaims.Nmsc, key.Nmsc),
            new Claim(HubClaims.Context, key.Context),
            new Claim(HubClaims.SourceSystem, key.SourceSystem),
            new Claim(KeyIdClaim, key.Id.ToString()),
        ], SchemeName, "sub", HubClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <summary>
    /// Problem details, with the seed's <c>"status": false</c> so seed 002 clients see the failure as they expect. That member
    /// takes the place of RFC 9457's numeric <c>status</c> (the HTTP status says 401): a JSON object may name a member only
    /// once, and RFC 9457 §3.1 has consumers ignore a member of an unexpected type.
    /// </summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var missing = string.IsNullOrWhiteSpace(Request.Headers[Header].FirstOrDefault() ?? Request.Headers[AlternateHeader].FirstOrDefault());
        // Written by SeedProblem: the problem's numeric "status" and the seed's "status": false cannot share one object.
        return new SeedProblem(TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "The API key is missing or not valid.",
            detail: missing ? "Send the API key issued to your source system in the api-key header."
                : "The api-key header does not carry a key in force: it is unknown, revoked, or its source system is deactivated.",
            type: "https://consenthub.dev/problems/api-key")).ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.Forbidden("This API key does not allow this request.").ExecuteAsync(Context);
}
