using ConsentHub.Data;
using Microsoft.EntityFrameworkCore;

namespace ConsentHub.OptOut;

/// <summary>One identifier of the industry pool: its kind and hash, with no trace of who contributed it.</summary>
public sealed record PooledIdentifier
{
    // Built by member initialisation in the query: EF Core translates a union (and a Where after it) of such projections,
    // but not of constructor calls.
    public PooledIdentifier() { }

    public PooledIdentifier(string kind, string sha256) => (Kind, Sha256) = (kind, sha256);

    public string Kind { get; init; } = "";
    public string Sha256 { get; init; } = "";
}

/// <summary>
/// The industry-wide opt-outs: every external provider's list, and the suppression entries in force of every
/// organisation whose data sharing agreement is in force, as hashes only. It is read, never copied: a member that
/// leaves takes its entries out with it, and no pool row could ever name the member an entry came from.
/// </summary>
public static class IndustryPool
{
    public static IQueryable<PooledIdentifier> Query(ConsentDb db) => Pool(db, exceptNmsc: null);

    /// <summary>
    /// The pool as one member sees it: every provider's list and the other members' entries. The member's own entries
    /// are its own list, so a check names them "own", not "industry".
    /// </summary>
    public static IQueryable<PooledIdentifier> QueryFor(ConsentDb db, string nmsc) => Pool(db, nmsc);

    static IQueryable<PooledIdentifier> Pool(ConsentDb db, string? exceptNmsc)
    {
        var members = db.DataSharingAgreements.Where(a => a.LeftAt == null && a.Nmsc != exceptNmsc).Select(a => a.Nmsc);
        var shared = db.SuppressionEntries
            .Where(e => e.SupersededAt == null && members.Contains(e.Nmsc))
            .Select(e => new PooledIdentifier { Kind = e.Kind, Sha256 = e.Sha256 });
        var provided = db.IndustryOptOuts.Select(o => new PooledIdentifier { Kind = o.Kind, Sha256 = o.Sha256 });
        return shared.Union(provided);
    }

    public static Task<bool> IsMemberAsync(ConsentDb db, string nmsc, CancellationToken ct) =>
        db.DataSharingAgreements.AnyAsync(a => a.Nmsc == nmsc && a.LeftAt == null, ct);
}
