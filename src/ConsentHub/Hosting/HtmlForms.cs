using Microsoft.AspNetCore.Antiforgery;

namespace ConsentHub.Hosting;

/// <summary>The checks every HTML form post of the hub makes before it reads a field, and the sign-in form its pages share.</summary>
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

    static readonly System.Text.Encodings.Web.HtmlEncoder Html = System.Text.Encodings.Web.HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    /// <summary>
    /// The password sign-in form of the hub's pages (the console and the DPO pages): username and password posted to
    /// <paramref name="action"/> with the antiforgery token; after a refusal the username is kept and the password field
    /// takes the focus, and both fields point at the error's paragraph (id <c>login-error</c>), which the page shows.
    /// </summary>
    public static string SignIn(string action, string antiforgeryFieldName, string antiforgeryToken, string? error, string? username, string? formClass = null)
    {
        var described = error is null ? "" : " aria-describedby=\"login-error\"";
        return $"""
            {(error is null ? "" : $"""<p class="error" role="alert" id="login-error">{Html.Encode(error)}</p>""")}
            <form method="post" action="{action}"{(formClass is null ? "" : $" class=\"{formClass}\"")}>
            <input type="hidden" name="{Html.Encode(antiforgeryFieldName)}" value="{Html.Encode(antiforgeryToken)}">
            <label for="username">Username</label>
            <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="100" value="{Html.Encode(username ?? "")}"{described}{(username is null ? " autofocus" : "")}>
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required{described}{(username is null ? "" : " autofocus")}>
            <button type="submit">Sign in</button>
            </form>
            """;
    }
}
