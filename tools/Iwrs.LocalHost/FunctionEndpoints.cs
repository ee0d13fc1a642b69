using System.Reflection;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.LocalHost;

/// <summary>
/// Maps each HTTP function to an endpoint by its trigger attribute (route under <c>/api</c>, methods), and calls it
/// as the isolated worker would: a new instance of its class from the request's services, the request, the route
/// values by parameter name, and the request's cancellation token; around it the same authentication and error
/// handling as the worker middleware (<see cref="HttpInvocation"/>).
/// </summary>
public static class FunctionEndpoints
{
    public static void MapFunctions(this IEndpointRouteBuilder app, IEnumerable<FunctionDescriptor> functions)
    {
        foreach (var function in functions.Where(f => f.Http is not null))
        {
            foreach (var parameter in function.Method.GetParameters())
            {
                if (parameter.ParameterType != typeof(HttpRequest) && parameter.ParameterType != typeof(string) && parameter.ParameterType != typeof(CancellationToken))
                {
                    throw new InvalidOperationException($"{function.Name}: the local host binds HttpRequest, route strings and CancellationToken; '{parameter.Name}' is a {parameter.ParameterType.Name}.");
                }
            }

            app.MapMethods("/" + FunctionCatalog.RoutePrefix + "/" + function.Route, function.HttpMethods, http => InvokeAsync(http, function))
                .WithName(function.Name)
                .WithMetadata(function);
        }
    }

    /// <summary>Development only, like the Functions host's admin API (which wants the master key): runs a timer function now.</summary>
    public static void MapAdminFunctions(this IEndpointRouteBuilder app) =>
        app.MapPost("/admin/functions/{name}", async Task<IResult> (string name, HttpContext http, LocalTimers timers, CancellationToken ct) =>
        {
            // A page in the developer's browser could post here (a simple cross-site POST); tools like curl send no Origin.
            if (http.Request.Headers.Origin.Count > 0)
            {
                return Problems.Create(403, "forbidden", "Run timer functions from a terminal (curl), not from a web page.");
            }

            if (timers.Functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)) is not { } function)
            {
                return Problems.Create(404, "function-not-found", $"There is no timer function '{name}'. Timer functions: {string.Join(", ", timers.Functions.Select(f => f.Name))}.");
            }

            try
            {
                await timers.RunAsync(function, isPastDue: false, ct);
            }
            catch (Exception e) when (HttpInvocation.ProblemFor(e, http) is { } problem)
            {
                return problem;
            }

            return TypedResults.Accepted((string?)null);
        });

    private static async Task InvokeAsync(HttpContext http, FunctionDescriptor function)
    {
        IResult? result;
        try
        {
            result = await HttpInvocation.AuthenticateAsync(http, function) ?? await CallAsync(http, function);
        }
        catch (Exception e)
        {
            result = HttpInvocation.ProblemFor(e, http);
        }

        if (result is not null && !http.Response.HasStarted)
        {
            await result.ExecuteAsync(http);
        }
    }

    private static async Task<IResult?> CallAsync(HttpContext http, FunctionDescriptor function)
    {
        var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(http.RequestServices, function.Class);
        var arguments = function.Method.GetParameters().Select(p =>
            p.ParameterType == typeof(HttpRequest) ? http.Request
            : p.ParameterType == typeof(CancellationToken) ? http.RequestAborted
            : (object?)(http.Request.RouteValues.TryGetValue(p.Name!, out var v) ? v?.ToString() : null)).ToArray();
        return await Invocation.ResultOf<IResult>(function.Method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, arguments, null));
    }
}

/// <summary>What a function method returned: a value, or a task of one, awaited.</summary>
internal static class Invocation
{
    public static async Task<T?> ResultOf<T>(object? returned)
        where T : class
    {
        if (returned is not Task task)
        {
            return returned as T;
        }

        await task;
        return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) as T : null;
    }
}

/// <summary>The arguments of a timer function: its <see cref="TimerInfo"/> and the cancellation token.</summary>
internal static class TimerArguments
{
    public static object?[] For(MethodInfo method, TimerInfo timer, CancellationToken ct) =>
        [.. method.GetParameters().Select<ParameterInfo, object?>(p =>
            p.ParameterType == typeof(TimerInfo) ? timer
            : p.ParameterType == typeof(CancellationToken) ? ct
            : throw new InvalidOperationException($"{method.Name}: the local host binds TimerInfo and CancellationToken to timer functions; '{p.Name}' is a {p.ParameterType.Name}."))];
}
