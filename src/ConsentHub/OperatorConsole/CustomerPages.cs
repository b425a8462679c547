using ConsentHub.Clusters;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Rights;
using ConsentHub.Subscriptions;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// Finding a customer record: by its source ids, or by an email address or phone number through the blind indexes (the
/// address is posted, never put in a URL, and the answer lists the records that carry it, never a list of people).
/// A record's page shows its consolidated data, its cluster, its changes with their ledger entries and the messages
/// sent to its system. Every query starts from the operator's organisations (<see cref="Operator.Customers"/>): a
/// record outside them is answered exactly as one that does not exist.
/// </summary>
public static class CustomerPages
{
    public const string SearchPath = ConsoleSetup.BasePath + "/customers";

    /// <summary>At most this many records are listed for one search; the page says when there are more.</summary>
    public const int MaxFound = 50;

    /// <summary>A record's page lists its latest changes and messages, up to this many of each.</summary>
    public const int MaxShown = 100;

    public static string RecordPath(long id) => $"{SearchPath}/{id}";

    public static IEndpointRouteBuilder MapCustomerPages(this IEndpointRouteBuilder app)
    {
        app.MapGet(SearchPath, ShowSearch).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        app.MapPost(SearchPath, SearchAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapGet(SearchPath + "/{id:long}", RecordAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        app.MapPost(SearchPath + "/{id:long}/verify", VerifyAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    static IResult ShowSearch(HttpContext http, IAntiforgery antiforgery)
    {
        var who = Operator.From(http.User);
        return Page(StatusCodes.Status200OK, CustomerHtml.Search(who, ConsolePages.SignedIn(http, antiforgery, who), new SearchForm(), found: null, errors: []));
    }

    static async Task<IResult> SearchAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, BlindIndex blindIndex, CancellationToken ct)
    {
        var who = Operator.From(http.User);
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return Page(StatusCodes.Status400BadRequest, CustomerHtml.Search(who, ConsolePages.SignedIn(http, antiforgery, who), new SearchForm(), null,
                [new("form", "antiforgery", "Nothing was searched: the form had expired or was not sent from this page. Please try again.")]));
        var posted = await http.Request.ReadFormAsync(ct);
        string? Field(string name) => posted[name].ToString() is { Length: > 0 } value ? value.Trim() : null;
        var form = new SearchForm(Field("email"), Field("phone"), Field("country"), Field("nmsc"), Field("context"), Field("sourceSystem"),
            Field("sourceCustomerId"));

        var (criterion, violations) = PersonMatch.Parse(new PersonInput
        {
            Email = form.Email, Phone = form.Phone, Country = form.Country, Context = form.Context, SourceSystem = form.SourceSystem,
            SourceCustomerId = form.SourceCustomerId,
        }, blindIndex);
        // A record is named within an organisation: a DPO's own, else the one the form gives.
        var nmsc = who.Role == Auth.Roles.Dpo ? who.Nmsc : form.Nmsc is { } given ? Names.Normalise(given) : null;
        if (criterion is { Kind: PersonCriteria.Record } && nmsc is null)
            violations.Add(new("nmsc", "required", "organisation is required with context, source system and source customer id."));
        if (criterion is null || violations.Count > 0)
            return Page(StatusCodes.Status400BadRequest, CustomerHtml.Search(who, ConsolePages.SignedIn(http, antiforgery, who), form, null, violations));

        // An address or number is looked for in all the operator's organisations; source ids in the one named.
        var inScope = who.Customers(db).AsNoTracking();
        var records = PersonMatch.Carrying(criterion.Kind == PersonCriteria.Record ? inScope.Where(c => c.Nmsc == nmsc) : inScope, criterion);
        var found = await records.OrderBy(c => c.Nmsc).ThenBy(c => c.Context).ThenBy(c => c.SourceSystem).ThenBy(c => c.SourceCustomerId)
            .Take(MaxFound + 1).ToListAsync(ct);
        return Page(StatusCodes.Status200OK, CustomerHtml.Search(who, ConsolePages.SignedIn(http, antiforgery, who), form, found, []));
    }

    static Task<IResult> RecordAsync(long id, HttpContext http, IAntiforgery antiforgery, ConsentDb db, PersonKeys keys, CancellationToken ct) =>
        RecordPageAsync(id, http, antiforgery, db, keys, checkpoints: null, verifierKey: null, ct);

    /// <summary>
    /// The record page's "Verify ledger entries" button: the inclusion proofs of its changes' entries, as
    /// <c>?proof=true</c> gives them to anyone, checked against the signed checkpoint (<see cref="EntryVerification"/>).
    /// </summary>
    static async Task<IResult> VerifyAsync(
        long id, HttpContext http, IAntiforgery antiforgery, ConsentDb db, PersonKeys keys, Checkpoints checkpoints, CheckpointKey key, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return await RecordPageAsync(id, http, antiforgery, db, keys, null, null, ct, StatusCodes.Status400BadRequest,
                "Nothing was verified: the form had expired or was not sent from this page. Please try again.");
        return await RecordPageAsync(id, http, antiforgery, db, keys, checkpoints, key.VerifierKey, ct);
    }

    static async Task<IResult> RecordPageAsync(
        long id, HttpContext http, IAntiforgery antiforgery, ConsentDb db, PersonKeys keys, Checkpoints? checkpoints, string? verifierKey,
        CancellationToken ct, int status = StatusCodes.Status200OK, string? error = null)
    {
        var who = Operator.From(http.User);
        var signedIn = ConsolePages.SignedIn(http, antiforgery, who);
        var customer = await who.Customers(db).AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, ct);
        if (customer is null) return Page(StatusCodes.Status404NotFound, CustomerHtml.NotFound(signedIn));

        var current = await CurrentSubscriptionData.ReadAsync(db, keys, customer.Nmsc, customer.Context, customer.SourceSystem, customer.SourceCustomerId, ct);
        var record = RecordKey.Of(customer);
        var clusterId = await ClusterMembership.ClusterIdAsync(db, customer.Nmsc, record, ct);
        var cluster = clusterId is null ? [] : await ClusterMembership.MembersAsync(db, customer.Nmsc, clusterId, context: null, ct);
        var changes = await db.ChangeRequests.AsNoTracking().Where(r => r.CustomerId == customer.Id)
            .OrderByDescending(r => r.Sequence).Take(MaxShown).ToListAsync(ct);
        var messages = await db.Propagations.AsNoTracking()
            .Where(p => p.SourceSystemId == customer.SourceSystemId && p.SourceCustomerId == customer.SourceCustomerId)
            .OrderByDescending(p => p.LedgerIndex).ThenByDescending(p => p.Position).Take(MaxShown).ToListAsync(ct);
        VerificationReport? report = null;
        if (checkpoints is not null && verifierKey is not null && changes.Count > 0)
        {
            // The entries the page lists: each change's change-requested entry and its outcome's.
            var indices = changes.Select(r => r.Sequence).Concat(changes.Select(r => r.OutcomeLedgerIndex).OfType<long>()).Distinct().Order().ToList();
            report = EntryVerification.Check(await SubscriptionDataApi.ProveAsync(db, checkpoints, indices, ct), verifierKey);
        }
        return Page(status, CustomerHtml.Record(signedIn, customer, current, clusterId, cluster, changes, messages, report, error));
    }

    static HtmlPage Page(int status, string html) => new(status, html, ConsoleHtml.ContentSecurityPolicy);
}

/// <summary>What the search form was given, shown again with the answer (empty fields are null).</summary>
public sealed record SearchForm(
    string? Email = null, string? Phone = null, string? Country = null, string? Nmsc = null, string? Context = null, string? SourceSystem = null,
    string? SourceCustomerId = null);
