using Microsoft.AspNetCore.Http.HttpResults;

namespace ConsentHub.Hosting;

/// <summary>One broken rule: the JSON path or parameter it concerns, a stable rule name, and words for a person.</summary>
public sealed record Violation(string Field, string Rule, string Message);

/// <summary>RFC 9457 problem details for every error the hub answers.</summary>
public static class Problems
{
    const string TypeBase = "https://consenthub.dev/problems/";

    public static ProblemHttpResult Invalid(IReadOnlyList<Violation> violations) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: "The request is invalid.",
        detail: string.Join(" ", violations.Select(v => $"{v.Field}: {v.Message}")),
        type: TypeBase + "invalid-request",
        extensions: new Dictionary<string, object?>
        {
            ["errors"] = violations.GroupBy(v => v.Field).ToDictionary(g => g.Key, g => g.Select(v => v.Message).ToArray()),
            ["violations"] = violations,
        });

    public static ProblemHttpResult Invalid(string field, string rule, string message) =>
        Invalid([new Violation(field, rule, message)]);

    public static ProblemHttpResult NotFound(string detail) =>
        Problem(StatusCodes.Status404NotFound, "Not found.", detail, "not-found");

    public static ProblemHttpResult Forbidden(string detail) =>
        Problem(StatusCodes.Status403Forbidden, "Forbidden.", detail, "forbidden");

    public static ProblemHttpResult Conflict(string detail) =>
        Problem(StatusCodes.Status409Conflict, "Conflict.", detail, "conflict");

    public static ProblemHttpResult Unprocessable(string detail, string rule) =>
        Problem(StatusCodes.Status422UnprocessableEntity, "The request cannot be processed.", detail, rule);

    public static ProblemHttpResult Problem(int status, string title, string detail, string type) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail, type: TypeBase + type);
}
