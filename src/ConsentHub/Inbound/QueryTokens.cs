using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace ConsentHub.Inbound;

/// <summary>The static token an event source sent as <c>?token=</c>, taken off the request's query before anything saw it.</summary>
public sealed record QueryTokenFeature(string? Token);

/// <summary>
/// Seed 001 lets an event source put its static token in the query (<c>POST /events/{nmsc}/{eventTypeId}?token=…</c>).
/// A query reaches request logs ("Request starting … ?token=…"), traces and error pages, so on those routes the token is
/// taken off the request as it is created, before the host logs it: the query then reads <c>token=REDACTED</c> everywhere,
/// and the handler finds the token in <see cref="QueryTokenFeature"/>.
/// </summary>
sealed class QueryTokenRedaction(IServiceProvider services) : IHttpContextFactory
{
    public const string Parameter = "token";
    public const string Redacted = "REDACTED";
    const string RoutePrefix = "/events/";

    readonly DefaultHttpContextFactory inner = new(services);

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        Redact(featureCollection);
        return inner.Create(featureCollection);
    }

    public void Dispose(HttpContext httpContext) => inner.Dispose(httpContext);

    /// <summary>Takes the token parameter off an event route's query into <see cref="QueryTokenFeature"/>.</summary>
    public static void Redact(IFeatureCollection features)
    {
        if (features.Get<IHttpRequestFeature>() is not { } request) return;
        string? token = null;
        if (request.Path.StartsWith(RoutePrefix, StringComparison.OrdinalIgnoreCase) && request.QueryString.Length > 1)
        {
            var (query, taken) = Without(request.QueryString);
            if (taken is not null)
            {
                token = taken;
                request.QueryString = query;
                var rawPath = request.RawTarget.Split('?', 2)[0];
                request.RawTarget = rawPath + query;
            }
        }
        // Set on every request: a connection's feature collection may serve the next request too.
        features.Set(new QueryTokenFeature(token));
    }

    /// <summary>The query with each token parameter's value replaced, and the first token's value.</summary>
    static (string Query, string? Token) Without(string query)
    {
        string? token = null;
        var kept = new StringBuilder();
        foreach (var part in query.TrimStart('?').Split('&'))
        {
            if (kept.Length > 0) kept.Append('&');
            var equals = part.IndexOf('=');
            var name = Uri.UnescapeDataString((equals < 0 ? part : part[..equals]).Replace('+', ' '));
            if (name == Parameter)
            {
                token ??= equals < 0 ? "" : Uri.UnescapeDataString(part[(equals + 1)..].Replace('+', ' '));
                kept.Append(Parameter).Append('=').Append(Redacted);
            }
            else
            {
                kept.Append(part);
            }
        }
        return ("?" + kept, token);
    }
}
