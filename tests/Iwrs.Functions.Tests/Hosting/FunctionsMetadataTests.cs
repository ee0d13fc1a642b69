using System.Text.Json;
using System.Text.RegularExpressions;
using Iwrs.Functions.Hosting;
using Iwrs.LocalHost;
using Iwrs.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Hosting;

/// <summary>
/// The Functions build writes <c>functions.metadata</c>, which is what the Functions host serves once deployed; the
/// local host maps the function classes itself. The two must agree in both directions (names, routes, methods,
/// schedules), or a route tested here would be missing, or different, in Azure.
/// </summary>
public sealed partial class FunctionsMetadataTests
{
    public sealed record Binding(string Function, string Type, string? Route, IReadOnlyList<string> Methods, string? Schedule);

    /// <summary>The metadata of the Functions build of the same configuration as this test assembly (bin/Debug or bin/Release).</summary>
    public static IReadOnlyList<Binding> ReadMetadata()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var path = Path.Combine(AzuriteServer.RepositoryRoot(), "src", "Iwrs.Functions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"The Functions build wrote no {path}");
        return [.. JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().Select(f =>
        {
            var trigger = f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "In");
            return new Binding(
                f.GetProperty("name").GetString()!,
                trigger.GetProperty("type").GetString()!,
                trigger.TryGetProperty("route", out var r) ? r.GetString() : null,
                trigger.TryGetProperty("methods", out var m) && m.ValueKind == JsonValueKind.Array ? [.. m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).Order(StringComparer.Ordinal)] : [],
                trigger.TryGetProperty("schedule", out var s) ? s.GetString() : null);
        })];
    }

    [GeneratedRegex("\\{\\*?([^}:]+)[^}]*\\}")]
    private static partial Regex Parameter();

    private static string Normalize(string template) => Parameter().Replace(template.Trim('/'), "{$1}").ToLowerInvariant();

    [Fact]
    public void Metadata_ListsEveryFunction_IncludingBothTimersWithSettingSchedules()
    {
        var metadata = ReadMetadata();
        Assert.Equal(FunctionCatalog.All.Select(f => f.Name).Order(StringComparer.Ordinal), metadata.Select(b => b.Function).Order(StringComparer.Ordinal));
        Assert.Equal("%ResupplySchedule%", metadata.Single(b => b.Function == "ResupplyCheck").Schedule);
        Assert.Equal("%NotificationSchedule%", metadata.Single(b => b.Function == "NotificationDispatch").Schedule);
        Assert.All(metadata.Where(b => b.Type == "timerTrigger"), b => Assert.Matches("^%[A-Za-z]+%$", b.Schedule!));
        Assert.True(metadata.Count(b => b.Type == "httpTrigger") >= 30, "every route of the API is a function");
    }

    [Fact]
    public async Task LocalHost_ServesExactlyTheMetadatasRoutesAndMethods()
    {
        await using var app = new IwrsFactory();
        _ = app.CreateClient();
        var served = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<FunctionDescriptor>() is not null)
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => (e.Metadata.GetMetadata<FunctionDescriptor>()!.Name, Route: Normalize(e.RoutePattern.RawText!), Method: m)))
            .ToHashSet();

        // Where a trigger names no methods, the host serves every method; the local host lists them.
        var declared = ReadMetadata().Where(b => b.Type == "httpTrigger")
            .SelectMany(b => (b.Methods.Count > 0 ? b.Methods : served.Where(s => s.Name == b.Function).Select(s => s.Method)).Select(m => (b.Function, Route: Normalize("api/" + b.Route), Method: m)))
            .ToHashSet();

        Assert.NotEmpty(served);
        Assert.Empty(declared.Except(served));
        Assert.Empty(served.Except(declared));
        Assert.Contains(("Randomize", "api/studies/{studyid}/subjects/{subjectid}/randomize", "POST"), served);
    }

    [Fact]
    public async Task LocalHost_RunsEveryMetadataTimer_OnItsConfiguredSchedule()
    {
        await using var app = new IwrsFactory(settings: new() { ["ResupplySchedule"] = "0 */15 * * * *" });
        _ = app.CreateClient();
        var timers = app.Services.GetRequiredService<LocalTimers>();
        var configuration = app.Services.GetRequiredService<IConfiguration>();
        var metadata = ReadMetadata().Where(b => b.Type == "timerTrigger").ToList();

        Assert.Equal(metadata.Select(b => b.Function).Order(StringComparer.Ordinal), timers.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
        foreach (var timer in timers.Functions)
        {
            Assert.Equal(metadata.Single(b => b.Function == timer.Name).Schedule, timer.Timer!.Schedule);
            Assert.NotEqual(default, LocalTimers.Next(LocalTimers.Parse(LocalTimers.ScheduleOf(timer, configuration)), DateTimeOffset.UnixEpoch));
        }

        Assert.Equal("0 */15 * * * *", LocalTimers.ScheduleOf(timers.Functions.Single(f => f.Name == "ResupplyCheck"), configuration));
        Assert.Equal(TimerSchedules.Defaults["NotificationSchedule"], LocalTimers.ScheduleOf(timers.Functions.Single(f => f.Name == "NotificationDispatch"), configuration));
    }

    [Fact]
    public void HostJson_IsAnIsolatedWorkerHostWithTheApiPrefix_AndTheSampleSettingsSayDotnetIsolated()
    {
        var root = AzuriteServer.RepositoryRoot();
        var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "host.json"))).RootElement;
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        Assert.False(host.TryGetProperty("customHandler", out _));
        Assert.Equal("api", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());

        var values = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "local.settings.sample.json"))).RootElement.GetProperty("Values");
        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
        foreach (var setting in TimerSchedules.Defaults.Keys)
        {
            Assert.True(values.TryGetProperty(setting, out _), $"local.settings.sample.json has no {setting}");
        }
    }

    [Fact]
    public void Schedule_BadExpression_DoesNotParse()
    {
        Assert.ThrowsAny<Exception>(() => LocalTimers.Parse("every five minutes"));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero), LocalTimers.Next(LocalTimers.Parse("0 */5 * * * *"), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero), LocalTimers.Next(LocalTimers.Parse("*/5 * * * *"), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }
}
