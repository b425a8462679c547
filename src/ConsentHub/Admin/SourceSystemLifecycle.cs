using System.Security.Claims;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.Admin;

/// <summary>The only time a rotated password or client secret is shown: it is stored hashed.</summary>
public sealed record RotatedCredentialView(
    long Id, string Context, string Nmsc, string Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Username,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Password,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientSecret,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>
/// Deactivation, reactivation and credential rotation of source systems. Each changes the system's credential stamp,
/// which every token carries and every request checks (<see cref="CurrentHolders"/>), so the tokens issued before
/// stop working at once on every instance. Admin role only.
/// </summary>
public static class SourceSystemLifecycle
{
    public static RouteGroupBuilder MapSourceSystemLifecycle(this RouteGroupBuilder admin)
    {
        admin.MapDelete("/source-systems/{id:long}", DeactivateAsync)
            .WithName("DeactivateSourceSystem").WithSummary("Deactivate a source system: it gets no token, and its tokens are refused at once. Idempotent.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/source-systems/{id:long}/reactivate", ReactivateAsync)
            .WithName("ReactivateSourceSystem").WithSummary("Reactivate a deactivated source system; its tokens from before stay invalid. Idempotent.")
            .Produces<SourceSystemView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/source-systems/{id:long}/rotate-password", RotatePasswordAsync)
            .WithName("RotateSourceSystemPassword").WithSummary("A new password for the system's user, shown in this answer only; the old one and every token of the system stop working.")
            .Produces<RotatedCredentialView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/source-systems/{id:long}/rotate-client-secret", RotateClientSecretAsync)
            .WithName("RotateSourceSystemClientSecret").WithSummary("A new client secret, shown in this answer only; the old one and every token of the system stop working.")
            .Produces<RotatedCredentialView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return admin;
    }

    internal static async Task<IResult> DeactivateAsync(long id, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var system = await db.SourceSystems.SingleOrDefaultAsync(s => s.Id == id, ct);
        if (system is null) return NotFound(id);
        if (system.Active)
        {
            system.DeactivatedAt = time.Now();
            system.CredentialStamp = NewStamp();
            ledger.Append(LedgerEvents.SourceSystemDeactivated, Identity(system, user));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return TypedResults.NoContent();
    }

    internal static async Task<IResult> ReactivateAsync(long id, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var system = await db.SourceSystems.SingleOrDefaultAsync(s => s.Id == id, ct);
        if (system is null) return NotFound(id);
        if (!system.Active)
        {
            // The stamp changed at deactivation and stays: tokens from before the deactivation do not come back.
            system.DeactivatedAt = null;
            ledger.Append(LedgerEvents.SourceSystemReactivated, Identity(system, user));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return Hal.Ok(AdminApi.View(system));
    }

    internal static async Task<IResult> RotatePasswordAsync(long id, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var system = await db.SourceSystems.SingleOrDefaultAsync(s => s.Id == id, ct);
        if (system is null) return NotFound(id);
        var systemUser = await db.Users.SingleAsync(u => u.SourceSystemId == system.Id, ct);
        var password = Secrets.Generate();
        systemUser.PasswordHash = Secrets.HashPassword(password);
        // A lock from guessing the old password says nothing about the new one.
        systemUser.FailedLogins = 0;
        systemUser.LockedUntil = null;
        system.CredentialStamp = NewStamp();
        ledger.Append(LedgerEvents.SourceSystemPasswordRotated, Identity(system, user));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return Hal.Ok(new RotatedCredentialView(system.Id, system.Context, system.Nmsc, system.Name, systemUser.Username, password, null, null, Links(system)));
    }

    internal static async Task<IResult> RotateClientSecretAsync(
        long id, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, IOpenIddictApplicationManager applications, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var system = await db.SourceSystems.SingleOrDefaultAsync(s => s.Id == id, ct);
        if (system is null) return NotFound(id);
        var application = await applications.FindByClientIdAsync(system.ClientId, ct)
            ?? throw new InvalidOperationException($"Source system {id} has no OAuth client.");
        var secret = Secrets.Generate();
        await applications.UpdateAsync(application, secret, ct);
        await db.ClientLockouts.Where(l => l.ClientId == system.ClientId).ExecuteDeleteAsync(ct);
        system.CredentialStamp = NewStamp();
        ledger.Append(LedgerEvents.SourceSystemClientSecretRotated, Identity(system, user));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return Hal.Ok(new RotatedCredentialView(system.Id, system.Context, system.Nmsc, system.Name, null, null, system.ClientId, secret, Links(system)));
    }

    /// <summary>A fresh credential stamp: tokens carrying any other stamp are refused.</summary>
    public static string NewStamp() => Secrets.Identifier("");

    /// <summary>The system a ledger entry is about, and who acted: the admin's token or console session.</summary>
    static object Identity(SourceSystem s, ClaimsPrincipal user) => new { id = s.Id, nmsc = s.Nmsc, context = s.Context, name = s.Name, by = Caller.From(user).Subject };

    static IResult NotFound(long id) => Problems.NotFound($"No source system {id}.");

    static Dictionary<string, HalLink> Links(SourceSystem s) => new() { ["source-system"] = new(Paths.SourceSystem(s.Id)) };
}
