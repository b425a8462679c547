using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConsentHub.Outbound;

public sealed record ReplicaInput
{
    public string? ConnectionString { get; init; }
    public string? Schema { get; init; }
    public string? Table { get; init; }
}

/// <summary>A replica as answered: where it writes, never the password of the connection string.</summary>
public sealed record ReplicaView(
    string Name, string Nmsc, string Host, int Port, string Database, string? Username, string Schema, string Table, string State,
    long AppliedIndex, string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ReplicaList(
    int Count, IReadOnlyList<ReplicaView> Replicas,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <param name="LagChanges">Change-log rows of the organisation not applied yet.</param>
/// <param name="LagSeconds">Age of the oldest of them; 0 when none.</param>
public sealed record ReplicaStatus(
    string Name, string State, long AppliedIndex, int AppliedPosition, long LagChanges, double LagSeconds, long RowsApplied,
    string? LastAppliedAt, string? LastError, string? LastErrorAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed class ReplicaOptions
{
    public const string Section = "ConsentHub:Replicas";

    /// <summary>False stops this instance's worker (another instance, or none, keeps the replicas).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the worker looks for changes to apply, in seconds.</summary>
    [Range(1, 3600)]
    public int SweepSeconds { get; set; } = 1;

    /// <summary>How long a run may hold a replica before another instance may take it over.</summary>
    [Range(10, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How long after a failure the replica is tried again.</summary>
    [Range(1, 3600)]
    public int RetrySeconds { get; set; } = 10;

    /// <summary>Change-log rows applied per target transaction.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 2000;
}

/// <summary>
/// The admin keeps a table in a third party's PostgreSQL database equal to the organisation's current consents and
/// channels (seed 000: "direct database injection", "replication … to a separate repository").
/// </summary>
public static partial class ReplicaApi
{
    public const int MaxReplicasPerOrganisation = 20;
    public const string ProtectionPurpose = "ConsentHub.Replicas.v1";
    const string Tag = "Outbound integration (seed 000)";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ReplicaName();

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex Identifier();

    public static IServiceCollection AddReplicas(this IServiceCollection services)
    {
        services.AddOptions<ReplicaOptions>().BindConfiguration(ReplicaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<ReplicaRunner>();
        services.AddHostedService<ReplicaWorker>();
        return services;
    }

    public static IEndpointRouteBuilder MapReplicas(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/organisations/{nmsc}/replicas").WithTags(Tag).RequireAuthorization(AuthSetup.AdminPolicy);
        admin.MapGet("", ListAsync)
            .WithName("ListReplicas").WithSummary("The organisation's replicas.")
            .Produces<ReplicaList>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{name}", PutAsync)
            .WithName("PutReplica").WithSummary("Keep a table in another PostgreSQL database equal to the organisation's current consents and channels.")
            .Accepts<ReplicaInput>("application/json")
            .Produces<ReplicaView>(StatusCodes.Status201Created, Hal.MediaType).Produces<ReplicaView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/{name}", GetAsync)
            .WithName("GetReplica").WithSummary("One replica: where it writes (never the password) and its state.")
            .Produces<ReplicaView>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/{name}", DeleteAsync)
            .WithName("DeleteReplica").WithSummary("Stop keeping the replica; its table is left as it is in the target database.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{name}/status", StatusAsync)
            .WithName("GetReplicaStatus").WithSummary("How far the replica is: the change-log position applied, the lag, the last error.")
            .Produces<ReplicaStatus>(StatusCodes.Status200OK, Hal.MediaType).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    static string ListPath(string nmsc) => $"/admin/organisations/{nmsc}/replicas";
    static string PathOf(Replica r) => $"{ListPath(r.Nmsc)}/{r.Name}";
    static IResult NoOrganisation(string nmsc) => Problems.NotFound($"No organisation '{nmsc}'.");
    static IResult NoReplica(string name) => Problems.NotFound($"No replica '{name}' in this organisation.");

    static async Task<IResult> ListAsync(string nmsc, ConsentDb db, IDataProtectionProvider protection, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var rows = await db.Replicas.AsNoTracking().Where(r => r.Nmsc == nmsc).ToListAsync(ct);
        var views = rows.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => View(r, protection)).ToList();
        return Hal.Ok(new ReplicaList(views.Count, views, new Dictionary<string, HalLink>
        {
            ["self"] = new(ListPath(nmsc)),
            ["organisation"] = new(Paths.Organisation(nmsc)),
        }));
    }

    static async Task<IResult> PutAsync(
        string nmsc, string name, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, IDataProtectionProvider protection,
        IOptions<PropagationOptions> addresses, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!ReplicaName().IsMatch(name)) return Problems.Invalid("name", "replica-name", "The replica's name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return NoOrganisation(nmsc);
        var body = await JsonBody.ReadAsync<ReplicaInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var input = body.Value!;

        var v = new List<Violation>();
        NpgsqlConnectionStringBuilder? target = null;
        if (string.IsNullOrWhiteSpace(input.ConnectionString))
            v.Add(new("connectionString", "required", "connectionString is the target database's Npgsql connection string (Host=…;Database=…;Username=…;Password=…)."));
        else if (input.ConnectionString.Length > 4096)
            v.Add(new("connectionString", "connection-string", "connectionString is at most 4096 characters."));
        else if ((target = Parse(input.ConnectionString)) is null)
            v.Add(new("connectionString", "connection-string", "connectionString is not an Npgsql connection string (Host=…;Database=…;Username=…;Password=…)."));
        else if (string.IsNullOrWhiteSpace(target.Host) || target.Host.Contains(',') || string.IsNullOrWhiteSpace(target.Database))
            v.Add(new("connectionString", "connection-string", "connectionString names one Host and a Database."));
        else if (await ReplicaTarget.HostRefusalAsync(target.Host, addresses.Value, ct) is { } why)
            v.Add(new("connectionString", "replica-host", $"The target host {why}."));
        CheckIdentifier(input.Schema, "schema", v);
        CheckIdentifier(input.Table, "table", v);
        if (v.Count > 0) return Problems.Invalid(v);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.Replicas.SingleOrDefaultAsync(r => r.Nmsc == nmsc && r.Name == name, ct);
        var created = row is null;
        var protector = protection.CreateProtector(ProtectionPurpose);
        if (row is null)
        {
            if (await db.Replicas.CountAsync(r => r.Nmsc == nmsc, ct) >= MaxReplicasPerOrganisation)
                return Problems.Conflict($"Organisation '{nmsc}' already has {MaxReplicasPerOrganisation} replicas, the most it may hold; delete one first.");
            row = new Replica
            {
                Id = Guid.CreateVersion7(), Nmsc = nmsc, Name = name, ConnectionString = "", Schema = "", Table = "",
                State = ReplicaStates.Copying, CreatedAt = now,
            };
            db.Replicas.Add(row);
        }
        var sameTarget = !created && protector.Unprotect(row!.ConnectionString) == input.ConnectionString && row.Schema == input.Schema && row.Table == input.Table;
        if (!sameTarget)
        {
            // Another target (or the first): it is copied whole, then kept from the change log.
            row!.ConnectionString = protector.Protect(input.ConnectionString!);
            row.Schema = input.Schema!;
            row.Table = input.Table!;
            row.State = ReplicaStates.Copying;
            row.AppliedIndex = 0;
            row.AppliedPosition = 0;
            row.LastError = null;
            row.LastErrorAt = null;
            row.LeaseUntil = null;
            row.LeaseOwner = null;
        }
        row!.UpdatedAt = now;
        ledger.Append(LedgerEvents.ReplicaConfigured, new
        {
            nmsc, replica = name, action = created ? "created" : sameTarget ? "unchanged" : "replaced",
            host = target!.Host, port = target.Port, database = target.Database, schema = row.Schema, table = row.Table,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return created ? Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(View(row, protection)), PathOf(row)) : Hal.Ok(View(row, protection));
    }

    static NpgsqlConnectionStringBuilder? Parse(string text)
    {
        try { return new NpgsqlConnectionStringBuilder(text); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException) { return null; }
    }

    static void CheckIdentifier(string? value, string field, List<Violation> v)
    {
        if (string.IsNullOrEmpty(value)) v.Add(new(field, "required", $"{field} is the target's {field} name."));
        else if (!Identifier().IsMatch(value)) v.Add(new(field, "identifier", $"{field} is 1 to 63 lower-case letters, digits or '_', not starting with a digit."));
    }

    static async Task<Replica?> FindAsync(ConsentDb db, string nmsc, string name, CancellationToken ct, bool tracked = false)
    {
        nmsc = Names.Normalise(nmsc);
        var query = tracked ? db.Replicas : db.Replicas.AsNoTracking();
        return await query.SingleOrDefaultAsync(r => r.Nmsc == nmsc && r.Name == name, ct);
    }

    static async Task<IResult> GetAsync(string nmsc, string name, ConsentDb db, IDataProtectionProvider protection, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        return row is null ? NoReplica(name) : Hal.Ok(View(row, protection));
    }

    static async Task<IResult> DeleteAsync(string nmsc, string name, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        await using var transaction = await ledger.BeginAsync(ct);
        var row = await FindAsync(db, nmsc, name, ct, tracked: true);
        if (row is null) return NoReplica(name);
        db.Replicas.Remove(row);
        ledger.Append(LedgerEvents.ReplicaDeleted, new { nmsc = row.Nmsc, replica = row.Name });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> StatusAsync(string nmsc, string name, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        var row = await FindAsync(db, nmsc, name, ct);
        if (row is null) return NoReplica(name);
        var (lag, oldest) = await ReplicaRunner.BacklogAsync(db, row.Nmsc, row.AppliedIndex, row.AppliedPosition, ct);
        return Hal.Ok(new ReplicaStatus(
            row.Name, row.State, row.AppliedIndex, row.AppliedPosition, lag,
            oldest is { } at ? Math.Max(0, Math.Round((time.Now() - at).TotalSeconds, 3)) : 0, row.RowsApplied,
            row.LastAppliedAt is { } applied ? HubTime.Format(applied) : null, row.LastError,
            row.LastErrorAt is { } failed ? HubTime.Format(failed) : null,
            new Dictionary<string, HalLink> { ["self"] = new(PathOf(row) + "/status"), ["replica"] = new(PathOf(row)) }));
    }

    static ReplicaView View(Replica row, IDataProtectionProvider protection)
    {
        var target = new NpgsqlConnectionStringBuilder(protection.CreateProtector(ProtectionPurpose).Unprotect(row.ConnectionString));
        return new ReplicaView(row.Name, row.Nmsc, target.Host ?? "", target.Port, target.Database ?? "", target.Username, row.Schema, row.Table,
            row.State, row.AppliedIndex, HubTime.Format(row.CreatedAt), HubTime.Format(row.UpdatedAt),
            new Dictionary<string, HalLink>
            {
                ["self"] = new(PathOf(row)),
                ["status"] = new(PathOf(row) + "/status"),
                ["organisation"] = new(Paths.Organisation(row.Nmsc)),
            });
    }
}
