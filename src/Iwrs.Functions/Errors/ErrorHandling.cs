using Iwrs.Storage;
using Microsoft.AspNetCore.Diagnostics;


namespace Iwrs.Functions.Errors;

/// <summary>
/// The last line: storage that does not answer is a 503 with Retry-After (the client should come back), a body
/// the server refused is a 4xx, and anything else is a 500 that says nothing about internals.
/// </summary>
public sealed class ErrorHandler(ILogger<ErrorHandler> log) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult problem;
        switch (exception)
        {
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                return true;
            case var _ when StorageFailure.IsUnavailable(exception):
                log.LogWarning(exception, "Storage unavailable");
                httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                problem = Problems.Create(503, "storage-unavailable", "Storage is not answering; try again shortly.");
                break;
            case Auth.IdentityProviderUnavailableException:
                log.LogWarning(exception, "Identity provider unavailable");
                httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                problem = Problems.Create(503, "identity-provider-unavailable", "Sign-in keys could not be fetched; try again shortly.");
                break;
            case BadHttpRequestException bad:
                problem = Problems.Create(bad.StatusCode, Problems.CodeFor(bad.StatusCode), "The request could not be read.");
                break;
            default:
                log.LogError(exception, "Unhandled error on {Path}", httpContext.Request.Path);
                problem = Problems.Create(500, "internal-error", "Something went wrong on our side; it has been logged.");
                break;
        }

        httpContext.Response.StatusCode = problem.StatusCode;
        await problem.ExecuteAsync(httpContext);
        return true;
    }
}

public static class StatusCodeProblems
{
    /// <summary>Bare statuses nobody described (unknown route, wrong method) still get a problem body with a code.</summary>
    public static void UseStatusCodeProblems(this IApplicationBuilder app) =>
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            if (http.Response.HasStarted || http.Response.ContentLength > 0 || http.Response.ContentType is not null)
            {
                return;
            }

            var status = http.Response.StatusCode;
            await Problems.Create(status, Problems.CodeFor(status), Problems.Title(status) + ".").ExecuteAsync(http);
        });
}
