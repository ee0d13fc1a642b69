using Iwrs.Domain;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Iwrs.Functions.Errors;

/// <summary>
/// RFC 9457 problem details with a stable <c>code</c> that clients branch on. Every error the API returns
/// goes through here, so the shape never varies.
/// </summary>
public static class Problems
{
    /// <summary>The HTTP status for each domain error code; anything not listed is a 400.</summary>
    private static readonly Dictionary<string, int> StatusByCode = new()
    {
        ["validation-failed"] = StatusCodes.Status400BadRequest,
        ["kit-lot-not-mixed"] = StatusCodes.Status400BadRequest,
        ["unsupported-media-type"] = StatusCodes.Status415UnsupportedMediaType,
        ["request-too-large"] = StatusCodes.Status413PayloadTooLarge,
        ["not-authorized"] = StatusCodes.Status403Forbidden,
        ["not-authorized-for-study"] = StatusCodes.Status403Forbidden,
        ["not-authorized-for-site"] = StatusCodes.Status403Forbidden,
        ["unblinded-role-required"] = StatusCodes.Status403Forbidden,
        ["administrator-required"] = StatusCodes.Status403Forbidden,
        ["study-not-found"] = StatusCodes.Status404NotFound,
        ["site-not-found"] = StatusCodes.Status404NotFound,
        ["role-assignment-not-found"] = StatusCodes.Status404NotFound,
        ["study-id-mismatch"] = StatusCodes.Status400BadRequest,
        ["subject-packs-preview"] = StatusCodes.Status400BadRequest,
        ["study-version-conflict"] = StatusCodes.Status409Conflict,
        ["write-conflict"] = StatusCodes.Status409Conflict,
        ["randomization-design-locked"] = StatusCodes.Status409Conflict,
        ["study-element-removed"] = StatusCodes.Status409Conflict,
        ["subject-not-found"] = StatusCodes.Status404NotFound,
        ["shipment-not-found"] = StatusCodes.Status404NotFound,
        ["subject-already-randomized-elsewhere"] = StatusCodes.Status409Conflict,
        ["study-not-open"] = StatusCodes.Status409Conflict,
        ["site-not-active"] = StatusCodes.Status409Conflict,
        ["eligibility-not-confirmed"] = StatusCodes.Status422UnprocessableEntity,
        ["no-active-list"] = StatusCodes.Status409Conflict,
        ["list-exhausted"] = StatusCodes.Status409Conflict,
        ["list-already-active"] = StatusCodes.Status409Conflict,
        ["list-commitment-mismatch"] = StatusCodes.Status409Conflict,
        ["randomization-not-applicable"] = StatusCodes.Status409Conflict,
        ["no-kit-available"] = StatusCodes.Status409Conflict,
        ["not-enough-stock"] = StatusCodes.Status409Conflict,
        ["subject-discontinued"] = StatusCodes.Status409Conflict,
        ["visit-out-of-order"] = StatusCodes.Status409Conflict,
        ["visit-dispensed-at-randomization"] = StatusCodes.Status409Conflict,
        ["unknown-visit"] = StatusCodes.Status404NotFound,
        ["kit-conflict"] = StatusCodes.Status409Conflict,
        ["kit-import-in-progress"] = StatusCodes.Status409Conflict,
        ["shipment-not-dispatched"] = StatusCodes.Status409Conflict,
        ["shipment-already-dispatched"] = StatusCodes.Status409Conflict,
        ["supply-hold"] = StatusCodes.Status409Conflict,
        ["pack-not-on-site"] = StatusCodes.Status409Conflict,
        ["shipment-automatic-only"] = StatusCodes.Status409Conflict,
        ["role-conflict"] = StatusCodes.Status409Conflict,
        ["shipment-not-received"] = StatusCodes.Status409Conflict,
        ["shipment-already-released"] = StatusCodes.Status409Conflict,
        ["kit-not-found"] = StatusCodes.Status404NotFound,
        ["kit-not-on-shelf"] = StatusCodes.Status409Conflict,
        ["sms-signature-invalid"] = StatusCodes.Status403Forbidden,
        ["sms-user-not-found"] = StatusCodes.Status404NotFound,
        ["sms-phone-taken"] = StatusCodes.Status409Conflict,
        ["sms-phone-codes-exhausted"] = StatusCodes.Status409Conflict,
        ["sms-phone-no-code"] = StatusCodes.Status409Conflict,
        ["sms-phone-code-wrong"] = StatusCodes.Status400BadRequest,
        ["sms-phone-code-void"] = StatusCodes.Status400BadRequest,
        ["sms-phone-code-expired"] = StatusCodes.Status400BadRequest,
        ["notification-not-found"] = StatusCodes.Status404NotFound,
    };

    public static ProblemHttpResult From(DomainError error) =>
        Create(StatusByCode.GetValueOrDefault(error.Code, StatusCodes.Status400BadRequest), error.Code, error.Message, error.Errors);

    public static ProblemHttpResult Create(int status, string code, string detail, IReadOnlyList<FieldError>? errors = null)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        if (errors is { Count: > 0 })
        {
            extensions["errors"] = errors.Select(e => new { field = e.Field, reason = e.Reason }).ToList();
        }

        return TypedResults.Problem(
            detail: detail,
            statusCode: status,
            title: Title(status),
            type: $"https://github.com/iwrs/iwrs/blob/main/README.md#error-{code}",
            extensions: extensions);
    }

    public static string Title(int status) => status switch
    {
        400 => "Bad request",
        401 => "Authentication required",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Request body too large",
        415 => "Unsupported media type",
        422 => "Unprocessable request",
        503 => "Service unavailable",
        _ => "Error",
    };

    /// <summary>The default code for a bare status (unknown route, wrong method) that no handler described.</summary>
    public static string CodeFor(int status) => status switch
    {
        400 => "bad-request",
        401 => "authentication-required",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        413 => "request-too-large",
        415 => "unsupported-media-type",
        503 => "service-unavailable",
        _ => "error",
    };
}
