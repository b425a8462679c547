using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using IPNetwork = System.Net.IPNetwork;
using Microsoft.Extensions.Options;

namespace ConsentHub.Hosting;

/// <summary>
/// The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto the hub believes. Without any, the headers are
/// ignored: anyone could otherwise claim a TLS connection or another client address.
/// </summary>
public sealed class ProxyOptions : IValidatableObject
{
    public const string Section = "ConsentHub:Proxies";

    /// <summary>Addresses of the proxies in front of the hub, e.g. 10.0.0.5.</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of the proxies in CIDR notation, e.g. 10.0.0.0/24.</summary>
    public string[] KnownNetworks { get; set; } = [];

    public bool Any => KnownProxies.Length > 0 || KnownNetworks.Length > 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var proxy in KnownProxies.Where(p => !IPAddress.TryParse(p, out _)))
            yield return new ValidationResult($"KnownProxies: '{proxy}' is not an IP address.", [nameof(KnownProxies)]);
        foreach (var network in KnownNetworks.Where(n => !IPNetwork.TryParse(n, out _)))
            yield return new ValidationResult($"KnownNetworks: '{network}' is not a network in CIDR notation, such as 10.0.0.0/24.", [nameof(KnownNetworks)]);
    }
}

/// <summary>
/// Headers every answer carries: no content sniffing, a content security policy (the pages set their own, stricter
/// ones), HSTS on HTTPS, and no Server header. Forwarded headers are honoured from the configured proxies only, so
/// behind a TLS proxy the request counts as HTTPS and cookies are marked Secure.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>JSON answers load nothing and are framed nowhere.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>
    /// The API reference (Scalar) runs its bundled scripts from the hub and starts them with one inline module; it
    /// reads the OpenAPI document and sends "try it" calls to the hub itself.
    /// </summary>
    public const string DocsPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    public const string Hsts = "max-age=31536000";

    public static IServiceCollection AddSecurityHeaders(this IServiceCollection services)
    {
        services.AddOptions<ProxyOptions>().BindConfiguration(ProxyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ProxyOptions>>((forwarded, proxies) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in proxies.Value.KnownProxies) forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            foreach (var network in proxies.Value.KnownNetworks) forwarded.KnownIPNetworks.Add(IPNetwork.Parse(network));
        });
        services.Configure<KestrelServerOptions>(o => o.AddServerHeader = false);
        return services;
    }

    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        // With no proxy configured the middleware would believe every sender, so it runs only when there are some.
        if (app.Services.GetRequiredService<IOptions<ProxyOptions>>().Value.Any) app.UseForwardedHeaders();
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
                    headers.ContentSecurityPolicy = http.Request.Path.StartsWithSegments("/docs") ? DocsPolicy : ApiPolicy;
                if (!headers.ContainsKey("Referrer-Policy")) headers["Referrer-Policy"] = "no-referrer";
                if (http.Request.IsHttps) headers.StrictTransportSecurity = Hsts;
                return Task.CompletedTask;
            });
            return next(http);
        });
        return app;
    }
}
