using System.Text.Json;
using System.Text.Json.Serialization;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.Ledger;

public sealed record LedgerEntryView(long Index, string Type, string Timestamp, JsonElement Payload, string PrevHash, string Hash);

public sealed record LedgerPage(
    int Count, IReadOnlyList<LedgerEntryView> Entries,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record LedgerVerificationView(
    bool Valid, long Entries,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? FirstBadIndex,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

public static class LedgerApi
{
    const int DefaultPageSize = 100;
    const int MaxPageSize = 1_000;

    public static IServiceCollection AddLedger(this IServiceCollection services) => services.AddScoped<LedgerWriter>();

    public static IEndpointRouteBuilder MapLedger(this IEndpointRouteBuilder app)
    {
        var ledger = app.MapGroup("/ledger").WithTags("Ledger").RequireAuthorization(AuthSetup.AdminPolicy);

        ledger.MapGet("/entries", Entries)
            .WithName("GetLedgerEntries").WithSummary("Ledger entries in index order, from an index on (inclusive).")
            .Produces<LedgerPage>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        ledger.MapGet("/verify", Verify)
            .WithName("VerifyLedger").WithSummary("Recompute the hash chain; names the first index that does not verify.")
            .Produces<LedgerVerificationView>(StatusCodes.Status200OK);
        return app;
    }

    static async Task<IResult> Entries(string? from, string? limit, ConsentDb db, CancellationToken ct)
    {
        var (after, size, error) = Paging.Read(from is null ? null : from, limit, DefaultPageSize, MaxPageSize, afterName: "from");
        if (error is not null) return error;
        var start = Math.Max(after, 0);
        var page = await db.LedgerEntries.AsNoTracking()
            .Where(e => e.Index >= start).OrderBy(e => e.Index).Take(size + 1).ToListAsync(ct);
        var views = page.Take(size).Select(View).ToList();
        var links = new Dictionary<string, HalLink> { ["self"] = new($"/ledger/entries?from={start}&limit={size}") };
        if (page.Count > size) links["next"] = new($"/ledger/entries?from={page[^1].Index}&limit={size}");
        return Hal.Ok(new LedgerPage(views.Count, views, links));
    }

    static async Task<IResult> Verify(ConsentDb db, CancellationToken ct)
    {
        var result = await LedgerVerifier.VerifyAsync(db, ct);
        return TypedResults.Ok(new LedgerVerificationView(result.Valid, result.Entries, result.FirstBadIndex, result.Reason));
    }

    public static LedgerEntryView View(LedgerEntry e)
    {
        using var payload = JsonDocument.Parse(e.Payload);
        return new(e.Index, e.Type, e.Timestamp.ToString(LedgerHash.TimestampFormat, System.Globalization.CultureInfo.InvariantCulture),
            payload.RootElement.Clone(), e.PrevHash, e.Hash);
    }
}
