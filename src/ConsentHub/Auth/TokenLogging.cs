using Microsoft.Extensions.Options;
using OpenIddict.Server;
using OpenIddict.Validation;

namespace ConsentHub.Auth;

/// <summary>
/// OpenIddict writes whole access tokens at Trace ("A new … JSON Web Token was successfully created: eyJ…",
/// "The token 'eyJ…' was successfully validated …"). Whatever the configuration says, its two dispatchers log at
/// Debug at most, so no log line ever holds a usable token. A configured level above Debug is kept as it is.
/// </summary>
sealed class KeepTokensOutOfLogs : IPostConfigureOptions<LoggerFilterOptions>
{
    static readonly string[] Categories =
        [typeof(OpenIddictServerDispatcher).FullName!, typeof(OpenIddictValidationDispatcher).FullName!];

    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        var providers = options.Rules.Select(r => r.ProviderName).Append(null).Distinct().ToList();
        foreach (var provider in providers)
        foreach (var category in Categories)
        {
            var current = Select(options.Rules, provider, category);
            var level = current is null ? options.MinLevel : current.LogLevel ?? LogLevel.Trace;
            // The most specific rule wins, and of equally specific ones the last: this one, added after all configuration.
            options.Rules.Add(new LoggerFilterRule(provider, category, level > LogLevel.Debug ? level : LogLevel.Debug, current?.Filter));
        }
    }

    /// <summary>The rule Microsoft.Extensions.Logging would apply to <paramref name="category"/> for <paramref name="provider"/>.</summary>
    static LoggerFilterRule? Select(IEnumerable<LoggerFilterRule> rules, string? provider, string category)
    {
        LoggerFilterRule? best = null;
        foreach (var rule in rules)
        {
            if (rule.ProviderName is not null && rule.ProviderName != provider) continue;
            if (!Matches(rule.CategoryName, category)) continue;
            if (best?.ProviderName is not null && rule.ProviderName is null) continue;
            if (best?.ProviderName is null && rule.ProviderName is not null) { best = rule; continue; }
            if (best?.CategoryName is not null && (rule.CategoryName is null || best.CategoryName.Length > rule.CategoryName.Length)) continue;
            best = rule;
        }
        return best;
    }

    static bool Matches(string? pattern, string category)
    {
        if (pattern is null) return true;
        var star = pattern.IndexOf('*');
        if (star < 0) return category.StartsWith(pattern, StringComparison.OrdinalIgnoreCase);
        var prefix = pattern[..star];
        var suffix = pattern[(star + 1)..];
        return category.Length >= prefix.Length + suffix.Length
            && category.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
            && category.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
    }
}
