using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;

namespace ConsentHub.Rights;

/// <summary><c>GET /nmscs/{nmsc}/subject-access</c>: a person's data as one JSON document, or as a ZIP that proves it offline.</summary>
public static class SubjectAccessApi
{
    public const string ZipMediaType = "application/zip";

    public static RouteGroupBuilder MapSubjectAccess(this RouteGroupBuilder rights)
    {
        rights.MapGet("/subject-access", GetAsync)
            .WithName("GetSubjectAccess")
            .WithSummary("Everything the hub holds about one person (?email=, ?phone=[&country=] or ?context=&sourceSystem=&sourceCustomerId=): JSON, or with Accept: application/zip or ?format=zip a ZIP with ledger proofs, checkpoint and public key.")
            .Produces<SubjectAccessDocument>(StatusCodes.Status200OK, "application/json")
            .Produces(StatusCodes.Status200OK, contentType: ZipMediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return rights;
    }

    static async Task<IResult> GetAsync(
        string nmsc, string? email, string? phone, string? country, string? context, string? sourceSystem, string? sourceCustomerId, string? format,
        HttpRequest http, ClaimsPrincipal user, ConsentDb db, BlindIndex blindIndex, SubjectAccess access, Checkpoints checkpoints, CheckpointKey key,
        CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var caller = Caller.From(user);
        if (!Names.IsTenantName(nmsc) || !await OrganisationAccess.MayActForAsync(db, caller, nmsc, ct)) return OrganisationAccess.UnknownOrganisation(nmsc);
        if (format is not (null or "json" or "zip"))
            return Problems.Invalid("format", "format", "format must be json or zip.");
        var zip = format == "zip" || (format is null && http.Headers.Accept.Any(a => a is not null && a.Contains(ZipMediaType, StringComparison.OrdinalIgnoreCase)));
        var (criterion, violations) = PersonMatch.Parse(new PersonInput
        {
            Email = email, Phone = phone, Country = country, Context = context, SourceSystem = sourceSystem, SourceCustomerId = sourceCustomerId,
        }, blindIndex);
        if (criterion is null) return Problems.Invalid(violations);

        var document = await access.BuildAsync(nmsc, criterion, caller, zip ? "zip" : "json", ct);
        if (document is null) return Problems.NotFound($"No record of organisation '{nmsc}' matches.");
        if (!zip) return TypedResults.Json(document, Hal.Json);

        var bytes = await SubjectAccessZip.BuildAsync(db, checkpoints, key, document, ct);
        http.HttpContext.Response.Headers.CacheControl = "no-store";
        return TypedResults.File(bytes, ZipMediaType, $"subject-access-{nmsc}-{document.RequestLedgerIndex}.zip");
    }
}
