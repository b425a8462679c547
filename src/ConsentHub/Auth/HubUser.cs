using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Auth;

/// <summary>Someone who signs in with a username and password: the admin, a source system's technical user, or a DPO.</summary>
public sealed class HubUser
{
    public long Id { get; set; }
    public required string Username { get; set; }
    public required string PasswordHash { get; set; }
    public required string Role { get; set; }
    public string? Nmsc { get; set; }
    public string? Context { get; set; }
    public long? SourceSystemId { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>Failed sign-ins since the last success or lock-out (DPO login page); kept on the row so every instance counts.</summary>
    public int FailedLogins { get; set; }
    /// <summary>Until when the DPO login page and the token endpoint refuse this user, after too many failed sign-ins.</summary>
    public DateTime? LockedUntil { get; set; }
    /// <summary>The OAuth client of an organisation API user: it signs in this user only.</summary>
    public string? ClientId { get; set; }
    /// <summary>Carried by every token of this user; a new value makes the earlier tokens invalid (organisation API users).</summary>
    public string CredentialStamp { get; set; } = "";
}

/// <summary>Failed client authentications of one OAuth client at the token endpoint, counted where every instance sees them.</summary>
public sealed class ClientLockout
{
    public required string ClientId { get; set; }
    public int FailedAttempts { get; set; }
    public DateTime? LockedUntil { get; set; }
}

/// <summary>Key material the hub generates once and every instance shares (token signing).</summary>
public sealed class ServerKey
{
    public required string Name { get; set; }
    public required string Value { get; set; }
    public DateTime CreatedAt { get; set; }
}

public static class Roles
{
    public const string Admin = "admin";
    public const string SourceSystem = "source-system";
    /// <summary>An external system (the Consumer Domain) that feeds the clusters of one organisation.</summary>
    public const string ClusterFeed = "cluster-feed";
    /// <summary>An organisation's data protection officer: exports that organisation's validated consent of one context.</summary>
    public const string Dpo = "dpo";
    /// <summary>The head office's data protection officer: exports every organisation's validated consent of one context.</summary>
    public const string HeadOfficeDpo = "head-office-dpo";
    /// <summary>An organisation-level API user (seed 004 §5.5's NMSC_ROLE): reads every record of its organisation, writes none.</summary>
    public const string Organisation = "nmsc";
    /// <summary>A source system authenticated by an API key (<see cref="ApiKeyAuthentication"/>), on the routes that take keys only.</summary>
    public const string ApiKey = "api-key";

    public static bool IsDpo(string role) => role is Dpo or HeadOfficeDpo;
}

public static class Scopes
{
    public const string Read = "read";
    public const string Write = "write";
}

/// <summary>The claim types the hub puts in its access tokens.</summary>
public static class HubClaims
{
    public const string Role = "role";
    public const string Nmsc = "nmsc";
    public const string Context = "context";
    public const string SourceSystem = "source_system";
    /// <summary>The holder's credential stamp when the token was issued: a rotation or deactivation changes it.</summary>
    public const string CredentialStamp = "credential_stamp";
    /// <summary>Seed 004 §5.5's authorities (ADMIN_ROLE, NMSC_ROLE), for integrators that read them.</summary>
    public const string Authorities = "authorities";
}

sealed class AuthConfiguration : IEntityTypeConfiguration<HubUser>, IEntityTypeConfiguration<ServerKey>, IEntityTypeConfiguration<ClientLockout>
{
    public void Configure(EntityTypeBuilder<HubUser> b)
    {
        b.ToTable("users");
        b.HasIndex(u => u.Username).IsUnique();
        b.Property(u => u.Username).HasMaxLength(100);
        b.Property(u => u.PasswordHash).HasMaxLength(200);
        b.Property(u => u.Role).HasMaxLength(32);
        b.Property(u => u.Nmsc).HasMaxLength(64);
        b.Property(u => u.Context).HasMaxLength(64);
        b.Property(u => u.ClientId).HasMaxLength(100);
        b.HasIndex(u => u.ClientId).IsUnique();
        b.Property(u => u.CredentialStamp).HasMaxLength(32).HasDefaultValue("");
    }

    public void Configure(EntityTypeBuilder<ClientLockout> b)
    {
        b.ToTable("client_lockouts");
        b.HasKey(l => l.ClientId);
        b.Property(l => l.ClientId).HasMaxLength(100);
    }

    public void Configure(EntityTypeBuilder<ServerKey> b)
    {
        b.ToTable("server_keys");
        b.HasKey(k => k.Name);
        b.Property(k => k.Name).HasMaxLength(64);
    }
}
