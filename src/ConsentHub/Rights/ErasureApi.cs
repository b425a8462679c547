using System.Security.Claims;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Rights;

public sealed record ErasedRecordView(long CustomerId, string Context, string SourceSystem, string SourceCustomerId);

public sealed record ErasureView(
    Guid Id, string Nmsc, string Criterion, string ErasedAt, string RequestedBy, long LedgerIndex,
    IReadOnlyList<ErasedRecordView> Records,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary><c>POST /nmscs/{nmsc}/erasures</c> and <c>GET /nmscs/{nmsc}/erasures/{id}</c>: erasure of a person (GDPR art. 17).</summary>
public static class ErasureApi
{
    public static RouteGroupBuilder MapErasures(this RouteGroupBuilder rights)
    {
        rights.MapPost("/erasures", EraseAsync)
            .WithName("ErasePerson")
            .WithSummary("Erase a person: by email, by phone (blind indexes) or by one record; every record of their clusters is erased, once.")
            .Accepts<PersonInput>("application/json")
            .Produces<ErasureView>(StatusCodes.Status201Created, Hal.MediaType)
            .Produces<ErasureView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rights.MapGet("/erasures/{id}", GetAsync)
            .WithName("GetErasure")
            .WithSummary("What an erasure erased (record ids and source ids), when, and its ledger index.")
            .Produces<ErasureView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return rights;
    }

    static async Task<IResult> EraseAsync(
        string nmsc, HttpRequest http, ClaimsPrincipal user, ConsentDb db, BlindIndex blindIndex, Erasures erasures, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var caller = Caller.From(user);
        if (!Names.IsTenantName(nmsc) || !await OrganisationAccess.MayActForAsync(db, caller, nmsc, ct)) return OrganisationAccess.UnknownOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<PersonInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var (criterion, violations) = PersonMatch.Parse(body.Value!, blindIndex);
        if (criterion is null) return Problems.Invalid(violations);

        return await erasures.EraseAsync(nmsc, criterion, caller, ct) switch
        {
            ErasureOutcome.Erased done => Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(View(done.Erasure, done.Records)), PathOf(done.Erasure)),
            ErasureOutcome.AlreadyErased earlier => Hal.Ok(View(earlier.Erasure, earlier.Records)),
            _ => Problems.NotFound($"No record of organisation '{nmsc}' matches."),
        };
    }

    static async Task<IResult> GetAsync(string nmsc, string id, ClaimsPrincipal user, ConsentDb db, Erasures erasures, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var notFound = Problems.NotFound("No such erasure.");
        if (!Guid.TryParse(id, out var erasureId) || !Names.IsTenantName(nmsc) || !await OrganisationAccess.MayActForAsync(db, Caller.From(user), nmsc, ct))
            return notFound;
        var erasure = await db.Erasures.AsNoTracking().SingleOrDefaultAsync(e => e.Id == erasureId && e.Nmsc == nmsc, ct);
        return erasure is null ? notFound : Hal.Ok(View(erasure, await erasures.RecordsOfAsync(erasure.Id, ct)));
    }

    public static ErasureView View(Erasure e, IEnumerable<ErasedRecord> records) => new(
        e.Id, e.Nmsc, e.Criterion, HubTime.Format(e.ErasedAt)!, e.RequestedBy, e.LedgerIndex,
        [.. records.OrderBy(r => r.CustomerId).Select(r => new ErasedRecordView(r.CustomerId, r.Context, r.SourceSystem, r.SourceCustomerId))],
        new Dictionary<string, HalLink> { ["self"] = new(PathOf(e)) });

    static string PathOf(Erasure e) => $"/nmscs/{Uri.EscapeDataString(e.Nmsc)}/erasures/{e.Id}";
}
