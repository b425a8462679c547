using System.Text.RegularExpressions;

namespace ConsentHub.Hosting;

/// <summary>
/// Seed 004 §5.1: the API version travels in the <c>version</c> query parameter; absent means the latest,
/// an unsupported one is refused. Every response names the supported versions.
/// </summary>
public static partial class ApiVersioning
{
    public const string Current = "1.0";
    public const string Header = "api-supported-versions";

    // 1, 1.0 and 1.0.x all denote the current major.minor.
    [GeneratedRegex(@"^1(\.0(\.\d{1,4})?)?$")]
    private static partial Regex SupportedVersion();

    /// <summary>Whether a version string (query parameter or destination payload version) denotes a supported version.</summary>
    public static bool IsSupported(string version) => SupportedVersion().IsMatch(version);

    public static IApplicationBuilder UseApiVersioning(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        http.Response.Headers[Header] = Current;
        if (http.Request.Query.TryGetValue("version", out var values) && (values.Count != 1 || !SupportedVersion().IsMatch(values.ToString())))
        {
            await Problems.Invalid("version", "unsupported-version",
                $"API version '{values}' is not supported; supported: {Current}. Leave version out for the latest.").ExecuteAsync(http);
            return;
        }
        await next(http);
    });
}
