using System.ComponentModel;
using System.Reflection;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Hosting;

/// <summary>
/// One <c>[Function]</c> method of this app, as its attributes describe it: the same facts the Functions build
/// writes into <c>functions.metadata</c>, read here so that the local host, the worker middleware and the OpenAPI
/// document all serve exactly what the Functions host serves.
/// </summary>
public sealed record FunctionDescriptor(string Name, MethodInfo Method, HttpTriggerAttribute? Http, TimerTriggerAttribute? Timer)
{
    /// <summary>What the Functions host uses when an HTTP trigger names no methods: every method.</summary>
    private static readonly string[] AllMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    public Type Class => Method.DeclaringType!;

    /// <summary>The route under the host's prefix (<c>api</c> in host.json); the host defaults it to the function's name.</summary>
    public string Route => Http?.Route ?? Name;

    public IReadOnlyList<string> HttpMethods => Http?.Methods is { Length: > 0 } m ? [.. m.Select(x => x.ToUpperInvariant())] : AllMethods;

    /// <summary>Functions a caller may use without a token carry <see cref="AllowAnonymousAttribute"/>; every other one needs one.</summary>
    public bool AllowsAnonymous => Method.GetCustomAttribute<AllowAnonymousAttribute>() is not null;

    public string? Summary => Method.GetCustomAttribute<DescriptionAttribute>()?.Description;

    /// <summary>The app setting a timer's <c>%Setting%</c> schedule names, or null for a literal schedule.</summary>
    public string? ScheduleSetting => Timer?.Schedule is { Length: > 2 } s && s[0] == '%' && s[^1] == '%' ? s[1..^1] : null;
}

public static class FunctionCatalog
{
    public const string RoutePrefix = "api";

    /// <summary>Every function of this app, in a stable order (by name).</summary>
    public static IReadOnlyList<FunctionDescriptor> All { get; } = Discover(typeof(FunctionCatalog).Assembly);

    public static IEnumerable<FunctionDescriptor> HttpFunctions => All.Where(f => f.Http is not null);

    public static IEnumerable<FunctionDescriptor> TimerFunctions => All.Where(f => f.Timer is not null);

    public static FunctionDescriptor? Find(string name) => All.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    public static IReadOnlyList<FunctionDescriptor> Discover(Assembly assembly) =>
        [.. assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false })
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Function: m.GetCustomAttribute<FunctionAttribute>()))
            .Where(x => x.Function is not null)
            .Select(x => new FunctionDescriptor(
                x.Function!.Name,
                x.Method,
                x.Method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a is not null),
                x.Method.GetParameters().Select(p => p.GetCustomAttribute<TimerTriggerAttribute>()).FirstOrDefault(a => a is not null)))
            .OrderBy(f => f.Name, StringComparer.Ordinal)];
}
