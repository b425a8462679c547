using System.ComponentModel.DataAnnotations;

namespace ConsentHub.Data;

public sealed class DatabaseOptions
{
    public const string Section = "ConsentHub:Database";

    /// <summary>Sqlite (embedded default) or Postgres.</summary>
    [Required]
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;
}

public sealed class HubOptions
{
    public const string Section = "ConsentHub";

    /// <summary>Where the embedded database, mail drops and initial credentials live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";
}
