using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.OptOut;

public sealed record IndustryImportView(string Provider, long Read, long Added, long Duplicates, long Rejected, IReadOnlyList<ImportError> Errors,
    long Bytes, string Sha256);

public sealed record ProviderListView(string Provider, Dictionary<string, long> Counts, long Total);

public sealed record IndustryListsView(IReadOnlyList<ProviderListView> Providers, long Total,
    [property: System.Text.Json.Serialization.JsonPropertyName("_links")] Dictionary<string, HalLink> Links);

public sealed record IndustryWithdrawalView(string Provider, long Withdrawn);

/// <summary>External providers' lists of hashed opt-outs (issue 15 §5), admin only: import, counts, withdrawal.</summary>
public static class IndustryApi
{
    const string Path = "/admin/industry-opt-outs";

    public static IEndpointRouteBuilder MapIndustryOptOuts(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Opt-out service").RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPost("/industry-opt-outs", Import)
            .WithName("ImportIndustryOptOuts")
            // No Accepts metadata: routing would answer a wrong media type with 415 before authorisation; the handler does, after.
            .WithSummary("Import a provider's list (body: text/csv of kind,sha256 lines), streamed; lines it lists already are skipped, bad lines are reported by number.")
            .Produces<IndustryImportView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        admin.MapGet("/industry-opt-outs", List)
            .WithName("ListIndustryOptOuts").WithSummary("How many hashed opt-outs each provider's list holds, per kind.")
            .Produces<IndustryListsView>(StatusCodes.Status200OK, Hal.MediaType);
        admin.MapDelete("/industry-opt-outs", Withdraw)
            .WithName("WithdrawIndustryOptOuts").WithSummary("Withdraw a provider's whole list from the industry pool.")
            .Produces<IndustryWithdrawalView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> Import(string? provider, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time,
        IOptions<IndustryOptions> options, CancellationToken ct)
    {
        if (ProviderProblem(provider) is { } problem) return problem;
        var mediaType = http.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType != "text/csv")
            return Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.",
                "Send the list as text/csv: kind,sha256 lines.", "unsupported-media-type");
        var max = options.Value.MaxImportBytes;
        if (http.ContentLength > max) return TooLarge(max);
        if (http.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = max;

        // The ledger lock is taken only for the last statements: the lines are inserted first, however many there are.
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        ImportCounts counts;
        try
        {
            counts = await IndustryImport.RunAsync(db, provider!, http.Body, time.Now(), options.Value, ct);
        }
        catch (Exception e) when (e is ListTooLargeException || e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            // Nothing of the list stays: the transaction is rolled back as it is disposed.
            return TooLarge(max);
        }
        if (counts.Bytes == 0) return Problems.Invalid("body", "required", "The body is empty; send the list as kind,sha256 lines.");

        await ledger.LockHeadAsync(ct);
        ledger.Append(LedgerEvents.IndustryListImported, new
        {
            provider, read = counts.Read, added = counts.Added, duplicates = counts.Duplicates, rejected = counts.Rejected,
            bytes = counts.Bytes, sha256 = counts.Sha256,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return Hal.Ok(new IndustryImportView(provider!, counts.Read, counts.Added, counts.Duplicates, counts.Rejected, counts.Errors,
            counts.Bytes, counts.Sha256));
    }

    static async Task<IResult> List(ConsentDb db, CancellationToken ct)
    {
        var rows = await db.IndustryOptOuts.AsNoTracking()
            .GroupBy(o => new { o.Provider, o.Kind })
            .Select(g => new { g.Key.Provider, g.Key.Kind, Count = g.LongCount() })
            .ToListAsync(ct);
        var providers = rows.GroupBy(r => r.Provider).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ProviderListView(g.Key,
                new[] { SuppressionKinds.Email, SuppressionKinds.Phone, SuppressionKinds.Postal }
                    .ToDictionary(kind => kind, kind => g.Where(r => r.Kind == kind).Sum(r => r.Count)),
                g.Sum(r => r.Count)))
            .ToList();
        return Hal.Ok(new IndustryListsView(providers, providers.Sum(p => p.Total), new Dictionary<string, HalLink> { ["self"] = new(Path) }));
    }

    static async Task<IResult> Withdraw(string? provider, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        if (ProviderProblem(provider) is { } problem) return problem;
        await using var transaction = await ledger.BeginUnlockedAsync(ct);
        await IndustryImport.LockProviderAsync(db, provider!, ct);
        var withdrawn = await db.IndustryOptOuts.Where(o => o.Provider == provider).ExecuteDeleteAsync(ct);
        if (withdrawn == 0) return Problems.NotFound($"No list of provider '{provider}'.");
        await ledger.LockHeadAsync(ct);
        ledger.Append(LedgerEvents.IndustryListWithdrawn, new { provider, withdrawn });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return Hal.Ok(new IndustryWithdrawalView(provider!, withdrawn));
    }

    /// <summary>A provider is named as a source system is: its case kept.</summary>
    static IResult? ProviderProblem(string? provider) =>
        string.IsNullOrEmpty(provider) ? Problems.Invalid("provider", "required", "Name the list's provider: ?provider=NAME.")
        : !Names.IsSourceSystemName(provider) ? Problems.Invalid("provider", "provider-name", $"provider must be {Names.SourceSystemNameRule}.")
        : null;

    static IResult TooLarge(long max) => Problems.Problem(StatusCodes.Status413PayloadTooLarge,
        "The list is too large.", $"A list may be at most {max} bytes (ConsentHub:Industry:MaxImportBytes); nothing of it was imported.", "payload-too-large");
}
