using System.Text.Json.Serialization;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;

namespace ConsentHub.Admin;

public sealed record OrganisationInput
{
    public string? Name { get; init; }
    /// <summary>Hours a person has to confirm each validation email (1 to 720); default 24.</summary>
    public int? ValidationWindowHours { get; init; }
    /// <summary>latest-wins (default) or most-restrictive: how a cluster's records combine.</summary>
    public string? MergePolicy { get; init; }
    /// <summary>Link records that share a normalised email into one cluster (default false).</summary>
    public bool? BuiltInMatching { get; init; }
    /// <summary>ISO 3166 alpha-2 country an opt-out's phone number without '+' is read in (default US).</summary>
    public string? DefaultCountry { get; init; }
    /// <summary>partner (default) or hub: who confirms the double opt-ins of the opt-in interface (seed 003).</summary>
    public string? OptInConfirmation { get; init; }
}

public sealed record ContextInput
{
    public string? DisplayName { get; init; }
}

public sealed record SourceSystemInput
{
    public string? Context { get; init; }
    public string? Nmsc { get; init; }
    public string? Name { get; init; }
}

public sealed record LocalCategoryInput
{
    public string? Code { get; init; }
    public string? Description { get; init; }
}

public sealed record CategoriesInput
{
    public List<string>? Hidden { get; init; }
    public List<LocalCategoryInput>? Local { get; init; }
}

public sealed record OrganisationView(
    string Nmsc, string? Name, int ValidationWindowHours, string MergePolicy, bool BuiltInMatching, string DefaultCountry, string OptInConfirmation,
    string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record ContextView(
    string Context, string? DisplayName, string CreatedAt, string UpdatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record SourceSystemView(
    long Id, string Context, string Nmsc, string Name, string Username, string ClientId, string CreatedAt,
    bool Active, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeactivatedAt,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

/// <summary>The only time the secrets are shown: they are stored hashed.</summary>
public sealed record SourceSystemCredentialsView(
    long Id, string Context, string Nmsc, string Name, string Username, string Password, string ClientId, string ClientSecret,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record SourceSystemList(
    int Count, IReadOnlyList<SourceSystemView> SourceSystems,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);

public sealed record LocalCategoryView(string Code, string? Description);

public sealed record CategoriesView(
    string Nmsc, IReadOnlyList<string> Hidden, IReadOnlyList<LocalCategoryView> Local, IReadOnlyList<string> Available,
    [property: JsonPropertyName("_links")] IReadOnlyDictionary<string, HalLink> Links);
