using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Tenancy;

/// <summary>A tenant (an NMSC). All synchronisation is scoped to one organisation.</summary>
public sealed class Organisation
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public string? Name { get; set; }
    /// <summary>How long a person has to confirm, per email (the reminder opens a second window as long).</summary>
    public int ValidationWindowHours { get; set; } = 24;
    /// <summary>How a cluster's records combine per category: <see cref="MergePolicies"/>.</summary>
    public string MergePolicy { get; set; } = MergePolicies.LatestWins;
    /// <summary>Link the organisation's records that share a normalised email into one cluster.</summary>
    public bool BuiltInMatching { get; set; }
    /// <summary>
    /// ISO 3166 alpha-2 region a phone number without '+' is read in when an opt-out names it (seed 002's samples are US
    /// numbers); null reads as <see cref="DefaultPhoneCountry"/>.
    /// </summary>
    public string? DefaultCountry { get; set; }
    public const string DefaultPhoneCountry = "US";
    /// <summary>Who confirms the double opt-ins of the opt-in interface (seed 003): <see cref="OptInConfirmations"/>.</summary>
    public string OptInConfirmation { get; set; } = OptInConfirmations.Partner;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class OptInConfirmations
{
    /// <summary>The partner front end emails the person and calls <c>?approval=true</c> after the click (the seed's model).</summary>
    public const string Partner = "partner";
    /// <summary>The hub emails the person itself through the validation pipeline; the click confirms the flow.</summary>
    public const string Hub = "hub";

    public static bool IsKnown(string value) => value is Partner or Hub;

    public const string Rule = "optInConfirmation is partner (the partner front end confirms double opt-ins) or hub (the hub emails the person).";
}

public static class MergePolicies
{
    /// <summary>The change with the latest requestedTimestamp wins, whichever record it was made on.</summary>
    public const string LatestWins = "latest-wins";
    /// <summary>A withdrawal (false) on any record of the cluster wins over a grant (true) of the same category.</summary>
    public const string MostRestrictive = "most-restrictive";

    public static bool IsKnown(string value) => value is LatestWins or MostRestrictive;
}

/// <summary>A brand or customer base inside the hub (toyota, lexus).</summary>
public sealed class ConsentContext
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public string? DisplayName { get; set; }
    public string? PrimaryColour { get; set; }
    public string? AccentColour { get; set; }
    public string? LogoUrl { get; set; }
    public string? SenderName { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A registered system of one organisation and one context that sends and receives subscription data.</summary>
public sealed class SourceSystem
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Context { get; set; }
    public required string Name { get; set; }
    public required string Username { get; set; }
    public required string ClientId { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>Set while the system is deactivated: it gets no token, and the tokens it holds are refused.</summary>
    public DateTime? DeactivatedAt { get; set; }
    public bool Active => DeactivatedAt is null;
    /// <summary>Carried by every token of the system; rotating its credentials or deactivating it changes it, so earlier tokens stop working.</summary>
    public string CredentialStamp { get; set; } = "";

    /// <summary>A copy of the row's values, detached from any context (what <see cref="TenancyCache"/> hands out).</summary>
    public SourceSystem Copy() => (SourceSystem)MemberwiseClone();
}

public enum CategoryKind
{
    /// <summary>A canonical or combined category the organisation does not offer.</summary>
    Hidden,
    /// <summary>An additional category local legislation requires (e.g. PROFILING).</summary>
    Local,
}

public sealed class OrganisationCategory
{
    public long Id { get; set; }
    public required string Nmsc { get; set; }
    public required string Code { get; set; }
    public CategoryKind Kind { get; set; }
    public string? Description { get; set; }
}

sealed class TenancyConfiguration :
    IEntityTypeConfiguration<Organisation>, IEntityTypeConfiguration<ConsentContext>,
    IEntityTypeConfiguration<SourceSystem>, IEntityTypeConfiguration<OrganisationCategory>
{
    public void Configure(EntityTypeBuilder<Organisation> b)
    {
        b.ToTable("organisations");
        b.HasIndex(o => o.Nmsc).IsUnique();
        b.Property(o => o.Nmsc).HasMaxLength(Names.MaxNameLength);
        b.Property(o => o.Name).HasMaxLength(200);
        b.Property(o => o.ValidationWindowHours).HasDefaultValue(24);
        b.Property(o => o.MergePolicy).HasMaxLength(32).HasDefaultValue(MergePolicies.LatestWins);
        b.Property(o => o.DefaultCountry).HasMaxLength(2);
        b.Property(o => o.OptInConfirmation).HasMaxLength(16).HasDefaultValue(OptInConfirmations.Partner);
    }

    public void Configure(EntityTypeBuilder<ConsentContext> b)
    {
        b.ToTable("contexts");
        b.HasIndex(c => c.Name).IsUnique();
        b.Property(c => c.Name).HasMaxLength(Names.MaxNameLength);
        b.Property(c => c.DisplayName).HasMaxLength(200);
        b.Property(c => c.PrimaryColour).HasMaxLength(7);
        b.Property(c => c.AccentColour).HasMaxLength(7);
        b.Property(c => c.LogoUrl).HasMaxLength(500);
        b.Property(c => c.SenderName).HasMaxLength(200);
    }

    public void Configure(EntityTypeBuilder<SourceSystem> b)
    {
        b.ToTable("source_systems");
        b.HasIndex(s => new { s.Nmsc, s.Context, s.Name }).IsUnique();
        b.HasIndex(s => s.ClientId).IsUnique();
        b.HasIndex(s => s.Username).IsUnique();
        b.Property(s => s.Nmsc).HasMaxLength(Names.MaxNameLength);
        b.Property(s => s.Context).HasMaxLength(Names.MaxNameLength);
        b.Property(s => s.Name).HasMaxLength(Names.MaxNameLength);
        b.Property(s => s.Username).HasMaxLength(100);
        b.Property(s => s.ClientId).HasMaxLength(100);
        b.Ignore(s => s.Active);
        b.Property(s => s.CredentialStamp).HasMaxLength(32).HasDefaultValue("");
    }

    public void Configure(EntityTypeBuilder<OrganisationCategory> b)
    {
        b.ToTable("organisation_categories");
        b.HasIndex(c => new { c.Nmsc, c.Code }).IsUnique();
        b.Property(c => c.Nmsc).HasMaxLength(Names.MaxNameLength);
        b.Property(c => c.Code).HasMaxLength(Names.MaxCategoryCodeLength);
        b.Property(c => c.Kind).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.Description).HasMaxLength(500);
    }
}
