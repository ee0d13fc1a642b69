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
        var http = context.GetHttpContext();
        if (http is null || FunctionCatalog.Find(context.FunctionDefinition.Name) is not { Http: not null } function)
        {
            await next(context);
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
