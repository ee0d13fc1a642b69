using System.Reflection;
using Iwrs.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using NCrontab;

namespace Iwrs.LocalHost;

/// <summary>
/// Runs every timer function on its NCRONTAB schedule (the app setting its <c>%Setting%</c> names), as the Functions
/// host does when deployed, and on demand for <c>POST /admin/functions/{name}</c>.
/// </summary>
public sealed class LocalTimers(IReadOnlyList<FunctionDescriptor> timers, IServiceProvider services, IConfiguration configuration, TimeProvider time, ILogger<LocalTimers> log) : BackgroundService
{
    /// <summary>The schedule of a timer function: its setting's value, or the literal schedule in its attribute.</summary>
    public static string ScheduleOf(FunctionDescriptor function, IConfiguration configuration) =>
        function.ScheduleSetting is { } setting
            ? configuration[setting] is { Length: > 0 } value ? value : throw new InvalidOperationException($"Timer function {function.Name} needs the app setting '{setting}' (an NCRONTAB schedule).")
            : function.Timer!.Schedule;

    /// <summary>Functions' NCRONTAB has six fields (with seconds); five-field expressions are accepted too.</summary>
    public static CrontabSchedule Parse(string expression) =>
        CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 });

    public static DateTimeOffset Next(CrontabSchedule schedule, DateTimeOffset after) =>
        new(DateTime.SpecifyKind(schedule.GetNextOccurrence(after.UtcDateTime), DateTimeKind.Utc));

    public IReadOnlyList<FunctionDescriptor> Functions => timers;

    /// <summary>One run, in its own scope, like one invocation of the host.</summary>
    public async Task RunAsync(FunctionDescriptor function, bool isPastDue, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(scope.ServiceProvider, function.Class);
        var timer = new TimerInfo { IsPastDue = isPastDue };
        await Invocation.ResultOf<object>(function.Method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, TimerArguments.For(function.Method, timer, ct), null));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(timers.Select(f => RunForeverAsync(f, stoppingToken)));

    private async Task RunForeverAsync(FunctionDescriptor function, CancellationToken ct)
    {
        var expression = ScheduleOf(function, configuration);
        var schedule = Parse(expression);
        log.LogInformation("Timer {Function} runs locally on '{Schedule}'", function.Name, expression);
        while (!ct.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var due = Next(schedule, now);
            try
            {
                await Task.Delay(due - now, time, ct);
                await RunAsync(function, time.GetUtcNow() - due > TimeSpan.FromMinutes(1), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Like the host: a failed run is logged, not retried; the next tick runs as usual.
                log.LogError(e, "Timer function {Function} failed", function.Name);
            }
        }
    }
}
