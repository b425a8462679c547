using System.Security.Claims;
using System.Text.Json;
using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace ConsentHub.Clusters;

/// <summary>
/// The external feed of clusters (the Consumer Domain): which customer records of one organisation are the same person.
/// Written by the organisation's cluster feed or the admin.
/// </summary>
public static class ClusterApi
{
    const int MaxPutBytes = 1024 * 1024;
    public const int MaxLineBytes = 1024 * 1024;
    public const int MaxLines = 10_000;

    static readonly JsonSerializerOptions LineJson = new(JsonSerializerDefaults.Web) { MaxDepth = 16 };

    /// <summary>Built-in matching's step in the write pipeline, and the clusters as the answer to who is the same person.</summary>
    public static IServiceCollection AddClusters(this IServiceCollection services) =>
        services.AddScoped<IChangeReaction, BuiltInMatchingReaction>().AddScoped<IRecordGroups, ClusterGroups>();

    public static IEndpointRouteBuilder MapClusters(this IEndpointRouteBuilder app)
    {
        var clusters = app.MapGroup("/nmscs/{nmsc}").WithTags("Clusters").RequireAuthorization(AuthSetup.ClusterFeedPolicy);
        clusters.MapPut("/clusters/{clusterId}", Put)
            .WithName("PutCluster").WithSummary("Replace a cluster's members; records in another cluster move to this one.")
            .Accepts<ClusterInput>("application/json")
            .Produces<ClusterView>(StatusCodes.Status200OK, Hal.MediaType)
            .Produces<ClusterView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        clusters.MapGet("/clusters/{clusterId}", Get)
            .WithName("GetCluster").WithSummary("One cluster and its members, across the organisation's contexts.")
            .Produces<ClusterView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        clusters.MapDelete("/clusters/{clusterId}", Delete)
            .WithName("DeleteCluster").WithSummary("Dissolve a cluster: each of its records is a cluster of one again.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        // The literal segment "clusters:batch" routes as written: a colon means a constraint only inside braces.
        clusters.MapPost("/clusters:batch", Batch)
            .WithName("BatchClusters")
            .WithSummary("NDJSON feed: one { clusterId, members } per line, each applied on its own; refused lines are reported.")
            // No Accepts metadata: routing would answer another media type with 415 before authentication.
            .WithDescription("The body is application/x-ndjson: one ClusterInput object (clusterId and members) per line, "
                + "at most 10,000 lines of at most 1 MiB each. Each line is applied in its own transaction, in order.")
            .Produces<ClusterBatchResult>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        var admin = app.MapGroup("/admin").WithTags("Administration").RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapPost("/cluster-feeds", PostFeed)
            .WithName("RegisterClusterFeed").WithSummary("Register an organisation's cluster feed; its client credentials are shown in this answer only.")
            .Accepts<ClusterFeedInput>("application/json")
            .Produces<ClusterFeedCredentialsView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/cluster-feeds/{id:long}", GetFeed)
            .WithName("GetClusterFeed").WithSummary("One registered cluster feed; no secrets.")
            .Produces<ClusterFeedView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static async Task<IResult> Put(
        string nmsc, string clusterId, HttpRequest http, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger,
        PropagationPlanner planner, PropagationSignal propagation, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (Refusal(user, nmsc) is { } refused) return refused;
        if (!ClusterRules.IsClusterId(clusterId)) return InvalidClusterId();
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<ClusterInput>(http, ct, MaxPutBytes);
        if (body.Error is not null) return body.Error;
        if (body.Value!.ClusterId is { } named && named != clusterId)
            return Problems.Invalid("clusterId", "matches-route", "clusterId in the body, when given, must equal the one in the path.");

        var (members, violations) = ClusterRules.Check(body.Value, await SystemsAsync(db, nmsc, ct));
        if (violations.Count > 0) return Problems.Invalid(violations);
        var (view, created) = await ClusterMembership.ReplaceAsync(db, ledger, planner, time, nmsc, clusterId, members, ct);
        propagation.Notify();
        return created ? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), view.Links["self"].Href) : Hal.Ok(view);
    }

    static async Task<IResult> Get(string nmsc, string clusterId, ClaimsPrincipal user, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (Refusal(user, nmsc) is { } refused) return refused;
        var members = ClusterRules.IsClusterId(clusterId) ? await ClusterMembership.MembersAsync(db, nmsc, clusterId, context: null, ct) : [];
        return members.Count == 0 ? NoCluster(clusterId) : Hal.Ok(ClusterMembership.View(nmsc, clusterId, members));
    }

    static async Task<IResult> Delete(
        string nmsc, string clusterId, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, PropagationPlanner planner,
        PropagationSignal propagation, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (Refusal(user, nmsc) is { } refused) return refused;
        if (!ClusterRules.IsClusterId(clusterId) || !await ClusterMembership.DeleteAsync(db, ledger, planner, time, nmsc, clusterId, ct))
            return NoCluster(clusterId);
        propagation.Notify();
        return TypedResults.NoContent();
    }

    static async Task<IResult> Batch(
        string nmsc, HttpRequest http, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, PropagationPlanner planner,
        PropagationSignal propagation, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (Refusal(user, nmsc) is { } refused) return refused;
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        if (http.ContentType?.Split(';')[0].Trim().ToLowerInvariant() != "application/x-ndjson")
            return Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.",
                "Send the feed as application/x-ndjson: one JSON object per line.", "unsupported-media-type");
        // The body is read line by line, so its size is bounded by the line limits, not by the server's default.
        if (http.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = (long)MaxLines * (MaxLineBytes + 2);

        var systems = await SystemsAsync(db, nmsc, ct);
        var lines = new NdjsonLines(http.BodyReader, MaxLineBytes);
        var rejected = new List<ClusterBatchRejection>();
        var applied = 0;
        long number = 0;
        while (await lines.NextAsync(ct) is { } line)
        {
            number++;
            if (number > MaxLines)
            {
                rejected.Add(new(number, "body", "max-lines", $"A batch holds at most {MaxLines} lines; this line and the rest were not read."));
                break;
            }
            if (line.TooLong)
            {
                rejected.Add(new(number, "body", "max-line-length", $"A line may be at most {MaxLineBytes} bytes."));
                continue;
            }
            if (line.Bytes!.All(b => b is (byte)' ' or (byte)'\t')) continue;

            var (input, error) = Parse(line.Bytes!);
            var violations = error is null ? [] : new List<Violation> { error };
            List<RecordKey> members = [];
            if (input is not null)
            {
                if (!ClusterRules.IsClusterId(input.ClusterId)) violations.Add(new("clusterId", "cluster-id", $"clusterId must be {ClusterRules.ClusterIdRule}."));
                var check = ClusterRules.Check(input, systems);
                violations.AddRange(check.Violations);
                members = check.Members;
            }
            if (violations.Count > 0)
            {
                rejected.AddRange(violations.Select(v => new ClusterBatchRejection(number, v.Field, v.Rule, v.Message)));
                continue;
            }
            await ClusterMembership.ReplaceAsync(db, ledger, planner, time, nmsc, input!.ClusterId!, members, ct);
            db.ChangeTracker.Clear();
            propagation.Notify();
            applied++;
        }
        return TypedResults.Ok(new ClusterBatchResult(applied, rejected));
    }

    static (ClusterInput?, Violation?) Parse(byte[] line)
    {
        // Valid JSON may escape U+0000, which no text column can store.
        if (line.AsSpan().IndexOf("\\u0000"u8) >= 0) return (null, new("body", "nul-character", "Strings may not contain the character U+0000."));
        try
        {
            return JsonSerializer.Deserialize<ClusterInput>(line, LineJson) is { } input
                ? (input, null)
                : (null, new("body", "required", "The line is null; send a JSON object."));
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$').TrimStart('.');
            return (null, new(field, "json", $"The line is not a valid cluster near {field} (position {e.BytePositionInLine + 1})."));
        }
    }

    static async Task<IResult> PostFeed(
        HttpRequest http, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications,
        CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ClusterFeedInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var (view, refusal) = await RegisterFeedAsync(body.Value!, user, db, ledger, time, applications, ct);
        return refusal ?? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(view), FeedPath(view!.Id));
    }

    /// <summary>
    /// Registers a cluster feed from <paramref name="input"/> for <paramref name="user"/> (the admin's token or console
    /// session): its client credentials, shown this once, or the problem that refused it.
    /// </summary>
    internal static async Task<(ClusterFeedCredentialsView? Registered, IResult? Refusal)> RegisterFeedAsync(
        ClusterFeedInput input, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications,
        CancellationToken ct)
    {
        var nmsc = Names.Normalise(input.Nmsc ?? "");
        var name = input.Name;
        var violations = new List<Violation>();
        if (!Names.IsTenantName(nmsc)) violations.Add(new("nmsc", "tenant-name", $"nmsc must be {Names.TenantNameRule}."));
        if (name is null || !Names.IsSourceSystemName(name)) violations.Add(new("name", "feed-name", $"name must be {Names.SourceSystemNameRule}."));
        if (violations.Count > 0) return (null, Problems.Invalid(violations));
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct))
            return (null, Problems.Invalid("nmsc", "must-exist", $"No organisation '{nmsc}'; create it with PUT /admin/organisations/{nmsc} first."));

        await using var transaction = await ledger.BeginAsync(ct);
        if (await db.ClusterFeeds.AnyAsync(f => f.Nmsc == nmsc && f.Name == name, ct))
            return (null, Problems.Conflict($"A cluster feed named '{name}' already exists in organisation '{nmsc}'."));
        var clientSecret = Secrets.Generate();
        var feed = new ClusterFeed { Nmsc = nmsc, Name = name!, ClientId = Secrets.Identifier("feed_"), CreatedAt = time.Now() };
        db.ClusterFeeds.Add(feed);
        await db.SaveChangesAsync(ct);
        ledger.Append(ClusterEvents.ClusterFeedRegistered, new { id = feed.Id, nmsc, name = feed.Name, clientId = feed.ClientId, by = Caller.From(user).Subject });
        await db.SaveChangesAsync(ct);
        await applications.CreateAsync(AuthSetup.ClusterFeedClient(feed.ClientId, clientSecret, feed.Name), ct);
        await transaction.CommitAsync(ct);

        return (new ClusterFeedCredentialsView(feed.Id, nmsc, feed.Name, feed.ClientId, clientSecret,
            new Dictionary<string, HalLink> { ["self"] = new(FeedPath(feed.Id)) }), null);
    }

    static async Task<IResult> GetFeed(long id, ConsentDb db, CancellationToken ct)
    {
        var feed = await db.ClusterFeeds.AsNoTracking().SingleOrDefaultAsync(f => f.Id == id, ct);
        return feed is null
            ? Problems.NotFound($"No cluster feed {id}.")
            : Hal.Ok(new ClusterFeedView(feed.Id, feed.Nmsc, feed.Name, feed.ClientId, HubTime.Format(feed.CreatedAt),
                new Dictionary<string, HalLink> { ["self"] = new(FeedPath(feed.Id)) }));
    }

    /// <summary>A feed of another organisation is refused like any caller without the right (403); the policy already refused the rest.</summary>
    static IResult? Refusal(ClaimsPrincipal user, string nmsc) =>
        Caller.From(user).MayFeedClusters(nmsc) ? null : Problems.Forbidden("A cluster feed manages the clusters of its own organisation only.");

    static async Task<HashSet<(string Context, string Name)>> SystemsAsync(ConsentDb db, string nmsc, CancellationToken ct) =>
        (await db.SourceSystems.AsNoTracking().Where(s => s.Nmsc == nmsc).Select(s => new { s.Context, s.Name }).ToListAsync(ct))
            .Select(s => (s.Context, s.Name)).ToHashSet();

    static IResult InvalidClusterId() => Problems.Invalid("clusterId", "cluster-id", $"clusterId must be {ClusterRules.ClusterIdRule}.");

    static IResult NoCluster(string clusterId) => Problems.NotFound($"No cluster '{clusterId}' in this organisation.");

    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");

    static string FeedPath(long id) => $"/admin/cluster-feeds/{id}";
}
