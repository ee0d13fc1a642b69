using System.Collections.Concurrent;
using System.Net;
using Iwrs.Functions.Hosting;
using Iwrs.LocalHost;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Hosting;

/// <summary>What the test timer saw: one entry per run.</summary>
public sealed class TimerRuns
{
    public ConcurrentQueue<(DateTimeOffset At, bool IsPastDue)> Runs { get; } = new();
}

/// <summary>A timer function of the tests' own, found by the same catalog as the app's.</summary>
public sealed class TestTimerFunctions(TimerRuns runs, TimeProvider time)
{
    [Function("TestTimer")]
    public Task Run([TimerTrigger("%TestTimerSchedule%")] TimerInfo timer, CancellationToken ct)
    {
        runs.Runs.Enqueue((time.GetUtcNow(), timer.IsPastDue));
        return Task.CompletedTask;
    }
}

public sealed class LocalTimersTests
{
    [Fact]
    public async Task Scheduler_RunsEachTimerOnItsScheduleWithTheInjectedClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 1, 58, 0, TimeSpan.Zero));
        var runs = new TimerRuns();
        var services = new ServiceCollection().AddSingleton(runs).AddSingleton<TimeProvider>(time).BuildServiceProvider();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["TestTimerSchedule"] = "0 */5 * * * *" }).Build();
        var timers = FunctionCatalog.Discover(typeof(TestTimerFunctions).Assembly).Where(f => f.Timer is not null).ToList();
        var logs = new CapturedLogs();
        using var scheduler = new LocalTimers(timers, services, configuration, time, Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<LocalTimers>(new Microsoft.Extensions.Logging.LoggerFactory([logs])));
        await scheduler.StartAsync(CancellationToken.None);

        // The scheduler starts on a background task (.NET 10's BackgroundService); its first wait is set up right after
        // it logs the schedule, and a clock moved before that would skip the 02:00 run, as a real late start would.
        await WaitFor(() => logs.Lines.Any(l => l.Contains("runs locally on '0 */5 * * * *'", StringComparison.Ordinal)), logs);
        await Task.Delay(100);

        // A run is due at 02:00 and then every 5 minutes; the clock moves a minute at a time and nothing runs early.
        await Step(time, runs, expectedRuns: 0);
        await Step(time, runs, expectedRuns: 1, logs);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero), runs.Runs.Single().At);
        for (var minute = 1; minute <= 4; minute++)
        {
            await Step(time, runs, expectedRuns: 1);
        }

        await Step(time, runs, expectedRuns: 2);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 2, 5, 0, TimeSpan.Zero), runs.Runs.Last().At);
        await scheduler.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AdminEndpoint_RunsTheTimerNow_AndNamesTheTimersForAnUnknownOne()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        var client = app.CreateClient();

        using var run = await client.PostAsync("/admin/functions/ResupplyCheck", IwrsFactory.Json("{}"));
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);

        using var unknown = await client.PostAsync("/admin/functions/NoSuchTimer", IwrsFactory.Json("{}"));
        var problem = await ProblemAssert.IsProblem(unknown, HttpStatusCode.NotFound, "function-not-found");
        Assert.Contains("NotificationDispatch", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var http = await client.PostAsync("/admin/functions/Health", IwrsFactory.Json("{}"));
        await ProblemAssert.IsProblem(http, HttpStatusCode.NotFound, "function-not-found");
    }

    [Fact]
    public async Task AdminEndpoint_FromAWebPage_IsRefused()
    {
        await using var app = new IwrsFactory();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/functions/NotificationDispatch") { Content = IwrsFactory.Json("{}") };
        request.Headers.Add("Origin", "https://example.org");
        using var response = await app.CreateClient().SendAsync(request);
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task AdminEndpoint_OutsideDevelopment_IsNotServed()
    {
        await using var app = new IwrsFactory(settings: IwrsFactory.ProductionSettings(), environment: "Production");
        using var response = await app.CreateClient().PostAsync("/admin/functions/ResupplyCheck", IwrsFactory.Json("{}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>Moves the clock a minute, then gives the scheduler's background task time to act on it.</summary>
    private static async Task Step(FakeTimeProvider time, TimerRuns runs, int expectedRuns, CapturedLogs? logs = null)
    {
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => runs.Runs.Count >= expectedRuns, logs);
        await Task.Delay(100);
        Assert.Equal(expectedRuns, runs.Runs.Count);
    }

    private static async Task WaitFor(Func<bool> condition, CapturedLogs? logs = null)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), string.Join("\n", logs?.Lines ?? []));
    }
}
