using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ConsentHub.Auth;

/// <summary>Someone who signs in with a username and password: the admin, or a source system's technical user.</summary>
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
}

sealed class AuthConfiguration : IEntityTypeConfiguration<HubUser>, IEntityTypeConfiguration<ServerKey>
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
    }

    public void Configure(EntityTypeBuilder<ServerKey> b)
    {
        b.ToTable("server_keys");
        b.HasKey(k => k.Name);
        b.Property(k => k.Name).HasMaxLength(64);
    }
}
