using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.AspNetCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Validation;
using OpenIddict.Validation.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace ConsentHub.Auth;

public sealed class TokenOptions : IValidatableObject
{
    public const string Section = "ConsentHub:Tokens";

    /// <summary>Access token lifetime; the seed's tokens live 12 hours.</summary>
    [Range(1, 60 * 24 * 7)]
    public int AccessTokenLifetimeMinutes { get; set; } = 720;

    /// <summary>
    /// The issuer (<c>iss</c>) of every token, the same on every instance; empty: <c>ConsentHub:Validation:PublicBaseUrl</c>.
    /// Without it, each instance would name itself after the Host of the request and refuse the others' tokens.
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>Token requests one client address may make per window; more are answered 429.</summary>
    [Range(1, 1_000_000)]
    public int RateLimitPermits { get; set; } = 30;

    [Range(1, 24 * 60 * 60)]
    public int RateLimitWindowSeconds { get; set; } = 60;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(Issuer) && !IsHttpUri(Issuer))
            yield return new ValidationResult("Issuer must be an absolute http or https URI.", [nameof(Issuer)]);
    }

    public static bool IsHttpUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>OAuth2 (RFC 6749) through OpenIddict: the token endpoint, bearer validation and the hub's policies.</summary>
public static class AuthSetup
{
    public const string AdminPolicy = "admin";
    /// <summary>A cluster feed (bound to its organisation by the nmsc claim, checked by the endpoint) or the admin.</summary>
    public const string ClusterFeedPolicy = "cluster-feed";
    public const string ReadScope = "scope:read";
    public const string WriteScope = "scope:write";
    /// <summary>The routes that take a source system's API key (seed 002's api-key header) instead of a bearer token.</summary>
    public const string ApiKeyPolicy = "api-key";
    /// <summary>
    /// For routes that take either: the API key when the request carries an api-key header, the bearer token otherwise,
    /// so each caller is challenged in its own words (the seed's "status": false, or OAuth's invalid_token).
    /// </summary>
    public const string BearerOrApiKeyScheme = "bearer-or-api-key";

    public static IServiceCollection AddHubAuth(this IServiceCollection services)
    {
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.Section);
        services.AddOptions<TokenOptions>().BindConfiguration(TokenOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SignInOptions>().BindConfiguration(SignInOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<PasswordSignIn>();
        services.AddSingleton<CurrentHolders>();
        services.AddTokenRateLimit();
        services.AddSingleton<TokenKeys>();
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, ConfigureServerFromHub>();
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>, KeepTokensOutOfLogs>();

        services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<Data.ConsentDb>())
            .AddServer(o =>
            {
                o.SetTokenEndpointUris("oauth/token");
                o.AllowPasswordFlow().AllowClientCredentialsFlow();
                // A DPO asks for a token without a client (TokenEndpoint); everyone else must still authenticate theirs.
                o.AcceptAnonymousClients();
                o.RegisterScopes(Scopes.Read, Scopes.Write);
                // Plain signed JWTs, as in seed 004 §5.5: integrators may read the claims.
                o.DisableAccessTokenEncryption();
                o.DisableTokenStorage();
                o.DisableAuthorizationStorage();
                o.UseAspNetCore().EnableTokenEndpointPassthrough().DisableTransportSecurityRequirement();
                o.AddEventHandler<OpenIddictServerEvents.ExtractTokenRequestContext>(b => b
                    .UseInlineHandler(RefuseControlCharacters)
                    .SetOrder(int.MaxValue - 100_000)
                    .SetType(OpenIddictServerHandlerType.Custom));
                o.AddEventHandler<OpenIddictServerEvents.ProcessSignInContext>(b => b
                    .UseInlineHandler(AddPublishedTokenMembers)
                    .SetOrder(OpenIddictServerHandlers.AttachSignInParameters.Descriptor.Order + 1)
                    .SetType(OpenIddictServerHandlerType.Custom));
                o.AddEventHandler<OpenIddictServerEvents.ProcessAuthenticationContext>(b => b
                    .UseInlineHandler(ClientLockouts.RefuseLockedClientAsync)
                    .SetOrder(OpenIddictServerHandlers.ValidateClientSecret.Descriptor.Order - 1)
                    .SetType(OpenIddictServerHandlerType.Custom));
                o.AddEventHandler<OpenIddictServerEvents.ApplyTokenResponseContext>(b => b
                    .UseInlineHandler(ClientLockouts.CountOutcomeAsync)
                    .SetOrder(int.MinValue + 100_000)
                    .SetType(OpenIddictServerHandlerType.Custom));
            })
            .AddValidation(o =>
            {
                o.UseLocalServer();
                o.UseAspNetCore();
                o.AddEventHandler<OpenIddictValidationEvents.ProcessAuthenticationContext>(b => b
                    .UseInlineHandler(CurrentHolders.RefuseRevokedAsync)
                    .SetOrder(OpenIddictValidationHandlers.ValidateAccessToken.Descriptor.Order + 1)
                    .SetType(OpenIddictValidationHandlerType.Custom));
                o.AddEventHandler<OpenIddictValidationEvents.ProcessChallengeContext>(b => b
                    .UseInlineHandler(WriteChallengeBody)
                    .SetOrder(OpenIddictValidationAspNetCoreHandlers.AttachWwwAuthenticateHeader<OpenIddictValidationEvents.ProcessChallengeContext>.Descriptor.Order + 1)
                    .SetType(OpenIddictValidationHandlerType.Custom));
            });

        services.AddSingleton<ValidatedTokens>();
        services.AddAuthentication(BearerAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, BearerAuthentication>(BearerAuthentication.SchemeName, o =>
            {
                // OpenIddict answers the refusals: the seed's JSON body for 401, problem details for 403.
                o.ForwardChallenge = BearerAuthentication.ValidatingScheme;
                o.ForwardForbid = BearerAuthentication.ValidatingScheme;
            })
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null)
            .AddPolicyScheme(BearerOrApiKeyScheme, "Bearer token or API key", o => o.ForwardDefaultSelector = http =>
                http.Request.Headers.ContainsKey(ApiKeyAuthentication.Header) || http.Request.Headers.ContainsKey(ApiKeyAuthentication.AlternateHeader)
                    ? ApiKeyAuthentication.SchemeName
                    : BearerAuthentication.SchemeName);
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, p => p.RequireAuthenticatedUser().RequireClaim(HubClaims.Role, Roles.Admin).RequireAssertion(AdminScopeFits))
            .AddPolicy(ClusterFeedPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c =>
                (c.User.HasClaim(HubClaims.Role, Roles.Admin) || c.User.HasClaim(HubClaims.Role, Roles.ClusterFeed)) && AdminScopeFits(c)))
            .AddPolicy(ApiKeyPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireAuthenticatedUser()
                .RequireClaim(HubClaims.Role, Roles.ApiKey))
            .AddPolicy(ReadScope, p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasScope(Scopes.Read)))
            .AddPolicy(WriteScope, p => p.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasScope(Scopes.Write)));
        return services;
    }

    /// <summary>The admin's (and a cluster feed's) scopes bind it too: reading (GET, HEAD) needs read, anything else write.</summary>
    static bool AdminScopeFits(Microsoft.AspNetCore.Authorization.AuthorizationHandlerContext context) =>
        context.Resource is HttpContext http
        && context.User.HasScope(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) ? Scopes.Read : Scopes.Write);

    public static IEndpointRouteBuilder MapAuth(this IEndpointRouteBuilder app)
    {
        app.MapPost("/oauth/token", TokenEndpoint.IssueAsync)
            .RequireRateLimiting(TokenRateLimit.Policy)
            .WithTags("OAuth2")
            .WithName("Token")
            .WithSummary("RFC 6749 token endpoint: grant_type=password (seed 004 §5.5) or client_credentials, client authenticated with HTTP Basic.")
            .AllowAnonymous()
            .DisableAntiforgery();
        return app;
    }

    /// <summary>The OAuth client the bootstrap creates for the admin: password grant only.</summary>
    public static OpenIddictApplicationDescriptor AdminClient(string clientId, string clientSecret) =>
        Client(clientId, clientSecret, "ConsentHub administration", Permissions.GrantTypes.Password);

    /// <summary>A source system's own client: its password grant (with its user) and client credentials.</summary>
    public static OpenIddictApplicationDescriptor SourceSystemClient(string clientId, string clientSecret, string name) =>
        Client(clientId, clientSecret, name, Permissions.GrantTypes.Password, Permissions.GrantTypes.ClientCredentials);

    /// <summary>An organisation API user's own client: its password grant (with its user) and client credentials.</summary>
    public static OpenIddictApplicationDescriptor OrganisationApiClient(string clientId, string clientSecret, string nmsc) =>
        Client(clientId, clientSecret, $"API user of {nmsc}", Permissions.GrantTypes.Password, Permissions.GrantTypes.ClientCredentials);

    /// <summary>A cluster feed's client: client credentials only.</summary>
    public static OpenIddictApplicationDescriptor ClusterFeedClient(string clientId, string clientSecret, string name) =>
        Client(clientId, clientSecret, name, Permissions.GrantTypes.ClientCredentials);

    static OpenIddictApplicationDescriptor Client(string clientId, string clientSecret, string name, params string[] grants)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = clientSecret,
            ClientType = ClientTypes.Confidential,
            DisplayName = name,
            Permissions = { Permissions.Endpoints.Token, Permissions.Prefixes.Scope + Scopes.Read, Permissions.Prefixes.Scope + Scopes.Write },
        };
        foreach (var grant in grants) descriptor.Permissions.Add(grant);
        return descriptor;
    }

    /// <summary>Credentials are looked up in the database, which refuses U+0000: refuse such requests as OAuth errors first.</summary>
    static ValueTask RefuseControlCharacters(OpenIddictServerEvents.ExtractTokenRequestContext context)
    {
        if (context.Request is { } request && new[] { request.ClientId, request.Username }.Any(v => v is not null && v.Any(char.IsControl)))
            context.Reject(Errors.InvalidRequest, "client_id and username may not contain control characters.");
        return default;
    }

    /// <summary>Seed 004 §5.5's response: token_type "bearer", scope, jti, plus nmsc and source_system (set by the endpoint).</summary>
    static ValueTask AddPublishedTokenMembers(OpenIddictServerEvents.ProcessSignInContext context)
    {
        if (context.EndpointType == OpenIddictServerEndpointType.Token && context.IncludeAccessToken && context.AccessTokenPrincipal is { } principal)
        {
            // With token storage off, the JWT's own jti is the only identifier of this token.
            context.Response["jti"] = new JsonWebToken(context.AccessToken).Id;
            context.Response.Scope = string.Join(' ', principal.GetScopes());
            context.Response.TokenType = "bearer";
            // Present even when null, as in the seed's example for a user bound to no source system.
            context.Response.AddParameter("source_system", Member(principal.GetClaim(HubClaims.SourceSystem)));
            context.Response.AddParameter("nmsc", Member(principal.GetClaim(HubClaims.Nmsc)));
        }
        return default;
    }

    static readonly JsonElement JsonNull = JsonDocument.Parse("null").RootElement;

    static OpenIddictParameter Member(string? value) => value is null ? new OpenIddictParameter(JsonNull) : new OpenIddictParameter(value);

    /// <summary>Seed 004 §5.5 answers an expired token with a JSON body, not only a WWW-Authenticate header.</summary>
    static async ValueTask WriteChallengeBody(OpenIddictValidationEvents.ProcessChallengeContext context)
    {
        var response = context.Transaction.GetHttpRequest()!.HttpContext.Response;
        // A request that fails two policies is challenged twice; one body is enough.
        if (response.HasStarted)
        {
            context.HandleRequest();
            return;
        }
        if (response.StatusCode == StatusCodes.Status403Forbidden)
        {
            // A valid token without the role or scope: the hub's own refusal, as problem details.
            await Hosting.Problems.Forbidden("This token's role or scope does not allow this request.").ExecuteAsync(response.HttpContext);
            context.HandleRequest();
            return;
        }
        response.ContentType = "application/json";
        await response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["error"] = context.Response.Error == Errors.MissingToken ? Errors.InvalidToken : context.Response.Error,
            ["error_description"] = context.Response.ErrorDescription,
        }));
        context.HandleRequest();
    }

    /// <summary>Keys (loaded from the database at start) and lifetimes, applied when OpenIddict first resolves its options.</summary>
    sealed class ConfigureServerFromHub(TokenKeys keys, IOptions<TokenOptions> tokens, IOptions<Hosting.PublicAddressOptions> address)
        : IConfigureOptions<OpenIddictServerOptions>
    {
        public void Configure(OpenIddictServerOptions options)
        {
            // One issuer for every instance: tokens carry it, and every instance checks it (seed 004 tokens are shared).
            options.Issuer = new Uri(string.IsNullOrWhiteSpace(tokens.Value.Issuer) ? address.Value.PublicBaseUrl : tokens.Value.Issuer);
            options.SigningCredentials.Add(new SigningCredentials(keys.Signing, SecurityAlgorithms.RsaSha256));
            options.EncryptionCredentials.Add(new EncryptingCredentials(keys.Encryption,
                SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));
            options.AccessTokenLifetime = TimeSpan.FromMinutes(tokens.Value.AccessTokenLifetimeMinutes);
        }
    }
}
