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

    /// <summary>What the page's header says of the operator's reach.</summary>
    public string Reach => Role switch
    {
        Roles.Admin => "administrator, every organisation",
        Roles.HeadOfficeDpo => $"head-office DPO, every organisation in the context {Context}",
        Roles.Dpo => $"DPO of the organisation {Nmsc} in the context {Context}",
        _ => "no organisation",
    };

    public IQueryable<SourceSystem> SourceSystems(ConsentDb db) => Role switch
    {
        Roles.Admin => db.SourceSystems,
        Roles.HeadOfficeDpo => db.SourceSystems.Where(s => s.Context == Context),
        Roles.Dpo => db.SourceSystems.Where(s => s.Nmsc == Nmsc && s.Context == Context),
        _ => db.SourceSystems.Where(_ => false),
    };

    public IQueryable<Consents.Customer> Customers(ConsentDb db) => Role switch
    {
        Roles.Admin => db.Customers,
        Roles.HeadOfficeDpo => db.Customers.Where(c => c.Context == Context),
        Roles.Dpo => db.Customers.Where(c => c.Nmsc == Nmsc && c.Context == Context),
        _ => db.Customers.Where(_ => false),
    };

    public IQueryable<ActivityHour> Activity(ConsentDb db) => Role switch
    {
        Roles.Admin => db.ActivityHours,
        Roles.HeadOfficeDpo => db.ActivityHours.Where(h => h.Context == Context),
        Roles.Dpo => db.ActivityHours.Where(h => h.Nmsc == Nmsc && h.Context == Context),
        _ => db.ActivityHours.Where(_ => false),
    };

    public IQueryable<Bulk.Upload> Uploads(ConsentDb db) => Role switch
    {
        Roles.Admin => db.Uploads,
        Roles.HeadOfficeDpo => db.Uploads.Where(u => u.Context == Context),
        Roles.Dpo => db.Uploads.Where(u => u.Nmsc == Nmsc && u.Context == Context),
        _ => db.Uploads.Where(_ => false),
    };

    public IQueryable<Notification> Notifications(ConsentDb db) => Role switch
    {
        Roles.Admin => db.Notifications,
        Roles.HeadOfficeDpo => db.Notifications.Where(n => n.Context == Context),
        Roles.Dpo => db.Notifications.Where(n => n.Nmsc == Nmsc && n.Context == Context),
        _ => db.Notifications.Where(_ => false),
    };

    public IQueryable<ValidationRequest> Validations(ConsentDb db) => Role switch
    {
        Roles.Admin => db.Validations,
        Roles.HeadOfficeDpo => db.Validations.Where(v => v.Context == Context),
        Roles.Dpo => db.Validations.Where(v => v.Nmsc == Nmsc && v.Context == Context),
        _ => db.Validations.Where(_ => false),
    };
}
