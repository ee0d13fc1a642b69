namespace Iwrs.Functions.Hosting;

/// <summary>
/// Outside the Functions host, runs every timer function on its own NCRONTAB schedule so that a local run is the
/// whole system. Under the host (FUNCTIONS_CUSTOMHANDLER_PORT set) it stays off: the host triggers timers.
/// </summary>
public sealed class LocalTimerScheduler(
    IEnumerable<ITimerFunction> functions,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<LocalTimerScheduler> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(functions.Select(f => RunForeverAsync(f, stoppingToken)));

    private async Task RunForeverAsync(ITimerFunction function, CancellationToken ct)
    {
        var expression = TimerSchedules.ScheduleFor(function, configuration);
        var schedule = TimerSchedules.Parse(expression);
        log.LogInformation("Timer {Function} runs locally on '{Schedule}'", function.Name, expression);
        while (!ct.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var due = TimerSchedules.Next(schedule, now);
            try
            {
                await Task.Delay(due - now, time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var lines = await function.RunAsync(new TimerInvocation(function.Name, due, time.GetUtcNow() - due > TimeSpan.FromMinutes(1)), ct);
                foreach (var line in lines)
                {
                    log.LogInformation("{Function}: {Line}", function.Name, line);
                }
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
