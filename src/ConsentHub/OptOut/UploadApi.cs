using System.Net;
using System.Security.Claims;
using System.Text.Json;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary><c>POST /RestServices/OptOut/Upload</c>: seed 002's upload of 1 to 100 opt-out records, with a source system's API key.</summary>
public static class UploadApi
{
    public const int MaxRecords = 100;
    /// <summary>100 records of the seed's largest fields fit in well under a mebibyte.</summary>
    public const int MaxBodyBytes = 1024 * 1024;
    public const int MaxRefererLength = 2048;

    public static IEndpointRouteBuilder MapOptOutUpload(this IEndpointRouteBuilder app)
    {
        app.MapPost(OptOutPaths.Upload, UploadAsync)
            .WithTags("Opt-out")
            .RequireAuthorization(AuthSetup.ApiKeyPolicy)
            .WithName("UploadOptOuts")
            .WithSummary("Seed 002: post 1 to 100 opt-outs with the source system's api-key header; each record is applied or refused on its own.")
            .Accepts<OptOutRecordDTO[]>("application/json")
            .Produces<OptOutUploadResponseDTO>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    static async Task<IResult> UploadAsync(
        HttpContext http, ClaimsPrincipal user, ConsentDb db, OptOutUploads uploads, OptOutApplication application, ILoggerFactory loggers,
        CancellationToken ct)
    {
        if (!Guid.TryParse(user.FindFirstValue(ApiKeyAuthentication.KeyIdClaim), out var keyId)
            || await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId && k.RevokedAt == null, ct) is not { } key)
            return OptOutAnswer.Refused(Problems.Forbidden("This API key is no longer in force."));

        var (idempotencyKey, keyError) = Idempotency.ReadKey(http.Request);
        if (keyError is not null) return OptOutAnswer.Refused(keyError);

        var (bytes, tooLarge) = await ReadBodyAsync(http.Request, ct);
        if (tooLarge is not null) return OptOutAnswer.Refused(tooLarge);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            return OptOutAnswer.Refused(Problems.Invalid("body", "json",
                $"The body is not valid JSON (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}); send a JSON array of 1 to {MaxRecords} records."));
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
                return OptOutAnswer.Refused(Problems.Invalid("body", "array", $"The body must be a JSON array of 1 to {MaxRecords} records, not a JSON {root.ValueKind.ToString().ToLowerInvariant()}."));
            var count = root.GetArrayLength();
            if (count is 0 or > MaxRecords)
                return OptOutAnswer.Refused(Problems.Invalid("body", "record-count",
                    $"An upload carries 1 to {MaxRecords} records; this one has {count}. Nothing was stored: send them in several requests."));

            var defaultCountry = await db.Organisations.AsNoTracking().Where(o => o.Nmsc == key.Nmsc).Select(o => o.DefaultCountry).SingleOrDefaultAsync(ct) ?? "US";
            var idempotency = idempotencyKey is null ? null
                : new IdempotencyKey($"source-system:{key.SourceSystemId}", idempotencyKey, OptOutUploads.RequestHash(bytes));
            var upload = new OptOutUpload(key, defaultCountry, [.. root.EnumerateArray()], ClientIp(http), Referer(http.Request), idempotency);

            switch (await uploads.StoreAsync(upload, ct))
            {
                case OptOutUploadOutcome.Stored stored:
                    await ApplyAsync(db, application, stored, loggers.CreateLogger("ConsentHub.OptOut.Upload"));
                    return OptOutAnswer.Result(stored.Body);
                case OptOutUploadOutcome.Replayed replayed:
                    return OptOutAnswer.Result(replayed.Body);
                default:
                    return OptOutAnswer.Refused(Idempotency.KeyReused());
            }
        }
    }

    /// <summary>
    /// The opt-outs are durable once committed; applying them to the organisation's records follows, record by record.
    /// A failure here does not undo the upload: the recovery sweep applies what is still owed (AppliedAt is null).
    /// </summary>
    static async Task ApplyAsync(ConsentDb db, OptOutApplication application, OptOutUploadOutcome.Stored stored, ILogger logger)
    {
        foreach (var recordId in stored.ToApply)
        {
            db.ChangeTracker.Clear();
            try
            {
                // Not the request's token: a client that hangs up must not leave an application half done.
                await application.ApplyAsync(recordId, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogError(e, "Applying opt-out record {RecordId} of transaction {TransactionId} failed; it stays owed for the recovery sweep.",
                    recordId, stored.TransactionId);
            }
        }
    }

    static async Task<(byte[] Bytes, IResult? TooLarge)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var tooLarge = Problems.Problem(StatusCodes.Status413PayloadTooLarge, "The body is too large.",
            $"The body may be at most {MaxBodyBytes} bytes ({MaxRecords} records).", "payload-too-large");
        if (request.ContentLength > MaxBodyBytes) return ([], tooLarge);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes) return ([], tooLarge);
            buffer.Write(chunk, 0, read);
        }
        return (buffer.ToArray(), null);
    }

    /// <summary>The connecting address; behind a configured proxy, the client it forwarded for (Hosting/SecurityHeaders.cs).</summary>
    static string? ClientIp(HttpContext http) => http.Connection.RemoteIpAddress is { } address
        ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString()
        : null;

    /// <summary>The page the opt-out came from (a white-labelled page or iFrame, the seed says); kept to its first 2048 characters.</summary>
    static string? Referer(HttpRequest request)
    {
        var referer = request.Headers.Referer.ToString();
        if (string.IsNullOrWhiteSpace(referer)) return null;
        referer = new string(referer.Where(c => !char.IsControl(c)).ToArray());
        return referer.Length <= MaxRefererLength ? referer : referer[..MaxRefererLength];
    }
}
