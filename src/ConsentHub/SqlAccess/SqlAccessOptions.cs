using System.ComponentModel.DataAnnotations;

namespace ConsentHub.SqlAccess;

/// <summary>
/// Where a granted reader reaches PostgreSQL, when that differs from what the hub's own connection string says (a
/// private host name, a pooler, another port). Each one left empty is taken from the hub's connection string.
/// </summary>
public sealed class SqlAccessOptions
{
    public const string Section = "ConsentHub:SqlAccess";

    [MaxLength(255)]
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int? Port { get; set; }

    [MaxLength(63)]
    public string? Database { get; set; }
}
