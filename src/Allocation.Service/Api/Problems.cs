using System.Text.RegularExpressions;
using Allocation.Grains;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Allocation.Service.Api;

/// <summary>Turns refusals and bad input into RFC 9457 problem details.</summary>
public static partial class Problems
{
    public static ProblemHttpResult From(Refusal refusal)
    {
        var (status, title) = refusal.Kind switch
        {
            RefusalKind.NotFound => (StatusCodes.Status404NotFound, "Not found"),
            RefusalKind.Invalid => (StatusCodes.Status400BadRequest, "Invalid request"),
            RefusalKind.Forbidden => (StatusCodes.Status403Forbidden, "Not permitted"),
            _ => (StatusCodes.Status409Conflict, "Refused by rule " + refusal.Rule),
        };
        var extensions = new Dictionary<string, object?> { ["rule"] = refusal.Rule };
        foreach (var (name, value) in refusal.Figures ?? [])
        {
            extensions[name] = value;
        }

        return TypedResults.Problem(refusal.Detail, statusCode: status, title: title, extensions: extensions);
    }

    public static ProblemHttpResult NotFound(string kind, string id) =>
        TypedResults.Problem($"No {kind} with id '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found",
            extensions: new Dictionary<string, object?> { ["rule"] = "unknown-id", ["kind"] = kind, ["id"] = id });

    public static ProblemHttpResult Invalid(string field, string message) =>
        TypedResults.Problem(message, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } });

    /// <summary>The longest free text (a reason, a name) any command takes.</summary>
    public const int MaxText = 500;

    /// <summary>Ids come from the authority's case management system: short, no spaces or slashes.</summary>
    public static bool IsValidId(string? id) => id is { Length: > 0 and <= 64 } && IdPattern().IsMatch(id);

    /// <summary>Checks ids and required text fields; the first problem found, or null.</summary>
    public static ProblemHttpResult? Check(params (string Field, string? Value, bool IsId)[] fields)
    {
        foreach (var (field, value, isId) in fields)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return Invalid(field, $"'{field}' is required.");
            }

            if (isId && !IsValidId(value))
            {
                return Invalid(field, $"'{field}' must be 1-64 characters of letters, digits, '.', '_' or '-'.");
            }

            if (!isId && TooLong(field, value) is { } tooLong)
            {
                return tooLong;
            }

            if (!isId && !IsPlainText(value))
            {
                return Invalid(field, $"'{field}' must not contain control characters (other than tab and line breaks) or broken surrogate pairs.");
            }
        }

        return null;
    }

    /// <summary>A 400 for optional free text longer than <see cref="MaxText"/>, or null.</summary>
    public static ProblemHttpResult? TooLong(string field, string? value) =>
        value is { Length: > MaxText } ? Invalid(field, $"'{field}' must be at most {MaxText} characters.") : null;

    /// <summary>An override's reason, when there is one, is plain text (whether it is complete is the rule's to say).</summary>
    public static ProblemHttpResult? CheckOverride(CeilingOverride? ceilingOverride) =>
        ceilingOverride?.Reason is { } reason && (reason.Length > MaxText || !IsPlainText(reason))
            ? Invalid("override.reason", $"'override.reason' must be at most {MaxText} characters of plain text.")
            : null;

    /// <summary>Text a person could have typed: PostgreSQL refuses a NUL in text, so one would otherwise reach the
    /// audit trail's insert after the command had been applied.</summary>
    public static bool IsPlainText(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if ((char.IsControl(c) && c is not ('\t' or '\n' or '\r'))
                || (char.IsHighSurrogate(c) && (i + 1 >= value.Length || !char.IsLowSurrogate(value[++i])))
                || char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex IdPattern();
}
