namespace Iwrs.Functions.Hosting;

/// <summary>One run of a timer function: when it was due, and whether it ran late.</summary>
public sealed record TimerInvocation(string FunctionName, DateTimeOffset At, bool IsPastDue);

/// <summary>
/// The timers' schedules are app settings (<c>%ResupplySchedule%</c> in the trigger), so an operator changes them
/// without a build. These are the values the sample settings and the deployment start from; the local host uses
/// them where a setting is absent.
/// </summary>
public static class TimerSchedules
{
    public static readonly IReadOnlyDictionary<string, string> Defaults = new Dictionary<string, string>
    {
        // Hourly, on the hour.
        ["ResupplySchedule"] = "0 0 * * * *",

        // Every 30 seconds: a resupply or unblinding notice should not wait long.
        ["NotificationSchedule"] = "*/30 * * * * *",

        // Hourly, on the hour: changes newer than the newest checkpoint are what a table writer could still rewrite.
        ["AuditCheckpointSchedule"] = "0 0 * * * *",
    };
}
