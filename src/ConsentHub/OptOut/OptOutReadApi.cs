using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Rights;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;

namespace ConsentHub.OptOut;

/// <summary>
/// The organisation's opt-outs (<c>GET /nmscs/{nmsc}/opt-outs</c>, for the admin and its DPOs) and one transaction's
/// answer again (<c>GET /opt-outs/transactions/{transaction_id}</c>, also for the API keys of the source system that sent it).
/// </summary>
public static class OptOutReadApi
{
    public const string TransactionReadPolicy = "opt-out-transaction-read";
    const int DefaultPageSize = 50;
    const int MaxPageSize = 200;
    /// <summary>Records of one transaction are at most <see cref="UploadApi.MaxRecords"/>: a cursor is ledger index × this + position.</summary>
    const long CursorStride = 1000;

    public static IServiceCollection AddOptOutReads(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder().AddPolicy(TransactionReadPolicy, p => p.AddAuthenticationSchemes(AuthSetup.BearerOrApiKeyScheme).RequireAuthenticatedUser()
            .RequireAssertion(c => c.User.HasClaim(HubClaims.Role, Roles.ApiKey)
                || ((c.User.HasClaim(HubClaims.Role, Roles.Admin) || Roles.IsDpo(c.User.FindFirstValue(HubClaims.Role) ?? "")) && c.User.HasScope(Scopes.Read))));
        return services;
    }

    public static IEndpointRouteBuilder MapOptOutReads(this IEndpointRouteBuilder app)
    {
        app.MapGet("/nmscs/{nmsc}/opt-outs", ListAsync)
            .WithTags("Opt-out")
            .RequireAuthorization(OrganisationAccess.Policy)
            .WithName("ListOptOuts")
            .WithSummary("The organisation's opt-out records in the order received, with their outcome; no personal values.")
            .Produces<OptOutPage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("/opt-outs/transactions/{transaction_id}", TransactionAsync)
            .WithTags("Opt-out")
            .RequireAuthorization(TransactionReadPolicy)
            .WithName("GetOptOutTransaction")
            .WithSummary("The seed's answer to one upload again, its fields opened from their seals (an erased record shows none).")
            .Produces<OptOutUploadResponseDTO>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> ListAsync(string nmsc, string? after, string? limit, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!Names.IsTenantName(nmsc) || !await OrganisationAccess.MayActForAsync(db, Caller.From(user), nmsc, ct)) return OrganisationAccess.UnknownOrganisation(nmsc);
        var (cursor, size, pageError) = Paging.Read(after, limit, DefaultPageSize, MaxPageSize);
        if (pageError is not null) return pageError;

        var query = db.OptOutRecords.AsNoTracking().Where(r => r.Nmsc == nmsc && r.LedgerIndex != null);
        if (cursor >= 0)
        {
            long index = cursor / CursorStride;
            var position = (int)(cursor % CursorStride);
            query = query.Where(r => r.LedgerIndex > index || (r.LedgerIndex == index && r.Position > position));
        }
        var page = await query.OrderBy(r => r.LedgerIndex).ThenBy(r => r.Position).Take(size + 1).ToListAsync(ct);
        var shown = page.Take(size).ToList();
        var transactionIds = shown.Select(r => r.TransactionId).Distinct().ToList();
        var sources = await db.OptOutTransactions.AsNoTracking().Where(t => transactionIds.Contains(t.Id))
            .ToDictionaryAsync(t => t.Id, t => $"{t.Context}/{t.SourceSystem}", ct);
        var recordIds = shown.Select(r => r.Id).ToList();
        var kinds = (await db.SuppressionEntries.AsNoTracking().Where(e => recordIds.Contains(e.OptOutId)).Select(e => new { e.OptOutId, e.Kind, e.Id }).ToListAsync(ct))
            .GroupBy(e => e.OptOutId)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.OrderBy(e => e.Id).Select(e => e.Kind).Distinct().ToList());
        var views = shown.Select(r => new OptOutView(
            r.Id, r.TransactionId, HubTime.Format(r.ReceivedAt)!, r.Successful, r.UnsuccessfulReason, r.Validation, r.ProjectId,
            sources.GetValueOrDefault(r.TransactionId, ""), kinds.GetValueOrDefault(r.Id, []), r.MatchedRecords, r.ChangesApplied,
            r.AppliedAt is not null, r.LedgerIndex)).ToList();

        var path = OptOutPaths.OptOuts(nmsc);
        var links = new Dictionary<string, HalLink> { ["self"] = Paging.Link(path, cursor, size) };
        if (page.Count > size) links["next"] = Paging.Link(path, shown[^1].LedgerIndex!.Value * CursorStride + shown[^1].Position, size);
        return Hal.Ok(new OptOutPage(views.Count, views, links));
    }

    static async Task<IResult> TransactionAsync(string transaction_id, ClaimsPrincipal user, ConsentDb db, OptOutUploads uploads, CancellationToken ct)
    {
        var notFound = Problems.NotFound("No such opt-out transaction.");
        if (!Guid.TryParse(transaction_id, out var id)) return notFound;
        var optOut = await db.OptOutTransactions.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, ct);
        if (optOut is null) return notFound;
        var caller = Caller.From(user);
        var allowed = caller.Role == Roles.ApiKey
            // A key reads what its own source system sent, under whichever of its keys.
            ? caller.Nmsc == optOut.Nmsc && caller.Context == optOut.Context && caller.SourceSystem == optOut.SourceSystem
            : await OrganisationAccess.MayActForAsync(db, caller, optOut.Nmsc, ct);
        return allowed ? OptOutAnswer.Result(await uploads.AnswerAsync(optOut, ct)) : notFound;
    }
}
