using System.Globalization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

public sealed record DataSharingInput(string? AgreementReference, string? SignedOn);

public sealed record AgreementView(string AgreementReference, string SignedOn, string JoinedAt, string? EndedAt);

/// <summary>An organisation's membership of the industry pool: the agreement in force (null once it left) and every earlier one.</summary>
public sealed record DataSharingView(string Nmsc, bool Member, AgreementView? Agreement, IReadOnlyList<AgreementView> History,
    [property: System.Text.Json.Serialization.JsonPropertyName("_links")] Dictionary<string, HalLink> Links);

/// <summary>
/// Data sharing agreements (issue 15 §5), admin only: while an organisation's agreement is in force, its opt-outs join the
/// industry pool (as hashes, never naming it) and its checks and files may use the pool.
/// </summary>
public static class DataSharingApi
{
    public const int MaxReferenceLength = 200;

    public static IEndpointRouteBuilder MapDataSharing(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}").WithTags("Opt-out service").RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPut("/data-sharing", Put)
            .WithName("PutDataSharingAgreement")
            .WithSummary("Join the industry pool with a data sharing agreement (201), or replace the agreement in force (200). The same agreement again changes nothing.")
            .Accepts<DataSharingInput>("application/json")
            .Produces<DataSharingView>(StatusCodes.Status200OK, Hal.MediaType)
            .Produces<DataSharingView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/data-sharing", Get)
            .WithName("GetDataSharingAgreement").WithSummary("The agreement in force and the earlier ones; 404 when the organisation never joined.")
            .Produces<DataSharingView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/data-sharing", Delete)
            .WithName("LeaveDataSharing").WithSummary("Leave the industry pool: the organisation's opt-outs leave it at once.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> Put(string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        var body = await JsonBody.ReadAsync<DataSharingInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var violations = Check(body.Value!, DateOnly.FromDateTime(time.Now()), out var reference, out var signedOn);
        if (violations.Count > 0) return Problems.Invalid(violations);

        // The ledger lock first: two requests for one organisation never both find it outside the pool.
        await using var transaction = await ledger.BeginAsync(ct);
        var current = await db.DataSharingAgreements.SingleOrDefaultAsync(a => a.Nmsc == nmsc && a.LeftAt == null, ct);
        if (current is not null && current.AgreementReference == reference && current.SignedOn == signedOn)
            return Hal.Ok(await ViewAsync(db, nmsc, ct));

        var now = time.Now();
        var entry = ledger.Append(LedgerEvents.DataSharingJoined, new
        {
            nmsc, agreementReference = reference, signedOn = Format(signedOn), replaces = current?.AgreementReference,
        });
        // A new agreement replaces the one in force without a moment outside the pool; the earlier one stays as history.
        if (current is not null)
        {
            current.LeftAt = now;
            current.LeftLedgerIndex = entry.Index;
        }
        db.DataSharingAgreements.Add(new DataSharingAgreement
        {
            Nmsc = nmsc, AgreementReference = reference, SignedOn = signedOn, JoinedAt = now, JoinedLedgerIndex = entry.Index,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);

        var view = await ViewAsync(db, nmsc, ct);
        return current is null ? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), PathOf(nmsc)) : Hal.Ok(view);
    }

    static async Task<IResult> Get(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        if (!await db.DataSharingAgreements.AnyAsync(a => a.Nmsc == nmsc, ct))
            return Problems.NotFound($"Organisation '{nmsc}' never joined data sharing.");
        return Hal.Ok(await ViewAsync(db, nmsc, ct));
    }

    static async Task<IResult> Delete(string nmsc, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        await using var transaction = await ledger.BeginAsync(ct);
        var current = await db.DataSharingAgreements.SingleOrDefaultAsync(a => a.Nmsc == nmsc && a.LeftAt == null, ct);
        if (current is null) return Problems.NotFound($"Organisation '{nmsc}' is not a member of data sharing.");
        var entry = ledger.Append(LedgerEvents.DataSharingLeft, new { nmsc, agreementReference = current.AgreementReference });
        current.LeftAt = time.Now();
        current.LeftLedgerIndex = entry.Index;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static List<Violation> Check(DataSharingInput input, DateOnly today, out string reference, out DateOnly signedOn)
    {
        var violations = new List<Violation>();
        reference = input.AgreementReference ?? "";
        signedOn = default;
        if (string.IsNullOrWhiteSpace(input.AgreementReference))
            violations.Add(new("agreementReference", "required", "agreementReference is required."));
        else if (reference.Length > MaxReferenceLength)
            violations.Add(new("agreementReference", "max-length", $"agreementReference may be at most {MaxReferenceLength} characters."));
        else if (reference.Any(char.IsControl))
            violations.Add(new("agreementReference", "control-characters", "agreementReference may not contain control characters."));

        if (string.IsNullOrEmpty(input.SignedOn))
            violations.Add(new("signedOn", "required", "signedOn is required (YYYY-MM-DD)."));
        else if (!DateOnly.TryParseExact(input.SignedOn, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out signedOn))
            violations.Add(new("signedOn", "date", "signedOn must be a date as YYYY-MM-DD."));
        else if (signedOn > today)
            violations.Add(new("signedOn", "not-in-future", $"signedOn may not be after today ({Format(today)}, UTC)."));
        return violations;
    }

    static async Task<DataSharingView> ViewAsync(ConsentDb db, string nmsc, CancellationToken ct)
    {
        var rows = await db.DataSharingAgreements.AsNoTracking().Where(a => a.Nmsc == nmsc).OrderByDescending(a => a.Id).ToListAsync(ct);
        var current = rows.FirstOrDefault(a => a.LeftAt is null);
        return new DataSharingView(nmsc, current is not null, current is null ? null : View(current),
            rows.Where(a => a.LeftAt is not null).Select(View).ToList(),
            new Dictionary<string, HalLink> { ["self"] = new(PathOf(nmsc)), ["organisation"] = new(Paths.Organisation(nmsc)) });
    }

    static AgreementView View(DataSharingAgreement a) =>
        new(a.AgreementReference, Format(a.SignedOn), HubTime.Format(a.JoinedAt), HubTime.Format(a.LeftAt));

    static string Format(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    static string PathOf(string nmsc) => Paths.Organisation(nmsc) + "/data-sharing";
}
