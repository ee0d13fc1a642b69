using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace Iwrs.Functions.Hosting;

/// <summary>
/// The isolated worker runs no ASP.NET Core authentication or exception middleware, so this worker middleware does
/// their work for each HTTP invocation (<see cref="HttpInvocation"/>); setting the invocation result answers
/// without calling the function, and the ASP.NET Core integration then executes that <see cref="IResult"/>.
/// </summary>
public sealed class HttpFunctionMiddleware : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var isHttp = context.FunctionDefinition.InputBindings.Values.Any(b => string.Equals(b.Type, "httpTrigger", StringComparison.OrdinalIgnoreCase));
        if (!isHttp)
        {
            await next(context);
            return;
        }

        // An HTTP function the catalog does not know would run unauthenticated: refuse it instead.
        var http = context.GetHttpContext() ?? throw new InvalidOperationException($"HTTP function {context.FunctionDefinition.Name} has no HttpContext.");
        if (FunctionCatalog.Find(context.FunctionDefinition.Name) is not { Http: not null } function)
        {
            context.GetInvocationResult().Value = Errors.Problems.Create(500, "internal-error", "Something went wrong on our side; it has been logged.");
            return;
        }

        try
        {
            if (await HttpInvocation.AuthenticateAsync(http, function) is { } refusal)
            {
                context.GetInvocationResult().Value = refusal;
                return;
            }

            await next(context);
        }
        catch (Exception e) when (HttpInvocation.ProblemFor(e, http) is { } problem)
        {
            context.GetInvocationResult().Value = problem;
        }
    }
}

public static class HttpFunctionMiddlewareSetup
{
    public static IFunctionsWorkerApplicationBuilder UseIwrsMiddleware(this IFunctionsWorkerApplicationBuilder builder) =>
        builder.UseMiddleware<HttpFunctionMiddleware>();
}
