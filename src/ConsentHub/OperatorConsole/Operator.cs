using System.Linq.Expressions;
using System.Security.Claims;
using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Tenancy;
using ConsentHub.Validation;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// Who is signed in to the console and what they see. The admin sees every organisation. A DPO sees what the DPO pages
/// let them export: an organisation DPO their organisation within the context of their role, a head-office DPO every
/// organisation within that context. Every query of the console starts from these sets, so no page can show more.
/// </summary>
public sealed record Operator(string Username, string Role, string? Context, string? Nmsc)
{
    /// <summary>The roles that may sign in to the console.</summary>
    public static bool MaySignIn(string role) => role == Roles.Admin || Roles.IsDpo(role);

    public static Operator From(ClaimsPrincipal user) => new(
        user.FindFirstValue("sub") ?? "",
        user.FindFirstValue(HubClaims.Role) ?? "",
        user.FindFirstValue(HubClaims.Context),
        user.FindFirstValue(HubClaims.Nmsc));

    /// <summary>
    /// Whether the console offers this operator the destinations' buttons: the destination API lets only the admin (and
    /// each source system itself) act on a destination, and decides again when a button is pressed.
    /// </summary>
    public bool MayManageDestinations => Role == Roles.Admin;

    /// <summary>The organisations the operator sees, in words: "every organisation", "the organisation … in the context …".</summary>
    public string Scope => Role switch
    {
        Roles.Admin => "every organisation",
        Roles.HeadOfficeDpo => $"every organisation in the context {Context}",
        Roles.Dpo => $"the organisation {Nmsc} in the context {Context}",
        _ => "no organisation",
    };

    /// <summary>What the page's header says of the operator's reach: their role and <see cref="Scope"/>.</summary>
    public string Reach => Role switch
    {
        Roles.Admin => $"administrator, {Scope}",
        Roles.HeadOfficeDpo => $"head-office DPO, {Scope}",
        Roles.Dpo => $"DPO of {Scope}",
        _ => Scope,
    };

    public IQueryable<SourceSystem> SourceSystems(ConsentDb db) => InScope(db.SourceSystems, s => s.Nmsc, s => s.Context);

    public IQueryable<Consents.Customer> Customers(ConsentDb db) => InScope(db.Customers, c => c.Nmsc, c => c.Context);

    public IQueryable<ActivityHour> Activity(ConsentDb db) => InScope(db.ActivityHours, h => h.Nmsc, h => h.Context);

    public IQueryable<Bulk.Upload> Uploads(ConsentDb db) => InScope(db.Uploads, u => u.Nmsc, u => u.Context);

    public IQueryable<Notification> Notifications(ConsentDb db) => InScope(db.Notifications, n => n.Nmsc, n => n.Context);

    public IQueryable<ValidationRequest> Validations(ConsentDb db) => InScope(db.Validations, v => v.Nmsc, v => v.Context);

    /// <summary>
    /// The rows of a table kept per organisation alone (extracts, suppression files, pollers, CDC, replicas): all for the
    /// admin, the organisation's for a DPO, and for a head-office DPO those of the organisations with a source system in
    /// their context (the organisations they see on the tenancy page).
    /// </summary>
    public IQueryable<T> OfOrganisations<T>(IQueryable<T> rows, ConsentDb db, Expression<Func<T, string>> nmsc) => Role switch
    {
        Roles.Admin => rows,
        Roles.HeadOfficeDpo => rows.Where(Among(nmsc, SourceSystems(db).Select(s => s.Nmsc))),
        Roles.Dpo => rows.Where(Is(nmsc, Nmsc)),
        _ => rows.Where(_ => false),
    };

    /// <summary><c>row => organisations.Contains(member(row))</c>, one query with the rows.</summary>
    static Expression<Func<T, bool>> Among<T>(Expression<Func<T, string>> member, IQueryable<string> organisations) =>
        Expression.Lambda<Func<T, bool>>(
            Expression.Call(typeof(Queryable), nameof(Queryable.Contains), [typeof(string)], organisations.Expression, member.Body), member.Parameters);

    /// <summary>
    /// The rows of the operator's organisations, given where a row keeps its organisation and its context: all for the
    /// admin, the context's for a head-office DPO, the organisation's within the context for a DPO, none for anyone else.
    /// </summary>
    IQueryable<T> InScope<T>(IQueryable<T> rows, Expression<Func<T, string>> nmsc, Expression<Func<T, string>> context) => Role switch
    {
        Roles.Admin => rows,
        Roles.HeadOfficeDpo => rows.Where(Is(context, Context)),
        Roles.Dpo => rows.Where(Is(nmsc, Nmsc)).Where(Is(context, Context)),
        _ => rows.Where(_ => false),
    };

    /// <summary><c>row => member(row) == value</c>, the value a query parameter (read from a closure, as a lambda's would be).</summary>
    static Expression<Func<T, bool>> Is<T>(Expression<Func<T, string>> member, string? value)
    {
        var holder = new ValueHolder(value);
        return Expression.Lambda<Func<T, bool>>(
            Expression.Equal(member.Body, Expression.Property(Expression.Constant(holder), nameof(ValueHolder.Value))), member.Parameters);
    }

    sealed record ValueHolder(string? Value);
}
