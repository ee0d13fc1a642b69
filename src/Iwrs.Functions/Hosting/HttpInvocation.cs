using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;

namespace Iwrs.Functions.Hosting;

/// <summary>
/// What happens around every HTTP function, the same way under the Functions host (through
/// <see cref="HttpFunctionMiddleware"/>) and in the local host: the bearer token is authenticated, a function
/// that needs a caller refuses one without a token, and an exception becomes a problem with a stable code.
/// </summary>
public static class HttpInvocation
{
    /// <summary>Sets <see cref="HttpContext.User"/> from the bearer token; returns the refusal, or null to go on.</summary>
    public static async Task<IResult?> AuthenticateAsync(HttpContext http, FunctionDescriptor function)
    {
        // Answers name arms, kit types and lists to whoever may see them: no browser or proxy keeps a copy (a blinded
        // colleague on the same workstation could read it from the disk cache after sign-out).
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        var outcome = await BearerAuthentication.AuthenticateAsync(http);
        if (outcome.Problem is { } refusal)
        {
            return refusal;
        }

        if (function.AllowsAnonymous || outcome.Kind == AuthenticationOutcomeKind.Authenticated)
        {
            return null;
        }

        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Create(401, "authentication-required", "Send a valid bearer token in the Authorization header.");
    }

    /// <summary>The problem for an exception a function threw; null when the caller went away and nobody is listening.</summary>
    public static IResult? ProblemFor(Exception exception, HttpContext http) =>
        ExceptionProblems.For(exception, http, http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Iwrs.Errors"));
}
