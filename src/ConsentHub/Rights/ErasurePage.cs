using System.Text;
using ConsentHub.Auth;
using ConsentHub.Bulk;
using ConsentHub.Consents;
using ConsentHub.Data;
using ConsentHub.Hosting;
using ConsentHub.Tenancy;
using Microsoft.AspNetCore.Antiforgery;

namespace ConsentHub.Rights;

/// <summary>
/// The DPO's "Erase a person" page, in the DPO's browser session: a form naming the person, a confirmation page that
/// says how many records will be erased, and the result. Plain HTML without JavaScript, every form with an antiforgery token.
/// </summary>
public static class ErasurePage
{
    public const string Path = "/dpo/erasure";
    const string Review = "review";
    const string Erase = "erase";

    public static IEndpointRouteBuilder MapErasurePage(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, ShowAsync).RequireAuthorization(BulkSetup.DpoPolicy).ExcludeFromDescription();
        // Antiforgery is checked in the handler, so that a stale form gets the page again with a message instead of a bare 400.
        app.MapPost(Path, PostAsync).RequireAuthorization(BulkSetup.DpoPolicy).DisableAntiforgery().ExcludeFromDescription();
        return app;
    }

    sealed record Form(string Nmsc, string Email, string Phone, string Context, string SourceSystem, string SourceCustomerId);

    static async Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery, ConsentDb db, CancellationToken ct)
    {
        var dpo = DpoIdentity.From(http.User);
        return FormPage(http, antiforgery, dpo, await DpoAccess.OrganisationsAsync(db, dpo, ct),
            new Form(dpo.Nmsc ?? "", "", "", dpo.Context, "", ""), StatusCodes.Status200OK, error: null);
    }

    static async Task<IResult> PostAsync(
        HttpContext http, IAntiforgery antiforgery, ConsentDb db, BlindIndex blindIndex, Erasures erasures, CancellationToken ct)
    {
        var dpo = DpoIdentity.From(http.User);
        var organisations = await DpoAccess.OrganisationsAsync(db, dpo, ct);
        var empty = new Form(dpo.Nmsc ?? "", "", "", dpo.Context, "", "");
        if (!http.Request.HasFormContentType)
            return FormPage(http, antiforgery, dpo, organisations, empty, StatusCodes.Status400BadRequest, "The form was not sent from this page. Please fill it in again.");
        IFormCollection fields;
        try
        {
            fields = await http.Request.ReadFormAsync(ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return FormPage(http, antiforgery, dpo, organisations, empty, StatusCodes.Status400BadRequest, "The form could not be read. Please fill it in again.");
        }
        if (!await antiforgery.IsRequestValidAsync(http))
            return FormPage(http, antiforgery, dpo, organisations, empty, StatusCodes.Status400BadRequest,
                "The form had expired or was not sent from this page. Nothing was erased; please fill it in again.");

        var form = new Form(Field(fields, "nmsc"), Field(fields, "email"), Field(fields, "phone"), Field(fields, "context"),
            Field(fields, "sourceSystem"), Field(fields, "sourceCustomerId"));
        var nmsc = Names.Normalise(form.Nmsc);
        var caller = new Caller(dpo.Username, dpo.Role, dpo.Nmsc, dpo.Context, null);
        if (!organisations.Any(o => o.Nmsc == nmsc) || !await OrganisationAccess.MayActForAsync(db, caller, nmsc, ct))
            return FormPage(http, antiforgery, dpo, organisations, form, StatusCodes.Status400BadRequest, "Choose one of your organisations.");
        var byRecord = form.SourceSystem.Length > 0 || form.SourceCustomerId.Length > 0;
        var (criterion, violations) = PersonMatch.Parse(new PersonInput
        {
            Email = form.Email.Length > 0 ? form.Email : null,
            Phone = form.Phone.Length > 0 ? form.Phone : null,
            Context = byRecord ? form.Context : null,
            SourceSystem = byRecord ? form.SourceSystem : null,
            SourceCustomerId = byRecord ? form.SourceCustomerId : null,
        }, blindIndex);
        if (criterion is null)
            return FormPage(http, antiforgery, dpo, organisations, form, StatusCodes.Status400BadRequest, string.Join(" ", violations.Select(v => v.Message)));

        if (Field(fields, "step") != Erase)
        {
            var matched = await PersonMatch.MatchedAsync(db, nmsc, criterion, ct);
            var person = await PersonMatch.WithClustersAsync(db, nmsc, matched, ct);
            return ConfirmPage(http, antiforgery, form with { Nmsc = nmsc }, person.Count);
        }

        var outcome = await erasures.EraseAsync(nmsc, criterion, caller, ct);
        return outcome switch
        {
            ErasureOutcome.Erased done => ResultPage(ErasureApi.View(done.Erasure, done.Records), again: false),
            ErasureOutcome.AlreadyErased earlier => ResultPage(ErasureApi.View(earlier.Erasure, earlier.Records), again: true),
            _ => FormPage(http, antiforgery, dpo, organisations, form, StatusCodes.Status404NotFound, "No record of this organisation matches. Nothing was erased."),
        };
    }

    static string Field(IFormCollection fields, string name)
    {
        var value = fields[name].ToString().Trim();
        // Longer than any address, number or name the hub accepts: refused by the rules below as it is cut here.
        return value.Length <= 300 ? value : value[..300];
    }

    static IResult FormPage(HttpContext http, IAntiforgery antiforgery, DpoIdentity dpo, IReadOnlyList<ExportableOrganisation> organisations,
        Form form, int status, string? error)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var E = (Func<string, string>)DpoHtml.E;
        var body = new StringBuilder();
        body.Append($"""
            <h1>Erase a person</h1>
            <p class="lead">Name the person by email, by phone, or by one of their source records. Every record of the organisation that
            carries the address or number, and every record in the same cluster, is erased. You will be asked to confirm first.</p>
            {(error is null ? "" : $"""<p class="error" role="alert" id="erase-error">{E(error)}</p>""")}
            <form method="post" action="{Path}">
            <input type="hidden" name="{E(tokens.FormFieldName)}" value="{E(tokens.RequestToken!)}">
            <input type="hidden" name="step" value="{Review}">
            <label for="nmsc">Organisation</label>
            <select id="nmsc" name="nmsc">

            """);
        foreach (var o in organisations)
            body.Append($"""<option value="{E(o.Nmsc)}"{(o.Nmsc == form.Nmsc ? " selected" : "")}>{E(o.Nmsc)}{(o.Name is { Length: > 0 } name ? $" ({E(name)})" : "")}</option>""").Append('\n');
        body.Append($"""
            </select>
            <label for="email">Email address</label>
            <input id="email" name="email" type="email" autocomplete="off" maxlength="254" value="{E(form.Email)}">
            <label for="phone">or phone number <span class="hint">(international, e.g. +44 7700 900123)</span></label>
            <input id="phone" name="phone" type="tel" autocomplete="off" maxlength="50" value="{E(form.Phone)}">
            <p class="hint">or one source record:</p>
            <label for="context">Context</label>
            <input id="context" name="context" type="text" maxlength="64" value="{E(form.Context)}">
            <label for="sourceSystem">Source system</label>
            <input id="sourceSystem" name="sourceSystem" type="text" maxlength="64" value="{E(form.SourceSystem)}">
            <label for="sourceCustomerId">Source customer id</label>
            <input id="sourceCustomerId" name="sourceCustomerId" type="text" maxlength="200" value="{E(form.SourceCustomerId)}">
            <button type="submit">Continue</button>
            </form>
            <p><a href="{DpoPages.LandingPath}">Back</a></p>
            """);
        return new HtmlPage(status, DpoHtml.Page("Erase a person", body.ToString()), DpoHtml.ContentSecurityPolicy);
    }

    static IResult ConfirmPage(HttpContext http, IAntiforgery antiforgery, Form form, int records)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var E = (Func<string, string>)DpoHtml.E;
        var named = form.Email.Length > 0 ? $"the email address <strong>{E(form.Email)}</strong>"
            : form.Phone.Length > 0 ? $"the phone number <strong>{E(form.Phone)}</strong>"
            : $"the record <strong>{E(form.SourceCustomerId)}</strong> of <strong>{E(form.SourceSystem)}</strong> in <strong>{E(form.Context)}</strong>";
        var count = records == 1 ? "1 record matches" : $"{records} records match";
        var html = $"""
            <h1>Confirm the erasure</h1>
            <p class="lead">You are about to erase the person with {named} in the organisation <strong>{E(form.Nmsc)}</strong>: {count}.</p>
            <div class="warning" role="note"><p>This cannot be undone. The person's email addresses and phone numbers are destroyed; their
            consent choices stay, without contact data. Every source system of the person that receives messages is told to erase its
            record too. The erasure is recorded in the ledger with your name.</p></div>
            <form method="post" action="{Path}">
            <input type="hidden" name="{E(tokens.FormFieldName)}" value="{E(tokens.RequestToken!)}">
            <input type="hidden" name="step" value="{Erase}">
            <input type="hidden" name="nmsc" value="{E(form.Nmsc)}">
            <input type="hidden" name="email" value="{E(form.Email)}">
            <input type="hidden" name="phone" value="{E(form.Phone)}">
            <input type="hidden" name="context" value="{E(form.Context)}">
            <input type="hidden" name="sourceSystem" value="{E(form.SourceSystem)}">
            <input type="hidden" name="sourceCustomerId" value="{E(form.SourceCustomerId)}">
            <button type="submit">Erase this person</button>
            </form>
            <p><a href="{Path}">Cancel</a></p>
            """;
        return new HtmlPage(StatusCodes.Status200OK, DpoHtml.Page("Confirm the erasure", html), DpoHtml.ContentSecurityPolicy);
    }

    static IResult ResultPage(ErasureView erasure, bool again)
    {
        var E = (Func<string, string>)DpoHtml.E;
        var body = new StringBuilder();
        body.Append($"""
            <h1>{(again ? "Already erased" : "Erased")}</h1>
            <p class="lead" role="status">{(again ? "This person had already been erased; nothing was erased twice." : "The person was erased.")}
            Erasure <strong id="erasure-id">{erasure.Id}</strong> of {E(erasure.ErasedAt)}, ledger entry {erasure.LedgerIndex}.</p>
            <ul class="exports">

            """);
        foreach (var r in erasure.Records)
            body.Append($"""<li>{E(r.Context)} · {E(r.SourceSystem)} · {E(r.SourceCustomerId)} <span class="hint">record {r.CustomerId}</span></li>""").Append('\n');
        body.Append($"""
            </ul>
            <p><a href="{DpoPages.LandingPath}">Back</a></p>
            """);
        return new HtmlPage(StatusCodes.Status200OK, DpoHtml.Page(again ? "Already erased" : "Erased", body.ToString()), DpoHtml.ContentSecurityPolicy);
    }
}
