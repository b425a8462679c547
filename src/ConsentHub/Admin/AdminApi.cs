using ConsentHub.Auth;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Tenancy;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace ConsentHub.Admin;

/// <summary>Registration of organisations, contexts, source systems and categories. Admin role only.</summary>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Administration").RequireAuthorization(AuthSetup.AdminPolicy);

        admin.MapPut("/organisations/{nmsc}", PutOrganisation)
            .WithName("PutOrganisation").WithSummary("Create or update an organisation (NMSC). Idempotent.")
            .Accepts<OrganisationInput>("application/json")
            .Produces<OrganisationView>(StatusCodes.Status200OK, Hal.MediaType)
            .Produces<OrganisationView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        admin.MapPatch("/organisations/{nmsc}", PatchOrganisation)
            .WithName("PatchOrganisation").WithSummary("Change some settings of an organisation (JSON merge patch, RFC 7396): members left out keep their value, null resets one.")
            .Accepts<OrganisationInput>("application/merge-patch+json", "application/json")
            .Produces<OrganisationView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/organisations/{nmsc}", GetOrganisation)
            .WithName("GetOrganisation").WithSummary("One organisation.")
            .Produces<OrganisationView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/organisations/{nmsc}/categories", PutCategories)
            .WithName("PutOrganisationCategories").WithSummary("Hide canonical or combined categories and add local ones for an organisation.")
            .Accepts<CategoriesInput>("application/json")
            .Produces<CategoriesView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/organisations/{nmsc}/categories", GetCategories)
            .WithName("GetOrganisationCategories").WithSummary("The categories an organisation hides, adds, and may use.")
            .Produces<CategoriesView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/contexts/{context}", PutContext)
            .WithName("PutContext").WithSummary("Create or update a context (brand or customer base). Idempotent.")
            .Accepts<ContextInput>("application/json")
            .Produces<ContextView>(StatusCodes.Status200OK, Hal.MediaType)
            .Produces<ContextView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        admin.MapGet("/contexts/{context}", GetContext)
            .WithName("GetContext").WithSummary("One context: the target of every context's self link.")
            .Produces<ContextView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/source-systems", PostSourceSystem)
            .WithName("RegisterSourceSystem").WithSummary("Register a source system; its credentials are shown in this answer only.")
            .Accepts<SourceSystemInput>("application/json")
            .Produces<SourceSystemCredentialsView>(StatusCodes.Status201Created, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/source-systems", ListSourceSystems)
            .WithName("ListSourceSystems").WithSummary("Registered source systems, optionally of one organisation or context; no secrets.")
            .Produces<SourceSystemList>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        admin.MapGet("/source-systems/{id:long}", GetSourceSystem)
            .WithName("GetSourceSystem").WithSummary("One registered source system; no secrets.")
            .Produces<SourceSystemView>(StatusCodes.Status200OK, Hal.MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapSourceSystemLifecycle();
        admin.MapOrganisationApiUsers();
        return app;
    }

    static async Task<IResult> PutOrganisation(string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!Names.IsTenantName(nmsc)) return Problems.Invalid("nmsc", "tenant-name", $"nmsc must be {Names.TenantNameRule}.");
        var body = await JsonBody.ReadOptionalAsync<OrganisationInput>(http, ct);
        if (body.Error is not null) return body.Error;
        if (body.Value!.Name is { Length: > 200 }) return Problems.Invalid("name", "max-length", "name may be at most 200 characters.");
        if (body.Value.ValidationWindowHours is < 1 or > 720)
            return Problems.Invalid("validationWindowHours", "range", "validationWindowHours must be from 1 to 720.");
        if (body.Value.MergePolicy is { } policy && !MergePolicies.IsKnown(policy))
            return Problems.Invalid("mergePolicy", "merge-policy", $"mergePolicy is {MergePolicies.LatestWins} or {MergePolicies.MostRestrictive}.");
        if (body.Value.DefaultCountry is { } given && !OrganisationPatch.IsPhoneCountry(given))
            return Problems.Invalid("defaultCountry", "country", OrganisationPatch.CountryRule);
        var country = body.Value.DefaultCountry?.ToUpperInvariant();
        if (body.Value.OptInConfirmation is { } confirmation && !OptInConfirmations.IsKnown(confirmation))
            return Problems.Invalid("optInConfirmation", "opt-in-confirmation", OptInConfirmations.Rule);

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var organisation = await db.Organisations.SingleOrDefaultAsync(o => o.Nmsc == nmsc, ct);
        var created = organisation is null;
        if (organisation is null)
        {
            organisation = new Organisation
            {
                Nmsc = nmsc, Name = body.Value.Name, ValidationWindowHours = body.Value.ValidationWindowHours ?? 24,
                MergePolicy = body.Value.MergePolicy ?? MergePolicies.LatestWins, BuiltInMatching = body.Value.BuiltInMatching ?? false,
                DefaultCountry = country, OptInConfirmation = body.Value.OptInConfirmation ?? OptInConfirmations.Partner,
                CreatedAt = now, UpdatedAt = now,
            };
            db.Organisations.Add(organisation);
            ledger.Append(LedgerEvents.OrganisationRegistered, Settings(organisation));
        }
        else if (organisation.Name != body.Value.Name
                 || (body.Value.ValidationWindowHours is { } hours && hours != organisation.ValidationWindowHours)
                 || (body.Value.MergePolicy is { } merge && merge != organisation.MergePolicy)
                 || (body.Value.BuiltInMatching is { } matching && matching != organisation.BuiltInMatching)
                 || (country is not null && country != (organisation.DefaultCountry ?? Organisation.DefaultPhoneCountry))
                 || (body.Value.OptInConfirmation is { } optIn && optIn != organisation.OptInConfirmation))
        {
            organisation.OptInConfirmation = body.Value.OptInConfirmation ?? organisation.OptInConfirmation;
            organisation.DefaultCountry = country ?? organisation.DefaultCountry;
            organisation.BuiltInMatching = body.Value.BuiltInMatching ?? organisation.BuiltInMatching;
            organisation.Name = body.Value.Name;
            organisation.ValidationWindowHours = body.Value.ValidationWindowHours ?? organisation.ValidationWindowHours;
            organisation.MergePolicy = body.Value.MergePolicy ?? organisation.MergePolicy;
            organisation.UpdatedAt = now;
            ledger.Append(LedgerEvents.OrganisationUpdated, Settings(organisation));
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        var view = View(organisation);
        return created ? Created(view.Links["self"].Href, view) : Hal.Ok(view);
    }

    /// <summary>
    /// JSON merge patch (RFC 7396) of an organisation's settings: a member left out keeps its value, a member set to null
    /// goes back to its default (no name, 24 hours, latest-wins, no built-in matching). Unknown members are refused.
    /// </summary>
    static async Task<IResult> PatchOrganisation(string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var body = await JsonBody.ReadAsync<JsonObject>(http, ct);
        if (body.Error is not null) return body.Error;
        var patch = OrganisationPatch.Read(body.Value!);
        if (patch.Violations.Count > 0) return Problems.Invalid(patch.Violations);

        await using var transaction = await ledger.BeginAsync(ct);
        var organisation = await db.Organisations.SingleOrDefaultAsync(o => o.Nmsc == nmsc, ct);
        if (organisation is null) return Problems.NotFound($"No organisation '{nmsc}'.");
        var before = Settings(organisation).ToString();
        patch.ApplyTo(organisation);
        if (Settings(organisation).ToString() != before)
        {
            organisation.UpdatedAt = time.Now();
            ledger.Append(LedgerEvents.OrganisationUpdated, Settings(organisation));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        return Hal.Ok(View(organisation));
    }

    static async Task<IResult> GetOrganisation(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        var organisation = await db.Organisations.AsNoTracking().SingleOrDefaultAsync(o => o.Nmsc == nmsc, ct);
        return organisation is null ? Problems.NotFound($"No organisation '{nmsc}'.") : Hal.Ok(View(organisation));
    }

    static async Task<IResult> PutContext(string context, HttpRequest http, ConsentDb db, LedgerWriter ledger, TimeProvider time, CancellationToken ct)
    {
        context = Names.Normalise(context);
        if (!Names.IsTenantName(context)) return Problems.Invalid("context", "tenant-name", $"context must be {Names.TenantNameRule}.");
        var body = await JsonBody.ReadOptionalAsync<ContextInput>(http, ct);
        if (body.Error is not null) return body.Error;
        if (body.Value!.DisplayName is { Length: > 200 }) return Problems.Invalid("displayName", "max-length", "displayName may be at most 200 characters.");

        await using var transaction = await ledger.BeginAsync(ct);
        var now = time.Now();
        var row = await db.Contexts.SingleOrDefaultAsync(c => c.Name == context, ct);
        var created = row is null;
        if (row is null)
        {
            row = new ConsentContext { Name = context, DisplayName = body.Value.DisplayName, CreatedAt = now, UpdatedAt = now };
            db.Contexts.Add(row);
            ledger.Append(LedgerEvents.ContextRegistered, new { context, displayName = row.DisplayName });
        }
        else if (row.DisplayName != body.Value.DisplayName)
        {
            row.DisplayName = body.Value.DisplayName;
            row.UpdatedAt = now;
            ledger.Append(LedgerEvents.ContextUpdated, new { context, displayName = row.DisplayName });
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        var view = View(row);
        return created ? Created(Paths.Context(row.Name), view) : Hal.Ok(view);
    }

    static async Task<IResult> GetContext(string context, ConsentDb db, CancellationToken ct)
    {
        context = Names.Normalise(context);
        var row = await db.Contexts.AsNoTracking().SingleOrDefaultAsync(c => c.Name == context, ct);
        return row is null ? Problems.NotFound($"No context '{context}'.") : Hal.Ok(View(row));
    }

    static ContextView View(ConsentContext row) => new(row.Name, row.DisplayName, HubTime.Format(row.CreatedAt), HubTime.Format(row.UpdatedAt),
        new Dictionary<string, HalLink> { ["self"] = new(Paths.Context(row.Name)) });

    static async Task<IResult> PostSourceSystem(
        HttpRequest http, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications,
        CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<SourceSystemInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var (view, refusal) = await RegisterSourceSystemAsync(body.Value!, user, db, ledger, time, applications, ct);
        return refusal ?? Created(Paths.SourceSystem(view!.Id), view);
    }

    /// <summary>
    /// Registers a source system from <paramref name="input"/> for <paramref name="user"/> (the admin's token or console
    /// session): its credentials, shown this once, or the problem that refused it.
    /// </summary>
    internal static async Task<(SourceSystemCredentialsView? Registered, IResult? Refusal)> RegisterSourceSystemAsync(
        SourceSystemInput input, ClaimsPrincipal user, ConsentDb db, LedgerWriter ledger, TimeProvider time, IOpenIddictApplicationManager applications,
        CancellationToken ct)
    {
        var violations = new List<Violation>();
        var context = Names.Normalise(input.Context ?? "");
        var nmsc = Names.Normalise(input.Nmsc ?? "");
        if (!Names.IsTenantName(context)) violations.Add(new("context", "tenant-name", $"context must be {Names.TenantNameRule}."));
        if (!Names.IsTenantName(nmsc)) violations.Add(new("nmsc", "tenant-name", $"nmsc must be {Names.TenantNameRule}."));
        if (input.Name is null || !Names.IsSourceSystemName(input.Name))
            violations.Add(new("name", "source-system-name", $"name must be {Names.SourceSystemNameRule}."));
        if (violations.Count > 0) return (null, Problems.Invalid(violations));
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct))
            violations.Add(new("nmsc", "must-exist", $"No organisation '{nmsc}'; create it with PUT /admin/organisations/{nmsc} first."));
        if (!await db.Contexts.AnyAsync(c => c.Name == context, ct))
            violations.Add(new("context", "must-exist", $"No context '{context}'; create it with PUT /admin/contexts/{context} first."));
        if (violations.Count > 0) return (null, Problems.Invalid(violations));

        await using var transaction = await ledger.BeginAsync(ct);
        if (await db.SourceSystems.AnyAsync(s => s.Nmsc == nmsc && s.Context == context && s.Name == input.Name, ct))
            return (null, Problems.Conflict($"A source system named '{input.Name}' already exists in organisation '{nmsc}' and context '{context}'."));

        var now = time.Now();
        var password = Secrets.Generate();
        var clientSecret = Secrets.Generate();
        var system = new SourceSystem
        {
            Nmsc = nmsc, Context = context, Name = input.Name!, CreatedAt = now,
            Username = Secrets.Identifier("ss_"), ClientId = Secrets.Identifier("client_"), CredentialStamp = SourceSystemLifecycle.NewStamp(),
        };
        db.SourceSystems.Add(system);
        await db.SaveChangesAsync(ct);
        db.Users.Add(new HubUser
        {
            Username = system.Username, PasswordHash = Secrets.HashPassword(password), Role = Roles.SourceSystem,
            Nmsc = nmsc, Context = context, SourceSystemId = system.Id, CreatedAt = now,
        });
        ledger.Append(LedgerEvents.SourceSystemRegistered,
            new { id = system.Id, nmsc, context, name = system.Name, username = system.Username, clientId = system.ClientId, by = Caller.From(user).Subject });
        await db.SaveChangesAsync(ct);
        await applications.CreateAsync(AuthSetup.SourceSystemClient(system.ClientId, clientSecret, system.Name), ct);
        await transaction.CommitAsync(ct);

        return (new SourceSystemCredentialsView(system.Id, context, nmsc, system.Name, system.Username, password, system.ClientId, clientSecret,
            new Dictionary<string, HalLink> { ["self"] = new(Paths.SourceSystem(system.Id)) }), null);
    }

    static async Task<IResult> ListSourceSystems(string? nmsc, string? context, ConsentDb db, CancellationToken ct)
    {
        var query = db.SourceSystems.AsNoTracking();
        if (nmsc is not null) query = query.Where(s => s.Nmsc == Names.Normalise(nmsc));
        if (context is not null) query = query.Where(s => s.Context == Names.Normalise(context));
        var systems = await query.OrderBy(s => s.Id).Take(1_000).ToListAsync(ct);
        var views = systems.Select(View).ToList();
        return Hal.Ok(new SourceSystemList(views.Count, views, new Dictionary<string, HalLink> { ["self"] = new("/admin/source-systems") }));
    }

    static async Task<IResult> GetSourceSystem(long id, ConsentDb db, CancellationToken ct)
    {
        var system = await db.SourceSystems.AsNoTracking().SingleOrDefaultAsync(s => s.Id == id, ct);
        return system is null ? Problems.NotFound($"No source system {id}.") : Hal.Ok(View(system));
    }

    static async Task<IResult> PutCategories(string nmsc, HttpRequest http, ConsentDb db, LedgerWriter ledger, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        var body = await JsonBody.ReadAsync<CategoriesInput>(http, ct);
        if (body.Error is not null) return body.Error;
        var hidden = body.Value!.Hidden ?? [];
        var local = body.Value.Local ?? [];
        var violations = CategoryRules.Check(hidden, local);
        if (violations.Count > 0) return Problems.Invalid(violations);

        await using var transaction = await ledger.BeginAsync(ct);
        db.OrganisationCategories.RemoveRange(await db.OrganisationCategories.Where(c => c.Nmsc == nmsc).ToListAsync(ct));
        db.OrganisationCategories.AddRange(hidden.Distinct().Select(code => new OrganisationCategory { Nmsc = nmsc, Code = code, Kind = CategoryKind.Hidden }));
        db.OrganisationCategories.AddRange(local.Select(l => new OrganisationCategory { Nmsc = nmsc, Code = l.Code!, Kind = CategoryKind.Local, Description = l.Description }));
        ledger.Append(LedgerEvents.CategoriesConfigured, new { nmsc, hidden = hidden.Distinct(), local = local.Select(l => l.Code) });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return await GetCategories(nmsc, db, ct);
    }

    static async Task<IResult> GetCategories(string nmsc, ConsentDb db, CancellationToken ct)
    {
        nmsc = Names.Normalise(nmsc);
        if (!await db.Organisations.AnyAsync(o => o.Nmsc == nmsc, ct)) return Problems.NotFound($"No organisation '{nmsc}'.");
        var catalogue = await CategoryCatalogue.ReadAsync(db, nmsc, ct);
        return Hal.Ok(new CategoriesView(nmsc,
            catalogue.Hidden.Order(StringComparer.Ordinal).ToList(),
            catalogue.Local.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new LocalCategoryView(l.Key, l.Value)).ToList(),
            catalogue.Available.ToList(),
            new Dictionary<string, HalLink>
            {
                ["self"] = new(Paths.Organisation(nmsc) + "/categories"),
                ["organisation"] = new(Paths.Organisation(nmsc)),
            }));
    }

    static IResult Created<T>(string location, T body) => Hal.Raw(StatusCodes.Status201Created, Hal.Serialize(body), location);

    static object Settings(Organisation o) =>
        new { nmsc = o.Nmsc, name = o.Name, validationWindowHours = o.ValidationWindowHours, mergePolicy = o.MergePolicy, builtInMatching = o.BuiltInMatching,
            defaultCountry = o.DefaultCountry ?? Organisation.DefaultPhoneCountry, optInConfirmation = o.OptInConfirmation };

    static OrganisationView View(Organisation o) => new(o.Nmsc, o.Name, o.ValidationWindowHours, o.MergePolicy, o.BuiltInMatching,
        o.DefaultCountry ?? Organisation.DefaultPhoneCountry, o.OptInConfirmation,
        HubTime.Format(o.CreatedAt), HubTime.Format(o.UpdatedAt),
        new Dictionary<string, HalLink>
        {
            ["self"] = new(Paths.Organisation(o.Nmsc)),
            ["categories"] = new(Paths.Organisation(o.Nmsc) + "/categories"),
        });

    public static SourceSystemView View(SourceSystem s) => new(s.Id, s.Context, s.Nmsc, s.Name, s.Username, s.ClientId, HubTime.Format(s.CreatedAt),
        s.Active, s.DeactivatedAt is { } at ? HubTime.Format(at) : null,
        new Dictionary<string, HalLink> { ["self"] = new(Paths.SourceSystem(s.Id)) });
}
