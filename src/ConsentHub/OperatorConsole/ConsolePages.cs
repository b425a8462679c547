using ConsentHub.Auth;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Ledger;
using ConsentHub.Propagation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ConsentHub.OperatorConsole;

/// <summary>
/// The console's sign-in, sign-out and overview. Sign-in takes the admin's or a DPO's username and password with the
/// lock-out every password sign-in has (<see cref="PasswordSignIn"/>); every form carries an antiforgery token, checked
/// in the handler so that a stale form gets a fresh page instead of a bare 400.
/// </summary>
public static class ConsolePages
{
    public const string LoginPath = ConsoleSetup.BasePath + "/login";
    public const string LogoutPath = ConsoleSetup.BasePath + "/logout";
    public const string RecoverPath = ConsoleSetup.BasePath + "/destinations/recover";
    public const string EnablePath = ConsoleSetup.BasePath + "/destinations/enable";

    /// <summary>How far back the recover button reaches: the failed calls the overview's day shows.</summary>
    public static readonly TimeSpan RecoverWindow = TimeSpan.FromHours(ActivityOverview.Hours);

    public static IEndpointRouteBuilder MapConsolePages(this IEndpointRouteBuilder app)
    {
        app.MapGet(ConsoleHtml.StylesheetPath, Stylesheet).AllowAnonymous().ExcludeFromDescription();
        app.MapGet(LoginPath, ShowLoginAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapPost(LoginPath, LoginAsync).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(LogoutPath, LogoutAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapGet(ConsoleSetup.BasePath, OverviewAsync).RequireAuthorization(ConsoleSetup.Policy).ExcludeFromDescription();
        app.MapPost(RecoverPath, RecoverAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(EnablePath, EnableAsync).RequireAuthorization(ConsoleSetup.Policy).DisableAntiforgery().ExcludeFromDescription();
        app.MapCustomerPages();
        app.MapLedgerPages();
        app.MapOperationsPages();
        app.MapTenancyPages();
        return app;
    }

    static IResult Stylesheet(HttpContext http)
    {
        http.Response.Headers.CacheControl = "public, max-age=3600";
        return Results.Text(ConsoleHtml.Stylesheet, "text/css; charset=utf-8");
    }

    static async Task<IResult> ShowLoginAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (await SignedInAsync(http)) return Results.Redirect(ConsoleSetup.BasePath);
        return LoginPage(http, antiforgery, StatusCodes.Status200OK, error: null, username: null);
    }

    static async Task<IResult> LoginAsync(HttpContext http, IAntiforgery antiforgery, PasswordSignIn signIn, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return LoginPage(http, antiforgery, StatusCodes.Status400BadRequest,
                "The form had expired or was not sent from this page. Please sign in again.", username: null);
        var form = await http.Request.ReadFormAsync(ct);
        var username = form["username"].ToString();
        var user = await signIn.CheckAsync(username, form["password"].ToString(), u => Operator.MaySignIn(u.Role), ct);
        if (user is null)
            return LoginPage(http, antiforgery, StatusCodes.Status400BadRequest, PasswordSignIn.Refused, username.Length <= 100 ? username : null);

        await http.SignInAsync(ConsoleSetup.Scheme, ConsoleSetup.Principal(user), new AuthenticationProperties { IsPersistent = false });
        // 303: the browser follows with a GET, and a reload does not post the password again.
        return new SeeOther(ConsoleSetup.BasePath);
    }

    static async Task<IResult> LogoutAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, TimeProvider time, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery))
            return await OverviewPageAsync(http, antiforgery, db, time, StatusCodes.Status400BadRequest, ct,
                "You are still signed in: the sign-out form had expired or was not sent from this page. Press Sign out again.");
        await http.SignOutAsync(ConsoleSetup.Scheme);
        return new SeeOther(LoginPath);
    }

    static Task<IResult> OverviewAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, TimeProvider time, CancellationToken ct) =>
        OverviewPageAsync(http, antiforgery, db, time, StatusCodes.Status200OK, ct);

    /// <summary>
    /// The overview's "Retry failed calls" button: the API's <c>POST …/destination/recover</c> handler, called with the
    /// operator's session in place of a token, so the same rules decide (only the admin acts on destinations) and the
    /// ledger names the operator. It reaches back over the overview's day.
    /// </summary>
    static async Task<IResult> RecoverAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, PropagationSignal signal, CancellationToken ct)
    {
        if (await DestinationFormAsync(http, antiforgery, ct) is not { } form)
            return await OverviewPageAsync(http, antiforgery, db, time, StatusCodes.Status400BadRequest, ct, ExpiredForm);
        var since = HubTime.Format(time.Now() - RecoverWindow);
        var result = await PropagationApi.RecoverAsync(form.Context, form.Nmsc, form.SourceSystem, since, http.User, db, ledger, time, signal, ct);
        return result is JsonHttpResult<RecoverView> { Value: { } recovered }
            ? await OverviewPageAsync(http, antiforgery, db, time, StatusCodes.Status200OK, ct, notice: recovered.Recovered == 0
                ? $"No failed message of {form.Name} was waiting: nothing to try again."
                : $"{recovered.Recovered} failed {(recovered.Recovered == 1 ? "message" : "messages")} of {form.Name} will be tried again now.")
            : await RefusedAsync(http, antiforgery, db, time, result, ct);
    }

    /// <summary>The "Enable" button of a disabled destination: the API's <c>POST …/destination/enable</c> handler, as <see cref="RecoverAsync"/>.</summary>
    static async Task<IResult> EnableAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, LedgerWriter ledger, TimeProvider time, PropagationSignal signal, CancellationToken ct)
    {
        if (await DestinationFormAsync(http, antiforgery, ct) is not { } form)
            return await OverviewPageAsync(http, antiforgery, db, time, StatusCodes.Status400BadRequest, ct, ExpiredForm);
        var result = await PropagationApi.EnableAsync(form.Context, form.Nmsc, form.SourceSystem, http.User, db, ledger, time, signal, ct);
        return result is JsonHttpResult<DestinationView>
            ? await OverviewPageAsync(http, antiforgery, db, time, StatusCodes.Status200OK, ct,
                notice: $"{form.Name} is enabled: its waiting messages are being delivered.")
            : await RefusedAsync(http, antiforgery, db, time, result, ct);
    }

    internal const string ExpiredForm = "Nothing was done: the form had expired or was not sent from this page. Please try again.";

    /// <summary>The destination a button names, from a form whose antiforgery token holds; null otherwise.</summary>
    internal static async Task<DestinationForm?> DestinationFormAsync(HttpContext http, IAntiforgery antiforgery, CancellationToken ct)
    {
        if (!await HtmlForms.IsValidPostAsync(http, antiforgery)) return null;
        var form = await http.Request.ReadFormAsync(ct);
        return new DestinationForm(form["context"].ToString(), form["nmsc"].ToString(), form["sourceSystem"].ToString());
    }

    /// <summary>A source system named by a destination's button, and its name as the console writes it.</summary>
    internal sealed record DestinationForm(string Context, string Nmsc, string SourceSystem)
    {
        public string Name => $"{Nmsc} / {Context} / {SourceSystem}";
    }

    /// <summary>The API's refusal, shown with the overview: its status, and its detail as the alert.</summary>
    static Task<IResult> RefusedAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, TimeProvider time, IResult result, CancellationToken ct) =>
        result is ProblemHttpResult problem
            ? OverviewPageAsync(http, antiforgery, db, time, problem.StatusCode, ct, problem.ProblemDetails.Detail ?? problem.ProblemDetails.Title)
            : throw new InvalidOperationException($"The destination API answered the console with {result.GetType().Name}.");

    static async Task<IResult> OverviewPageAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, TimeProvider time, int status, CancellationToken ct, string? error = null,
        string? notice = null)
    {
        var who = Operator.From(http.User);
        // The worker counts every few seconds; what it has not reached yet is counted here, one round at most, so
        // the page shows a change made a moment ago without ever taking long.
        var uncounted = await http.RequestServices.GetRequiredService<ActivityRollup>().CatchUpAsync(ct, ActivityRollup.DefaultBatch);
        var figures = await ActivityOverview.ReadAsync(db, who, time.Now(), ct);
        return new HtmlPage(status, ConsoleHtml.Overview(who, figures, uncounted, SignedIn(http, antiforgery, who), error, notice),
            ConsoleHtml.ContentSecurityPolicy);
    }

    internal static ConsoleHtml.SignedIn SignedIn(HttpContext http, IAntiforgery antiforgery, Operator who)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new ConsoleHtml.SignedIn(who.Username, tokens.FormFieldName, tokens.RequestToken!, SeesLedger: who.Role == Roles.Admin);
    }

    static IResult LoginPage(HttpContext http, IAntiforgery antiforgery, int status, string? error, string? username)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new HtmlPage(status, ConsoleHtml.Login(tokens.FormFieldName, tokens.RequestToken!, error, username), ConsoleHtml.ContentSecurityPolicy);
    }

    static async Task<bool> SignedInAsync(HttpContext http) => (await http.AuthenticateAsync(ConsoleSetup.Scheme)).Succeeded;
}
