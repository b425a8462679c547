using System.Globalization;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace ConsentHub.Auth;

/// <summary>
/// At most <see cref="TokenOptions.RateLimitPermits"/> token requests per client address and window, per instance:
/// the lock-outs stop guessing one account, this slows spraying many. More get 429 with Retry-After.
/// </summary>
static class TokenRateLimit
{
    public const string Policy = "token-endpoint";

    public static IServiceCollection AddTokenRateLimit(this IServiceCollection services) => services.AddRateLimiter(o =>
    {
        o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        o.AddPolicy(Policy, http =>
        {
            var tokens = http.RequestServices.GetRequiredService<IOptions<TokenOptions>>().Value;
            return RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = tokens.RateLimitPermits,
                Window = TimeSpan.FromSeconds(tokens.RateLimitWindowSeconds),
                QueueLimit = 0,
            });
        });
        o.OnRejected = WriteRefusalAsync;
    });

    /// <summary>Problem details that an OAuth client also understands: error and error_description beside them.</summary>
    static async ValueTask WriteRefusalAsync(OnRejectedContext context, CancellationToken ct)
    {
        var response = context.HttpContext.Response;
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? (int)Math.Ceiling(retryAfter.TotalSeconds) : 1;
        response.Headers.RetryAfter = Math.Max(1, seconds).ToString(CultureInfo.InvariantCulture);
        response.ContentType = "application/problem+json";
        var detail = $"Too many token requests from this address; try again in {Math.Max(1, seconds)} s.";
        await response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["type"] = "https://consenthub.dev/problems/too-many-requests",
            ["title"] = "Too many requests.",
            ["status"] = StatusCodes.Status429TooManyRequests,
            ["detail"] = detail,
            ["error"] = "too_many_requests",
            ["error_description"] = detail,
        }), ct);
    }
}
