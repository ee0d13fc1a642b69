using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Iwrs.Functions.Hosting;
using Iwrs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iwrs.Functions.Tests.Hosting;

public sealed class TimerInvocationTests
{
    /// <summary>A payload shaped like the one the Functions host posts for a timer trigger.</summary>
    private const string HostPayload = """
        {"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-21T01:55:00+00:00","Next":"2026-11-21T02:00:00+00:00","LastUpdated":"2026-11-21T01:55:00+00:00"},"IsPastDue":false}},
         "Metadata":{"sys":{"MethodName":"TestTimer","UtcNow":"2026-11-21T02:00:00.0123456Z","RandGuid":"1b1c0d42-5a5e-4a0e-9a6f-2f0d7c4f2b11"}}}
        """;

    [Fact]
    public async Task Post_HostPayload_RunsTheTimerAndAnswersTheHostContract()
    {
        var timer = new TestTimer();
        await using var app = new IwrsFactory(
            settings: new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7777" },
            services: s => s.AddSingleton<ITimerFunction>(timer));
        using var response = await app.CreateClient().PostAsync("/TestTimer", IwrsFactory.Json(HostPayload));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Object, body.GetProperty("Outputs").ValueKind);
        Assert.Empty(body.GetProperty("Outputs").EnumerateObject());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("ReturnValue").ValueKind);
        Assert.Equal("ran for 2026-11-21T02:00:00.0123456+00:00", body.GetProperty("Logs")[0].GetString());
        var run = Assert.Single(timer.Runs);
        Assert.False(run.IsPastDue);
    }

    [Fact]
    public async Task Post_FailingTimer_Answers500WithLogs()
    {
        var timer = new TestTimer { OnRun = _ => throw new InvalidOperationException("boom") };
        await using var app = new IwrsFactory(
            settings: new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7777" },
            services: s => s.AddSingleton<ITimerFunction>(timer));
        using var response = await app.CreateClient().PostAsync("/TestTimer", IwrsFactory.Json(HostPayload));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("TestTimer failed", body.GetProperty("Logs")[0].GetString());
    }

    [Fact]
    public async Task Post_NotATimerPayload_Is400()
    {
        var timer = new TestTimer();
        await using var app = new IwrsFactory(
            settings: new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = "7777" },
            services: s => s.AddSingleton<ITimerFunction>(timer));
        using var response = await app.CreateClient().PostAsync("/TestTimer", IwrsFactory.Json("{\"hello\":1}"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(timer.Runs);
    }

    [Fact]
    public async Task TimerEndpoints_OutsideTheHost_AreNotMapped()
    {
        var timer = new TestTimer();
        await using var app = new IwrsFactory(services: s => s.AddSingleton<ITimerFunction>(timer));
        using var response = await app.CreateClient().PostAsync("/TestTimer", IwrsFactory.Json(HostPayload));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ReadinessProbe_Root_Answers200()
    {
        await using var app = new IwrsFactory();
        using var response = await app.CreateClient().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task LocalScheduler_RunsEachTimerOnItsScheduleWithTheInjectedClock()
    {
        var start = new DateTimeOffset(2026, 11, 21, 1, 58, 0, TimeSpan.Zero);
        var time = new ManualTimeProvider(start);
        var timer = new TestTimer();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["TestTimerSchedule"] = "0 */5 * * * *" }).Build();
        using var scheduler = new LocalTimerScheduler([timer], configuration, time, NullLogger<LocalTimerScheduler>.Instance);
        await scheduler.StartAsync(CancellationToken.None);

        await WaitFor(() => HasTimer(time));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(timer.Runs);

        time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => timer.Runs.Count == 1);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero), timer.Runs.Single().At);

        await WaitFor(() => HasTimer(time));
        time.Advance(TimeSpan.FromMinutes(5));
        await WaitFor(() => timer.Runs.Count == 2);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 2, 5, 0, TimeSpan.Zero), timer.Runs.Last().At);
        await scheduler.StopAsync(CancellationToken.None);
    }

    private static bool HasTimer(ManualTimeProvider time) => time.PendingTimers > 0;

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
