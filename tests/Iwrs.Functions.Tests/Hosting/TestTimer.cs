using System.Collections.Concurrent;
using Iwrs.Functions.Hosting;

namespace Iwrs.Functions.Tests.Hosting;

/// <summary>A timer function the tests register to prove the timer machinery; it records each run.</summary>
public sealed class TestTimer : ITimerFunction
{
    public const string FunctionName = "TestTimer";

    public ConcurrentQueue<TimerInvocation> Runs { get; } = new();

    public string Name => FunctionName;

    public string ScheduleSetting => "TestTimerSchedule";

    public string DefaultSchedule => "0 */5 * * * *";

    public Func<TimerInvocation, Task>? OnRun { get; set; }

    public async Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken ct)
    {
        Runs.Enqueue(invocation);
        if (OnRun is not null)
        {
            await OnRun(invocation);
        }

        return [$"ran for {invocation.At:O}"];
    }
}
