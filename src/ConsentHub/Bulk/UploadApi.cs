using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ConsentHub.Bulk;

/// <summary>
/// The initial upload of seed 004 §3.5 over HTTP: a source system streams its file; the request applies it as it
/// arrives and answers 202 with the finished job. The job can be followed meanwhile with an id the client chose.
/// </summary>
public static class UploadApi
{
    public const string UploadIdHeader = "Upload-Id";
    public const string NdjsonMediaType = "application/x-ndjson";

    public static IServiceCollection AddUploads(this IServiceCollection services)
    {
        services.AddOptions<UploadOptions>().BindConfiguration(UploadOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<UploadJob>().AddScoped<UploadBatch>();
        services.AddSingleton<RunningUploads>();
        services.AddHostedService<UploadWatchdog>();
        return services;
    }

    public static IEndpointRouteBuilder MapUploads(this IEndpointRouteBuilder app)
    {
        app.MapPost("/contexts/{context}/nmscs/{nmsc}/source-systems/{sourceSystem}/uploads", Upload)
            .WithTags("Initial upload")
            .RequireAuthorization(AuthSetup.WriteScope)
            .WithName("UploadSubscriptionData")
            .WithSummary("Upload a source system's validated consent at once (seed 004 §3.5): a JSON array of records or NDJSON, streamed.")
            .WithDescription("The body is applied while it arrives; the answer (202) comes once all of it is read and carries the finished job. " +
                "Send an Upload-Id header (a UUID you choose) to follow the job with GET /uploads/{id} meanwhile. ?propagate=true sends the " +
                "records to the destinations of their clusters; by default nothing is propagated.")
            .Accepts<UploadEnvelope[]>("application/json", NdjsonMediaType)
            .Produces<UploadView>(StatusCodes.Status202Accepted, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        app.MapGet("/uploads/{id}", Read)
            .WithTags("Initial upload")
            .RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetUpload")
            .WithSummary("An upload's status (RUNNING, COMPLETED, FAILED), counts, rate and timestamps; updated after every batch.")
            .Produces<UploadView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("/uploads/{id}/errors", Errors)
            .WithTags("Initial upload")
            .RequireAuthorization(AuthSetup.ReadScope)
            .WithName("GetUploadErrors")
            .WithSummary("Every rejected record of an upload (position, sourceCustomerId, field, rule, message): NDJSON, or CSV with Accept: text/csv or ?format=csv.")
            .Produces(StatusCodes.Status200OK, contentType: NdjsonMediaType, additionalContentTypes: ["text/csv"])
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> Upload(
        string context, string nmsc, string sourceSystem, string? propagate,
        HttpContext http, ClaimsPrincipal user, ConsentDb db, UploadJob job, TimeProvider time, IOptions<UploadOptions> options,
        CancellationToken ct)
    {
        context = Names.Normalise(context);
        nmsc = Names.Normalise(nmsc);
        var caller = Caller.From(user);
        if (!caller.IsSourceSystem(nmsc, context, sourceSystem))
            return Problems.Forbidden("A source system uploads only as itself, for its own organisation and context.");
        if (propagate is not (null or "true" or "false"))
            return Problems.Invalid("propagate", "boolean", "propagate must be true or false.");
        var id = Guid.CreateVersion7();
        if (http.Request.Headers.TryGetValue(UploadIdHeader, out var given)
            && (given.Count != 1 || !Guid.TryParseExact(given.ToString(), "D", out id) || id == Guid.Empty))
            return Problems.Invalid(UploadIdHeader, "uuid", $"{UploadIdHeader} must be one UUID such as 0190f3c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f.");
        var maxBytes = options.Value.MaxBytes;
        if (http.Request.ContentLength > maxBytes)
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, "The body is too large.",
                $"An upload may be at most {maxBytes} bytes (ConsentHub:Upload:MaxBytes).", "payload-too-large");

        // This route alone reads bodies beyond the server's general limit, up to its own (counted while reading), and
        // may pause reading while a batch applies.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = null;
        if (http.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>() is { } rate) rate.MinDataRate = null;

        var system = await db.SourceSystems.AsNoTracking()
            .SingleOrDefaultAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == sourceSystem, ct);
        if (system is null) return Problems.Forbidden("This source system is no longer registered.");
        if (await db.Uploads.AnyAsync(u => u.Id == id, ct)) return UploadIdTaken();

        var now = time.Now();
        var upload = new Upload
        {
            Id = id, SourceSystemId = system.Id, Nmsc = nmsc, Context = context, SourceSystem = system.Name, SubmittedBy = caller.Subject,
            Status = UploadStatuses.Running, Propagate = propagate == "true", StartedAt = now, UpdatedAt = now, HeartbeatAt = now,
        };
        db.Uploads.Add(upload);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (DbErrors.IsUniqueViolation(e))
        {
            return UploadIdTaken();
        }

        var catalogue = await CategoryCatalogue.ReadAsync(db, nmsc, ct);
        await job.RunAsync(upload, system, catalogue, http.Request.BodyReader, ct);
        http.Response.Headers.Location = PathOf(upload.Id);
        // A failed upload may leave part of the body unread: the connection is not reused for another request.
        if (upload.Status == UploadStatuses.Failed) http.Response.Headers.Connection = "close";
        return TypedResults.Json(View(upload), Hal.Json, Hal.MediaType, StatusCodes.Status202Accepted);
    }

    static IResult UploadIdTaken() =>
        Problems.Conflict($"An upload with this {UploadIdHeader} exists already: choose a new UUID for every upload.");

    static async Task<IResult> Read(string id, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        var upload = await FindAsync(id, user, db, ct);
        return upload is null ? NotFound() : Hal.Ok(View(upload));
    }

    static async Task<IResult> Errors(string id, string? format, HttpRequest request, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        if (format is not (null or "ndjson" or "csv"))
            return Problems.Invalid("format", "format", "format must be ndjson or csv.");
        var upload = await FindAsync(id, user, db, ct);
        if (upload is null) return NotFound();
        var csv = format == "csv" || (format is null && request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)));
        var errors = db.UploadErrors.AsNoTracking().Where(e => e.UploadId == upload.Id).OrderBy(e => e.Position).ThenBy(e => e.Id).AsAsyncEnumerable();
        return TypedResults.Stream(stream => UploadErrorFormats.WriteAsync(stream, errors, csv, ct), csv ? "text/csv; charset=utf-8" : NdjsonMediaType);
    }

    /// <summary>Only the uploading source system and the admin see an upload; to anyone else it does not exist.</summary>
    static async Task<Upload?> FindAsync(string id, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var uploadId)) return null;
        var upload = await db.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.Id == uploadId, ct);
        var caller = Caller.From(user);
        return upload is not null && (caller.IsAdmin || caller.IsSourceSystem(upload.Nmsc, upload.Context, upload.SourceSystem)) ? upload : null;
    }

    static IResult NotFound() => Problems.NotFound("No such upload.");

    public static string PathOf(Guid id) => $"/uploads/{id}";

    static UploadView View(Upload u)
    {
        var seconds = ((u.FinishedAt ?? u.UpdatedAt) - u.StartedAt).TotalSeconds;
        return new UploadView(u.Id, u.Status, u.Context, u.Nmsc, u.SourceSystem, u.SubmittedBy, u.Propagate,
            u.Read, u.Applied, u.Rejected, u.Skipped, u.Bytes,
            seconds > 0 ? Math.Round(u.Read / seconds, 1) : 0,
            HubTime.Format(u.StartedAt), HubTime.Format(u.UpdatedAt), HubTime.Format(u.FinishedAt), u.FailureReason,
            new Dictionary<string, HalLink>
            {
                ["self"] = new(PathOf(u.Id)),
                ["errors"] = new(PathOf(u.Id) + "/errors"),
            });
    }
}

public sealed record UploadView(
    Guid Id, string Status, string Context, string Nmsc, string SourceSystem, string SubmittedBy, bool Propagate,
    long Read, long Applied, long Rejected, long Skipped, long Bytes, double RecordsPerSecond,
    string StartedAt, string UpdatedAt, string? FinishedAt, string? FailureReason,
    [property: System.Text.Json.Serialization.JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The error report of an upload, one line per broken rule, written as it is read from the database.</summary>
static class UploadErrorFormats
{
    static readonly JsonSerializerOptions Json = Hal.Json;

    public static async Task WriteAsync(Stream stream, IAsyncEnumerable<UploadError> errors, bool csv, CancellationToken ct)
    {
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024);
        if (csv) await writer.WriteAsync("position,sourceCustomerId,field,rule,message\r\n");
        var lines = 0;
        await foreach (var e in errors.WithCancellation(ct))
        {
            await writer.WriteAsync(csv
                ? string.Join(',', e.Position.ToString(CultureInfo.InvariantCulture), Cell(e.SourceCustomerId), Cell(e.Field), Cell(e.Rule), Cell(e.Message)) + "\r\n"
                : JsonSerializer.Serialize(new { position = e.Position, sourceCustomerId = e.SourceCustomerId, field = e.Field, rule = e.Rule, message = e.Message }, Json) + "\n");
            if (++lines % 1000 == 0) await writer.FlushAsync(ct);
        }
    }

    /// <summary>
    /// RFC 4180 quoting; a cell a spreadsheet would run as a formula (=, +, -, @) is quoted with a leading apostrophe,
    /// since file contents (customer ids, values quoted in messages) reach the report.
    /// </summary>
    static string Cell(string? value)
    {
        if (value is null) return "";
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.IndexOfAny([',', '"', '\r', '\n']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
