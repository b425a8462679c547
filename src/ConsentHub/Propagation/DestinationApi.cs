using System.Security.Claims;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Propagation;

public sealed record DestinationInput
{
    public string? Uri { get; init; }
    public string? Version { get; init; }
}

public sealed record DestinationView(
    string Context, string Nmsc, string SourceSystem, string Uri, string Version, bool Enabled, string? DisabledReason,
    string CreatedAt, string UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ApiKey,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SigningSecret,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record RotatedApiKeyView(
    string ApiKey, string? PreviousApiKeyValidUntil,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record RotatedSecretView(
    string SigningSecret, string? PreviousSecretValidUntil,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>A source system's webhook: registered by the system itself or the admin (seed 004 "Destination").</summary>
public static class DestinationApi
{
    public static IServiceCollection AddPropagation(this IServiceCollection services)
    {
        services.AddScoped<IChangeReaction, ChangePropagation>();
        services.AddOptions<PropagationOptions>().BindConfiguration(PropagationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<PropagationPlanner>().AddSingleton<PushedSystems>();
        services.AddScoped<PropagationDispatcher>().AddSingleton<DeliveryMeters>();
        services.AddSingleton<PropagationSignal>();
        services.AddHostedService<PropagationWorker>();
        services.AddHttpClient(PropagationDispatcher.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => PropagationDispatcher.GuardedHandler(sp.GetRequiredService<IOptions<PropagationOptions>>().Value));
        return services;
    }

    public static IEndpointRouteBuilder MapDestinations(this IEndpointRouteBuilder app)
    {
        var destination = app.MapGroup("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}")
            .WithTags("Propagation").RequireAuthorization();
        destination.MapPut("/destination", PutAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("PutDestination").WithSummary("Register or change the webhook the hub delivers to; on creation the API key and signing secret are shown once.")
            .Accepts<DestinationInput>("application/json")
            .Produces<DestinationView>(StatusCodes.Status201Created, Hal.MediaType).Produces<DestinationView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapGet("/destination", GetAsync).RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetDestination").WithSummary("The webhook of a source system (without its secrets).")
            .Produces<DestinationView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapDelete("/destination", DeleteAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("DeleteDestination").WithSummary("Remove the webhook: nothing more is delivered to it.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapPost("/destination/rotate-secret", RotateAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("RotateDestinationSecret").WithSummary("Issue a new signing secret; the previous one is still sent beside it for the overlap.")
            .Produces<RotatedSecretView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        destination.MapPost("/destination/rotate-api-key", RotateApiKeyAsync).RequireAuthorization(AuthSetup.WriteScope)
            .WithName("RotateDestinationApiKey").WithSummary("Issue a new api-key; the previous one is still sent beside it for the overlap.")
            .Produces<RotatedApiKeyView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> PutAsync(
        string context, string nmsc, string sourceSystem, HttpRequest http, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger,
        TimeProvider time, IDataProtectionProvider protection, IOptions<PropagationOptions> options, PropagationSignal signal, CancellationToken ct)
    {
        var (system, refusal) = await AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        var body = await JsonBody.ReadAsync<DestinationInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var v = new List<Violation>();
        if (string.IsNullOrWhiteSpace(body.Value!.Uri)) v.Add(new("uri", "required", "uri is the webhook address."));
        else if (await DestinationUris.ResolvedRefusalAsync(body.Value.Uri, options.Value.AllowInsecureLoopback, options.Value.PrivateNetworksAllowed(), ct) is { } why)
            v.Add(new("uri", "destination-uri", why));
        if (body.Value.Version is not { } version || !ApiVersioning.IsSupported(version))
            v.Add(new("version", "unsupported-version", $"version is the payload version to send; supported: {ApiVersioning.Current}."));
        if (v.Count > 0) return Problems.Invalid(v);

        var protector = protection.CreateProtector(DestinationSecrets.Purpose);
        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var destination = await db.Destinations.SingleOrDefaultAsync(d => d.SourceSystemId == system.Id, ct);
        string? apiKey = null, secret = null;
        if (destination is null)
        {
            apiKey = WebhookSigner.NewApiKey();
            secret = WebhookSigner.NewSecret();
            destination = new Destination
            {
                SourceSystemId = system.Id, Uri = body.Value.Uri!, Version = body.Value.Version!, CreatedAt = now, UpdatedAt = now,
                ProtectedApiKey = protector.Protect(apiKey), ProtectedSigningSecret = protector.Protect(secret),
            };
            db.Destinations.Add(destination);
        }
        else
        {
            destination.Uri = body.Value.Uri!;
            destination.Version = body.Value.Version!;
            destination.UpdatedAt = now;
            // Registering the address again says the receiver is back: its backlog follows in order.
            if (!destination.Enabled) await PropagationApi.ResumeAsync(db, ledger, system, destination, now, Caller.From(user).Subject, ct);
        }
        ledger.Append(apiKey is null ? LedgerEvents.DestinationUpdated : LedgerEvents.DestinationRegistered,
            new { nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name, uri = destination.Uri, version = destination.Version });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        signal.Notify();
        var view = View(system, destination, apiKey, secret);
        return Hal.Raw(apiKey is null ? StatusCodes.Status200OK : StatusCodes.Status201Created, Hal.Serialize(view), view.Links["self"].Href);
    }

    static async Task<IResult> GetAsync(string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        var (system, refusal) = await AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        var destination = await db.Destinations.AsNoTracking().SingleOrDefaultAsync(d => d.SourceSystemId == system.Id, ct);
        return destination is null ? NoDestination() : Hal.Ok(View(system, destination, null, null));
    }

    static async Task<IResult> DeleteAsync(string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        var (system, refusal) = await AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        await using var transaction = await ledger.BeginAsync(ct);
        var destination = await db.Destinations.SingleOrDefaultAsync(d => d.SourceSystemId == system.Id, ct);
        if (destination is null) return NoDestination();
        db.Destinations.Remove(destination);
        ledger.Append(LedgerEvents.DestinationDeleted, new { nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    internal static Task<IResult> RotateAsync(
        string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        IDataProtectionProvider protection, IOptions<PropagationOptions> options, CancellationToken ct) =>
        RotateCredentialAsync(context, nmsc, sourceSystem, user, db, ledger, time, protection, options, LedgerEvents.DestinationSecretRotated,
            (destination, protector, until) =>
            {
                var secret = WebhookSigner.NewSecret();
                destination.ProtectedPreviousSigningSecret = until is null ? null : destination.ProtectedSigningSecret;
                destination.PreviousSecretUntil = until;
                destination.ProtectedSigningSecret = protector.Protect(secret);
                return Rotated(secret, until, (value, validUntil, links) => new RotatedSecretView(value, validUntil, links));
            }, ct);

    /// <summary>As <see cref="RotateAsync"/> for the api-key header: both keys go out, space-separated, for the overlap.</summary>
    static Task<IResult> RotateApiKeyAsync(
        string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        IDataProtectionProvider protection, IOptions<PropagationOptions> options, CancellationToken ct) =>
        RotateCredentialAsync(context, nmsc, sourceSystem, user, db, ledger, time, protection, options, LedgerEvents.DestinationApiKeyRotated,
            (destination, protector, until) =>
            {
                var apiKey = WebhookSigner.NewApiKey();
                destination.ProtectedPreviousApiKey = until is null ? null : destination.ProtectedApiKey;
                destination.PreviousApiKeyUntil = until;
                destination.ProtectedApiKey = protector.Protect(apiKey);
                return Rotated(apiKey, until, (value, validUntil, links) => new RotatedApiKeyView(value, validUntil, links));
            }, ct);

    /// <summary>The answer of a rotation, given the new value (shown this once) and the end of the old one's overlap.</summary>
    static Func<Dictionary<string, HalLink>, IResult> Rotated<T>(
        string value, DateTime? until, Func<string, string?, Dictionary<string, HalLink>, T> view) =>
        links => Hal.Ok(view(value, HubTime.Format(until), links));

    /// <summary>
    /// Replaces one credential of a destination: <paramref name="rotate"/> keeps the old value beside the new one until
    /// the overlap ends (none when the overlap is zero), and the rotation goes into the ledger.
    /// </summary>
    static async Task<IResult> RotateCredentialAsync(
        string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        IDataProtectionProvider protection, IOptions<PropagationOptions> options, string ledgerEvent,
        Func<Destination, IDataProtector, DateTime?, Func<Dictionary<string, HalLink>, IResult>> rotate, CancellationToken ct)
    {
        var (system, refusal) = await AuthoriseAsync(context, nmsc, sourceSystem, user, db, ct);
        if (system is null) return refusal!;
        await using var transaction = await ledger.BeginAsync(ct);
        var destination = await db.Destinations.SingleOrDefaultAsync(d => d.SourceSystemId == system.Id, ct);
        if (destination is null) return NoDestination();
        var now = time.Now();
        var overlap = TimeSpan.FromHours(options.Value.SecretOverlapHours);
        var answer = rotate(destination, protection.CreateProtector(DestinationSecrets.Purpose), overlap > TimeSpan.Zero ? now + overlap : null);
        destination.UpdatedAt = now;
        ledger.Append(ledgerEvent, new { nmsc = system.Nmsc, context = system.Context, sourceSystem = system.Name, by = Caller.From(user).Subject });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return answer(new Dictionary<string, HalLink> { ["destination"] = new(PathOf(system)) });
    }

    /// <summary>The system itself or the admin; its organisation's other systems get 403, everyone else 404.</summary>
    public static async Task<(SourceSystem?, IResult?)> AuthoriseAsync(
        string context, string nmsc, string sourceSystem, ClaimsPrincipal user, ConsentDb db, CancellationToken ct, string? forbidden = null)
    {
        context = Names.Normalise(context);
        nmsc = Names.Normalise(nmsc);
        var caller = Caller.From(user);
        if (!caller.IsAdmin && !caller.IsSourceSystem(nmsc, context, sourceSystem))
            return (null, caller.MayRead(nmsc, context)
                ? Problems.Forbidden(forbidden ?? "Only the source system itself or the admin manages its destination.")
                : Problems.NotFound("No such source system."));
        var system = await db.SourceSystems.AsNoTracking().SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == sourceSystem, ct);
        return system is null ? (null, Problems.NotFound("No such source system.")) : (system, null);
    }

    static IResult NoDestination() => Problems.NotFound("This source system has no destination.");

    public static string PathOf(SourceSystem s) => Paths.SourceSystemOf(s.Context, s.Nmsc, s.Name) + "/destination";

    public static DestinationView View(SourceSystem system, Destination d, string? apiKey, string? secret) => new(
        system.Context, system.Nmsc, system.Name, d.Uri, d.Version, d.Enabled, d.DisabledReason,
        HubTime.Format(d.CreatedAt), HubTime.Format(d.UpdatedAt), apiKey, secret,
        new Dictionary<string, HalLink>
        {
            ["self"] = new(PathOf(system)),
            ["rotate-secret"] = new(PathOf(system) + "/rotate-secret"),
            ["rotate-api-key"] = new(PathOf(system) + "/rotate-api-key"),
        });
}
