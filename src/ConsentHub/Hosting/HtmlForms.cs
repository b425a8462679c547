using Microsoft.AspNetCore.Antiforgery;

namespace ConsentHub.Hosting;

/// <summary>The checks every HTML form post of the hub makes before it reads a field.</summary>
public static class HtmlForms
{
    /// <summary>
    /// True when the request is a form that carries a valid antiforgery token. A body that is not a readable form (a
    /// broken multipart boundary, a field over the form reader's limits, bytes that end early) is the client's error, so
    /// it is false like a missing token, never an exception: the antiforgery check reads the whole form to find its field.
    /// </summary>
    public static async Task<bool> IsValidPostAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (!http.Request.HasFormContentType) return false;
        try
        {
            return await antiforgery.IsRequestValidAsync(http);
        }
        catch (Exception e) when (e is AntiforgeryValidationException or InvalidDataException or BadHttpRequestException
            || (e is IOException && !http.RequestAborted.IsCancellationRequested))
        {
            return false;
        }
    }
}
