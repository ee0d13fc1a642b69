using System.ComponentModel;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>
/// The periodic work. The checks themselves are singletons (the dispatcher keeps a short cache of study partitions),
/// so these entry points, created per invocation, only hand the tick to them and log what they did.
/// </summary>
public sealed class TimerFunctions(ResupplyCheck resupply, NotificationDispatch notifications, AuditCheckpoints checkpoints, TimeProvider time, ILogger<TimerFunctions> log)
{
    [Function(ResupplyCheck.FunctionName)]
    [Description("Orders stock for every site below its trigger level.")]
    public async Task Resupply([TimerTrigger("%ResupplySchedule%")] TimerInfo timer, CancellationToken ct) =>
        Log(ResupplyCheck.FunctionName, await resupply.RunAsync(new TimerInvocation(ResupplyCheck.FunctionName, time.GetUtcNow(), timer.IsPastDue), ct));

    [Function(NotificationDispatch.FunctionName)]
    [Description("Sends waiting SMS notifications from the outbox.")]
    public async Task Notify([TimerTrigger("%NotificationSchedule%")] TimerInfo timer, CancellationToken ct) =>
        Log(NotificationDispatch.FunctionName, await notifications.RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, time.GetUtcNow(), timer.IsPastDue), ct));

    [Function(AuditCheckpoints.FunctionName)]
    [Description("Signs a checkpoint of the audit chain of every study whose chain moved since its newest checkpoint.")]
    public async Task Checkpoint([TimerTrigger("%AuditCheckpointSchedule%")] TimerInfo timer, CancellationToken ct) =>
        Log(AuditCheckpoints.FunctionName, await checkpoints.RunAsync(new TimerInvocation(AuditCheckpoints.FunctionName, time.GetUtcNow(), timer.IsPastDue), ct));

    private void Log(string function, IReadOnlyList<string> lines)
    {
        foreach (var line in lines)
        {
            log.LogInformation("{Function}: {Line}", function, line);
        }
    }
}
