using System.Text.Json;
using Iwrs.Functions.Hosting;
using Iwrs.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Hosting;

/// <summary>
/// The deployed package's function.json files and the app must agree: the Functions host only forwards the
/// routes it knows and only triggers the timers it knows.
/// </summary>
public sealed class FunctionJsonTests
{
    private static readonly string FunctionsFolder = Path.Combine(AzuriteServer.RepositoryRoot(), "src", "Iwrs.Functions", "functions");

    public sealed record FunctionBinding(string Function, string Type, string? Route, IReadOnlyList<string> Methods, string? Schedule);

    public static IReadOnlyList<FunctionBinding> Read(string folder) =>
        Directory.GetDirectories(folder).Select(dir =>
        {
            var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "function.json"))).RootElement;
            var trigger = doc.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "in");
            return new FunctionBinding(
                Path.GetFileName(dir),
                trigger.GetProperty("type").GetString()!,
                trigger.TryGetProperty("route", out var r) ? r.GetString() : null,
                trigger.TryGetProperty("methods", out var m) ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToList() : [],
                trigger.TryGetProperty("schedule", out var s) ? s.GetString() : null);
        }).ToList();

    /// <summary>Route templates compared with parameter names blanked: {studyId} and {id} are the same route.</summary>
    private static string Normalize(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template.Trim('/'), "\\{[^}]+\\}", "{}").ToLowerInvariant();

    private static HashSet<(string Route, string Method)> AppRoutes(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Normalize(e.RoutePattern.RawText!), m)))
            .ToHashSet();

    [Fact]
    public void HostJson_IsACustomHandlerWithForwardingAndApiPrefix()
    {
        var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(AzuriteServer.RepositoryRoot(), "host.json"))).RootElement;
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        Assert.True(host.GetProperty("customHandler").GetProperty("enableForwardingHttpRequest").GetBoolean());
        Assert.Equal("Iwrs.Functions", host.GetProperty("customHandler").GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.Equal("api", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public async Task EveryHttpFunction_HasAMatchingAppRoute_AndEveryApiRouteHasAFunction()
    {
        await using var app = new IwrsFactory();
        _ = app.CreateClient();
        var routes = AppRoutes(app.Services);
        var functions = Read(FunctionsFolder).Where(f => f.Type == "httpTrigger").ToList();
        Assert.NotEmpty(functions);

        foreach (var f in functions)
        {
            Assert.NotEmpty(f.Methods);
            foreach (var method in f.Methods)
            {
                Assert.True(routes.Contains((Normalize("api/" + f.Route), method)), $"{f.Function}: {method} api/{f.Route} has no endpoint in the app");
            }
        }

        // The reverse: an /api endpoint without a function.json would be unreachable once deployed.
        var declared = functions.SelectMany(f => f.Methods.Select(m => (Normalize("api/" + f.Route), m))).ToHashSet();
        var developmentOnly = Normalize("api/dev/token");
        foreach (var route in routes.Where(r => r.Route.StartsWith("api/", StringComparison.Ordinal) && r.Route != developmentOnly))
        {
            Assert.True(declared.Contains(route), $"{route.Method} {route.Route} has no function.json");
        }
    }

    [Fact]
    public async Task EveryTimerFunction_HasAHandlerAndAParsableSchedule()
    {
        // The shipped folder, plus a folder holding a function.json for the test timer, checked the same way.
        var extra = Directory.CreateTempSubdirectory("iwrs-functions-");
        Directory.CreateDirectory(Path.Combine(extra.FullName, TestTimer.FunctionName));
        File.WriteAllText(Path.Combine(extra.FullName, TestTimer.FunctionName, "function.json"),
            """{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%TestTimerSchedule%"}]}""");

        var timer = new TestTimer();
        await using var app = new IwrsFactory(
            settings: new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7777", ["TestTimerSchedule"] = "0 */15 * * * *" },
            services: s => s.AddSingleton<ITimerFunction>(timer));
        _ = app.CreateClient();
        var handlers = app.Services.GetServices<ITimerFunction>().ToDictionary(t => t.Name);
        var configuration = app.Services.GetRequiredService<IConfiguration>();
        var routes = AppRoutes(app.Services);

        var timers = Read(FunctionsFolder).Concat(Read(extra.FullName)).Where(f => f.Type == "timerTrigger").ToList();
        Assert.Contains(timers, t => t.Function == TestTimer.FunctionName);
        foreach (var t in timers)
        {
            Assert.True(handlers.TryGetValue(t.Function, out var handler), $"timer {t.Function} has no handler");
            Assert.Equal($"%{handler.ScheduleSetting}%", t.Schedule);
            var expression = TimerSchedules.ScheduleFor(handler, configuration);
            var schedule = TimerSchedules.Parse(expression);
            Assert.True(routes.Contains((Normalize(t.Function), "POST")), $"timer {t.Function} has no POST /{t.Function}");
            Assert.NotEqual(default, TimerSchedules.Next(schedule, DateTimeOffset.UnixEpoch));
        }

        Assert.Equal("0 */15 * * * *", TimerSchedules.ScheduleFor(handlers[TestTimer.FunctionName], configuration));
        extra.Delete(recursive: true);
    }

    [Fact]
    public void Schedule_BadExpression_DoesNotParse()
    {
        Assert.ThrowsAny<Exception>(() => TimerSchedules.Parse("every five minutes"));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero), TimerSchedules.Next(TimerSchedules.Parse("0 */5 * * * *"), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero), TimerSchedules.Next(TimerSchedules.Parse("*/5 * * * *"), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }
}
