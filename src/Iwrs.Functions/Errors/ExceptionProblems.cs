using System.Globalization;
using Iwrs.Storage;

namespace Iwrs.Functions.Errors;

/// <summary>
/// The last line: storage that does not answer is a 503 with Retry-After (the client should come back), a body
/// the server refused is a 4xx, and anything else is a 500 that says nothing about internals.
/// </summary>
public static class ExceptionProblems
{
    public const int RetryAfterSeconds = 5;

    /// <summary>The problem to answer with; null when the caller went away and nobody is listening.</summary>
    public static IResult? For(Exception exception, HttpContext http, ILogger log)
    {
        switch (exception)
        {
            case OperationCanceledException when http.RequestAborted.IsCancellationRequested:
                return null;
            case var _ when StorageFailure.IsUnavailable(exception):
                log.LogWarning(exception, "Storage unavailable");
                return RetryLater(http, "storage-unavailable", "Storage is not answering; try again shortly.");
            case Auth.IdentityProviderUnavailableException:
                log.LogWarning(exception, "Identity provider unavailable");
                return RetryLater(http, "identity-provider-unavailable", "Sign-in keys could not be fetched; try again shortly.");
            case BadHttpRequestException bad:
                return Problems.Create(bad.StatusCode, Problems.CodeFor(bad.StatusCode), "The request could not be read.");
            default:
                log.LogError(exception, "Unhandled error on {Path}", http.Request.Path);
                return Problems.Create(500, "internal-error", "Something went wrong on our side; it has been logged.");
        }
    }

    public static IResult RetryLater(HttpContext http, string code, string detail)
    {
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Problems.Create(503, code, detail);
    }
}
