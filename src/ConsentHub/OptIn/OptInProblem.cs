using ConsentHub.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ConsentHub.OptIn;

/// <summary>
/// The errors of the opt-in interface: RFC 9457 problem details whose status is the seed's code (520 no contact, 521 no
/// flow, 522 insufficient request data, 525 mail failed), with the seed's <c>result</c> member beside them, so a CRM
/// that reads <c>result.code</c> and a client that reads problem details both understand the answer.
/// </summary>
public static class OptInProblem
{
    const string TypeBase = "https://consenthub.dev/problems/opt-in/";

    public static ProblemHttpResult NoContact(string contactId) => Of(OptInCodes.NoContact, "no-contact",
        "No contact for the id.", $"No consent data is known for contact '{contactId}' in this source system.");

    public static ProblemHttpResult NoFlow(string detail) => Of(OptInCodes.NoFlow, "no-flow", "No records for the extRefNo.", detail);

    public static ProblemHttpResult MailFailed(string detail) => Of(OptInCodes.MailFailed, "mail-failed", "The mail could not be sent.", detail);

    /// <summary>522, naming each field and rule in <c>result.status</c> and in the problem's <c>violations</c>.</summary>
    public static ProblemHttpResult Invalid(IReadOnlyList<Violation> violations)
    {
        var detail = string.Join(" ", violations.Select(v => $"{v.Field} ({v.Rule}): {v.Message}"));
        return TypedResults.Problem(
            statusCode: OptInCodes.InvalidRequest,
            title: "Insufficient or invalid request data.",
            detail: detail,
            type: TypeBase + "invalid-request",
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = violations.GroupBy(v => v.Field).ToDictionary(g => g.Key, g => g.Select(v => v.Message).ToArray()),
                ["violations"] = violations,
                ["result"] = new OptInResultDTO(detail, OptInCodes.InvalidRequest),
            });
    }

    public static ProblemHttpResult Invalid(string field, string rule, string message) => Invalid([new Violation(field, rule, message)]);

    /// <summary>Any other refusal (401 and 403 come from the host as elsewhere), with the seed's result member.</summary>
    public static ProblemHttpResult Of(int code, string type, string title, string detail) => TypedResults.Problem(
        statusCode: code, title: title, detail: detail, type: TypeBase + type,
        extensions: new Dictionary<string, object?> { ["result"] = new OptInResultDTO(detail, code) });

    /// <summary>A problem the hub's shared readers answered (a body that is not JSON, too large, the wrong type) as a 522.</summary>
    public static IResult FromBody(IResult error) => error switch
    {
        ProblemHttpResult problem when problem.ProblemDetails.Extensions.TryGetValue("violations", out var named)
            && named is IReadOnlyList<Violation> violations => Invalid([.. violations.Select(v => v with { Field = InBody(v.Field) })]),
        ProblemHttpResult problem => Invalid("body", problem.ProblemDetails.Type?.Split('/')[^1] ?? "json",
            problem.ProblemDetails.Detail ?? "The body cannot be read."),
        _ => error,
    };

    /// <summary>The shared reader names a field from the body's root (<c>[0].type</c>); this interface names it <c>body[0].type</c>.</summary>
    static string InBody(string field) => field.StartsWith("body", StringComparison.Ordinal) ? field
        : field.StartsWith('[') ? "body" + field : "body." + field;
}
