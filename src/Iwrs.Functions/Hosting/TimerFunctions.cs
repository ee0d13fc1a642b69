using System.Text.Json;
using System.Text.Json.Serialization;
using NCrontab;

namespace Iwrs.Functions.Hosting;

/// <summary>
/// Periodic work, run by the Functions host through a timer trigger (POST /{Name}) when deployed, and by
/// <see cref="LocalTimerScheduler"/> on the same schedule when the app runs on its own.
/// </summary>
public interface ITimerFunction
{
    /// <summary>The function name: the folder of its function.json and the path the host posts to.</summary>
    string Name { get; }

    /// <summary>The app setting holding the NCRONTAB schedule; function.json refers to it as <c>%Setting%</c>.</summary>
    string ScheduleSetting { get; }

    /// <summary>The schedule when the setting is absent (six fields: second minute hour day month weekday).</summary>
    string DefaultSchedule { get; }

    /// <summary>Does one run; returns log lines for the host. Must be safe to run twice for the same tick.</summary>
    Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken ct);
}

/// <summary>One run of a timer function: when it was due, and whether it ran late.</summary>
public sealed record TimerInvocation(string FunctionName, DateTimeOffset At, bool IsPastDue);

public static class TimerSchedules
{
    public static string ScheduleFor(ITimerFunction function, IConfiguration configuration) =>
        configuration[function.ScheduleSetting] is { Length: > 0 } s ? s : function.DefaultSchedule;

    /// <summary>Functions' NCRONTAB has six fields (with seconds); five-field expressions are accepted too.</summary>
    public static CrontabSchedule Parse(string expression)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 });
    }

    public static DateTimeOffset Next(CrontabSchedule schedule, DateTimeOffset after) =>
        new(DateTime.SpecifyKind(schedule.GetNextOccurrence(after.UtcDateTime), DateTimeKind.Utc));
}

/// <summary>The custom-handler invocation contract for timer triggers (see DESIGN.md "Platform decisions").</summary>
public static class TimerEndpoints
{
    public sealed record Invocation(InvocationData? Data, InvocationMetadata? Metadata);

    public sealed record InvocationData([property: JsonPropertyName("timer")] TimerInfo? Timer);

    public sealed record TimerInfo(JsonElement? Schedule, JsonElement? ScheduleStatus, bool IsPastDue);

    public sealed record InvocationMetadata([property: JsonPropertyName("sys")] SysMetadata? Sys);

    public sealed record SysMetadata(string? MethodName, DateTimeOffset? UtcNow, string? RandGuid);

    /// <summary>What the host expects back: no outputs, log lines, no return value.</summary>
    public sealed record InvocationResult(
        [property: JsonPropertyName("Outputs")] Dictionary<string, object> Outputs,
        [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
        [property: JsonPropertyName("ReturnValue")] object? ReturnValue);

    private static readonly JsonSerializerOptions HostJson = new() { PropertyNameCaseInsensitive = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static void MapTimerFunctions(this IEndpointRouteBuilder app)
    {
        foreach (var function in app.ServiceProvider.GetServices<ITimerFunction>())
        {
            app.MapPost("/" + function.Name, async (HttpRequest request, TimeProvider time, ILoggerFactory loggers, CancellationToken ct) =>
            {
                Invocation? invocation;
                try
                {
                    invocation = await JsonSerializer.DeserializeAsync<Invocation>(request.Body, HostJson, ct);
                }
                catch (JsonException)
                {
                    invocation = null;
                }

                if (invocation?.Data?.Timer is null)
                {
                    return Results.Json(new InvocationResult([], ["The body is not a timer invocation."], null), HostJson, statusCode: 400);
                }

                var at = invocation.Metadata?.Sys?.UtcNow ?? time.GetUtcNow();
                var log = loggers.CreateLogger("Iwrs.Timers");
                try
                {
                    var lines = await function.RunAsync(new TimerInvocation(function.Name, at, invocation.Data.Timer.IsPastDue), ct);
                    return Results.Json(new InvocationResult([], lines, null), HostJson);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The host does not retry a failed timer run: log it loudly; the next tick tries again.
                    log.LogError(e, "Timer function {Function} failed", function.Name);
                    return Results.Json(new InvocationResult([], [$"{function.Name} failed: {e.GetType().Name}"], null), HostJson, statusCode: 500);
                }
            })
            .ExcludeFromDescription()
            .AllowAnonymous()
            .WithMetadata(new TimerFunctionMetadata(function.Name));
        }
    }
}

/// <summary>Marks the endpoint the host calls for a timer function.</summary>
public sealed record TimerFunctionMetadata(string FunctionName);
