using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ConsentHub.Hosting;

/// <summary>
/// Where people reach the hub (<c>ConsentHub:Validation:PublicBaseUrl</c>, the start of every link in an email). Unset,
/// it is the first address the server listens on, so a hub started on another port still sends working links. Set, it
/// is checked against the addresses the server listens on, and a mismatch is logged at start: behind a proxy that is
/// expected, on a plain start it means the links lead nowhere.
/// </summary>
public static class PublicAddress
{
    const string Key = PublicAddressOptions.Section + ":PublicBaseUrl";

    static bool Configured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[Key]);

    public static IServiceCollection AddPublicAddress(this IServiceCollection services)
    {
        // Before the server has bound: the configured listening addresses (Urls, --urls, ASPNETCORE_URLS, HTTP_PORTS).
        services.AddOptions<PublicAddressOptions>().BindConfiguration(PublicAddressOptions.Section).ValidateDataAnnotations().ValidateOnStart()
            .PostConfigure<IConfiguration>((o, configuration) =>
        {
            if (!Configured(configuration) && ConfiguredAddresses(configuration).FirstOrDefault() is { } first) o.PublicBaseUrl = Reachable(first);
        });
        return services;
    }

    public static WebApplication UsePublicAddress(this WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var listening = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
            if (listening.Count == 0) return; // an in-memory test server listens nowhere
            var options = app.Services.GetRequiredService<IOptions<PublicAddressOptions>>().Value;
            if (!Configured(app.Configuration))
            {
                // The addresses actually bound (a port 0 has become a real one): the options object is shared, so the
                // links sent from now on use it.
                options.PublicBaseUrl = Reachable(listening[0]);
                return;
            }
            if (!Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var publicUri)) return;
            if (!listening.Any(address => Serves(address, publicUri)))
                app.Logger.LogWarning(
                    "{Setting} is {PublicBaseUrl}, but the server listens on {Addresses}: links in validation emails will not reach this server unless a proxy forwards that address to it",
                    Key, options.PublicBaseUrl, string.Join(", ", listening));
        });
        return app;
    }

    static IEnumerable<string> ConfiguredAddresses(IConfiguration configuration)
    {
        foreach (var url in (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            yield return url;
        foreach (var port in (configuration["http_ports"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            yield return $"http://localhost:{port}";
    }

    /// <summary>A listening address as a person's browser on this machine would type it: wildcards become localhost.</summary>
    static string Reachable(string address)
    {
        var wildcard = address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal);
        if (!Uri.TryCreate(wildcard, UriKind.Absolute, out var uri)) return address.TrimEnd('/');
        var host = uri.Host is "0.0.0.0" or "[::]" or "::" ? "localhost" : uri.Host;
        return new UriBuilder(uri.Scheme, host, uri.Port).Uri.GetLeftPart(UriPartial.Authority);
    }

    static bool Serves(string listening, Uri publicUri)
    {
        if (!Uri.TryCreate(listening.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal),
                UriKind.Absolute, out var bound))
            return false;
        if (bound.Port != publicUri.Port || bound.Scheme != publicUri.Scheme) return false;
        if (bound.Host is "0.0.0.0" or "[::]" or "::") return true;
        static bool Loopback(string host) => host is "localhost" or "127.0.0.1" or "[::1]" or "::1";
        return string.Equals(bound.Host, publicUri.Host, StringComparison.OrdinalIgnoreCase) || (Loopback(bound.Host) && Loopback(publicUri.Host));
    }
}

/// <summary>
/// Where people reach the hub: the start of every link the hub sends (validation, reminder and event links) and the
/// issuer of its tokens when none is set. Its key stays under the validation section, where it was first documented.
/// </summary>
public sealed class PublicAddressOptions
{
    public const string Section = "ConsentHub:Validation";

    [Required, Url]
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";
}
