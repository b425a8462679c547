using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace ConsentHub.Hosting;

/// <summary>
/// Seed 004 §5.1: the API version travels in the <c>version</c> query parameter; absent means the latest,
/// an unsupported one is refused. Versions are semantic: a minor release only adds, so this hub (1.1, the seed's own
/// version) answers every 1.x up to its own, with any patch or pre-release suffix. Every response names the supported
/// versions; a request naming a retired version is answered with <c>Deprecation</c> (RFC 9745) and <c>Sunset</c>
/// (RFC 8594) headers until its sunset, and refused after it.
/// </summary>
public static partial class ApiVersioning
{
    public const int Major = 1;
    public const int Minor = 1;
    public const string Current = "1.1";
    public const string Header = "api-supported-versions";

    /// <summary>Every major.minor this hub answers, oldest first.</summary>
    public static IReadOnlyList<string> Compatible { get; } = [.. Enumerable.Range(0, Minor + 1).Select(m => $"{Major}.{m}")];

    // 1 (the latest 1.x), 1.m, 1.m.p, and 1.m.p-prerelease (semver, e.g. the seed's 1.1.0-RC70).
    [GeneratedRegex(@"^(?<major>\d{1,4})(\.(?<minor>\d{1,4})(\.\d{1,4}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?$")]
    private static partial Regex VersionPattern();

    /// <summary>The major.minor a version string denotes when this hub answers it (<c>1</c> is the latest), else null.</summary>
    public static string? Normalise(string version)
    {
        var match = VersionPattern().Match(version);
        if (!match.Success || int.Parse(match.Groups["major"].Value, CultureInfo.InvariantCulture) != Major) return null;
        if (!match.Groups["minor"].Success) return Current;
        var minor = int.Parse(match.Groups["minor"].Value, CultureInfo.InvariantCulture);
        return minor <= Minor ? $"{Major}.{minor}" : null;
    }

    /// <summary>Whether a version string (query parameter or destination payload version) denotes a supported version.</summary>
    public static bool IsSupported(string version) => Normalise(version) is not null;

    public static IServiceCollection AddApiVersioning(this IServiceCollection services)
    {
        services.AddOptions<ApiVersionOptions>().BindConfiguration(ApiVersionOptions.Section)
            .Validate(o => o.RetiredVersions.All(r => Normalise(r.Version) is not null),
                $"{ApiVersionOptions.Section}:RetiredVersions: every Version must be one this hub answers ({string.Join(", ", Compatible)}).")
            .Validate(o => o.RetiredVersions.All(r => r.Sunset is null || r.Sunset >= r.Deprecated),
                $"{ApiVersionOptions.Section}:RetiredVersions: a Sunset may not come before its Deprecated date.")
            .ValidateOnStart();
        return services;
    }

    public static IApplicationBuilder UseApiVersioning(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<ApiVersionOptions>>().Value;
        var time = app.ApplicationServices.GetRequiredService<TimeProvider>();
        return app.Use(async (http, next) =>
        {
            var now = time.GetUtcNow();
            bool Sunset(string version) => options.Find(version) is { Sunset: { } sunset } && sunset <= now;
            var supported = Compatible.Where(v => !Sunset(v)).ToList();
            http.Response.Headers[Header] = string.Join(", ", supported);
            if (!http.Request.Query.TryGetValue("version", out var values)) { await next(http); return; }

            var version = values.Count == 1 ? Normalise(values.ToString()) : null;
            if (version is null || !supported.Contains(version))
            {
                var retired = version is null ? "" : $" It was retired on {HubTime.Format(options.Find(version)!.Sunset!.Value.UtcDateTime)}.";
                await Problems.Invalid("version", "unsupported-version",
                    $"API version '{values}' is not supported; supported: {string.Join(", ", supported)}.{retired} Leave version out for the latest.").ExecuteAsync(http);
                return;
            }
            if (options.Find(version) is { } deprecated)
            {
                // RFC 9745 §2.1: a structured-field date, Unix seconds. RFC 8594 §3: an HTTP date.
                http.Response.Headers["Deprecation"] = "@" + deprecated.Deprecated.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                if (deprecated.Sunset is { } sunset) http.Response.Headers["Sunset"] = sunset.UtcDateTime.ToString("R", CultureInfo.InvariantCulture);
                if (deprecated.Link is { Length: > 0 } link) http.Response.Headers.Append("Link", $"<{link}>; rel=\"deprecation\"; type=\"text/html\"");
            }
            await next(http);
        });
    }
}

/// <summary><c>ConsentHub:Api</c>: the versions announced as retired.</summary>
public sealed class ApiVersionOptions
{
    public const string Section = "ConsentHub:Api";

    public List<RetiredVersion> RetiredVersions { get; set; } = [];

    public RetiredVersion? Find(string majorMinor) => RetiredVersions.FirstOrDefault(r => ApiVersioning.Normalise(r.Version) == majorMinor);
}

/// <summary>A version being phased out (seed 004 §5: "on a predictable schedule"): deprecated from one instant, refused from its sunset.</summary>
public sealed class RetiredVersion
{
    public string Version { get; set; } = "";
    public DateTimeOffset Deprecated { get; set; }
    public DateTimeOffset? Sunset { get; set; }
    /// <summary>Where the deprecation and the migration are explained (sent as <c>Link: …; rel="deprecation"</c>).</summary>
    public string? Link { get; set; }
}
