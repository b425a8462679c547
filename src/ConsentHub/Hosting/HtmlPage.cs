namespace ConsentHub.Hosting;

/// <summary>
/// A server-rendered page of the hub (validation landing pages, DPO pages): never cached, never framed, no referrer,
/// no content sniffing, and only what <paramref name="contentSecurityPolicy"/> allows.
/// </summary>
public sealed class HtmlPage(int status, string html, string contentSecurityPolicy) : IResult
{
    public Task ExecuteAsync(HttpContext http)
    {
        Start(http.Response, status, contentSecurityPolicy);
        return http.Response.WriteAsync(html);
    }

    /// <summary>The status and headers of every page, for one written whole or streamed in parts.</summary>
    public static void Start(HttpResponse response, int status, string contentSecurityPolicy)
    {
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        var headers = response.Headers;
        headers.CacheControl = "no-store";
        // Validation links carry their token in the address: never send it to another site.
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = contentSecurityPolicy;
    }
}
