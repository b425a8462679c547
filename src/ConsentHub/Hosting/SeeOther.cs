namespace ConsentHub.Hosting;

/// <summary>
/// 303 See Other with no-store: the answer to an HTML form post. The browser follows with a GET, and a reload does not
/// send the form again.
/// </summary>
public sealed class SeeOther(string location) : IResult
{
    public Task ExecuteAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status303SeeOther;
        http.Response.Headers.Location = location;
        http.Response.Headers.CacheControl = "no-store";
        return Task.CompletedTask;
    }
}
