using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Iwrs.Storage.Tables;
using Iwrs.Testing;
using Polly.Timeout;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>Which outcomes are retried, how often, and what surfaces when retrying does not help.</summary>
public sealed class TableResilienceTests
{
    private static Action<HttpResponseMessage> WithETag => r => r.Headers.TryAddWithoutValidation("ETag", "W/\"ok\"");

    [Theory]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task Insert_TransientStatusThenSuccess_Retries(HttpStatusCode transient)
    {
        var handler = new StubHttpHandler()
            .RespondError(transient, "ServerBusy")
            .Respond(HttpStatusCode.NoContent, configure: WithETag);

        var etag = await TestClients.StubTable(handler, TimeProvider.System).InsertAsync(new TableEntity("p", "r"));

        Assert.Equal("W/\"ok\"", etag);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task Insert_ConnectionErrorThenSuccess_RetriesWithFreshSignedMessage()
    {
        var handler = new StubHttpHandler()
            .Throw(new HttpRequestException("Connection refused"))
            .Respond(HttpStatusCode.ServiceUnavailable)
            .Respond(HttpStatusCode.NoContent, configure: WithETag);

        await TestClients.StubTable(handler, TimeProvider.System).InsertAsync(new TableEntity("p", "r").Set("A", 1));

        Assert.Equal(3, handler.Requests.Count);
        Assert.All(handler.Requests, r =>
        {
            Assert.StartsWith("SharedKeyLite devstoreaccount1:", r.Header("Authorization"), StringComparison.Ordinal);
            Assert.Equal(handler.Requests[0].BodyText, r.BodyText);
        });
        Assert.Single(handler.Requests.Select(r => r.Header("x-ms-client-request-id")).Distinct());
    }

    [Theory]
    [InlineData(HttpStatusCode.Conflict, "EntityAlreadyExists")]
    [InlineData(HttpStatusCode.PreconditionFailed, "UpdateConditionNotSatisfied")]
    [InlineData(HttpStatusCode.NotFound, "ResourceNotFound")]
    [InlineData(HttpStatusCode.BadRequest, "InvalidInput")]
    [InlineData(HttpStatusCode.Forbidden, "AuthenticationFailed")]
    public async Task Update_VerdictStatus_NotRetried(HttpStatusCode status, string code)
    {
        var handler = new StubHttpHandler().RespondError(status, code);

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => TestClients.StubTable(handler, TimeProvider.System)
            .UpdateAsync(new TableEntity("p", "r"), new TableETag("W/\"old\""), TableUpdateMode.Replace));

        Assert.Single(handler.Requests);
        Assert.Equal((int)status, ex.Status);
        Assert.Equal(code, ex.ErrorCode);
        Assert.IsNotType<StorageUnavailableException>(ex);
    }

    [Fact]
    public async Task Insert_ServiceUnavailableEveryTime_ThrowsStorageUnavailableAfterAllRetries()
    {
        var handler = new StubHttpHandler();
        for (var i = 0; i < 4; i++)
        {
            handler.RespondError(HttpStatusCode.ServiceUnavailable, "ServerBusy");
        }

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(
            () => TestClients.StubTable(handler, TimeProvider.System, TestClients.FastRetries(maxRetries: 3)).InsertAsync(new TableEntity("p", "r")));

        Assert.Equal(4, handler.Requests.Count);
        Assert.Equal(503, ex.Status);
        Assert.Equal("ServerBusy", ex.ErrorCode);
    }

    [Fact]
    public async Task Insert_ConnectionRefusedEveryTime_ThrowsStorageUnavailableWithoutStatus()
    {
        var handler = new StubHttpHandler();
        for (var i = 0; i < 3; i++)
        {
            handler.Throw(new HttpRequestException("Connection refused"));
        }

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(
            () => TestClients.StubTable(handler, TimeProvider.System, TestClients.FastRetries(maxRetries: 2)).InsertAsync(new TableEntity("p", "r")));

        Assert.Equal(3, handler.Requests.Count);
        Assert.Null(ex.Status);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task Insert_NoRetriesConfigured_SingleAttempt()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.ServiceUnavailable, "ServerBusy");

        await Assert.ThrowsAsync<StorageUnavailableException>(
            () => TestClients.StubTable(handler, TimeProvider.System, TestClients.FastRetries(maxRetries: 0)).InsertAsync(new TableEntity("p", "r")));

        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task Insert_AttemptHangsPastPerTryTimeout_RetriedThenSucceeds()
    {
        var handler = new StubHttpHandler()
            .Hang()
            .Respond(HttpStatusCode.NoContent, configure: WithETag);
        var options = TestClients.FastRetries();
        options.PerTryTimeout = TimeSpan.FromMilliseconds(50);

        await TestClients.StubTable(handler, TimeProvider.System, options).InsertAsync(new TableEntity("p", "r"));

        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task Insert_EveryAttemptHangs_StorageUnavailableWithTimeout()
    {
        var handler = new StubHttpHandler().Hang().Hang();
        var options = TestClients.FastRetries(maxRetries: 1);
        options.PerTryTimeout = TimeSpan.FromMilliseconds(50);

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(
            () => TestClients.StubTable(handler, TimeProvider.System, options).InsertAsync(new TableEntity("p", "r")));

        Assert.IsType<TimeoutRejectedException>(ex.InnerException);
        Assert.Null(ex.Status);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task Insert_OverallTimeoutShorterThanRetries_StopsEarlyWithStorageUnavailable()
    {
        var handler = new StubHttpHandler();
        for (var i = 0; i < 11; i++)
        {
            handler.Hang();
        }

        var options = TestClients.FastRetries(maxRetries: 10);
        options.PerTryTimeout = TimeSpan.FromMilliseconds(100);
        options.OverallTimeout = TimeSpan.FromMilliseconds(450);

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(
            () => TestClients.StubTable(handler, TimeProvider.System, options).InsertAsync(new TableEntity("p", "r")));

        // Eleven 100 ms attempts cannot fit in 450 ms. (How many did fit depends on timer latency on a busy machine.)
        Assert.IsType<TimeoutRejectedException>(ex.InnerException);
        Assert.InRange(handler.Requests.Count, 1, 5);
    }

    [Fact]
    public async Task Insert_CallerCancels_NotRetriedAndNotWrapped()
    {
        using var cts = new CancellationTokenSource();
        var handler = new StubHttpHandler().Hang(onRequest: cts.Cancel).Hang();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => TestClients.StubTable(handler, TimeProvider.System).InsertAsync(new TableEntity("p", "r"), cts.Token));

        Assert.Single(handler.Requests);
        Assert.True(cts.IsCancellationRequested);
    }

    [Fact]
    public async Task Insert_RetryAfterOn429_WaitsThatLongAndResignsWithNewDate()
    {
        var time = new RecordingTimeProvider(new ManualTimeProvider(TestClients.Start));
        var handler = new StubHttpHandler()
            .Respond(HttpStatusCode.TooManyRequests, configure: r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(2)))
            .Respond(HttpStatusCode.NoContent, configure: WithETag);
        var options = TestClients.FastRetries();
        options.MaxDelay = TimeSpan.FromSeconds(10);

        var insert = TestClients.StubTable(handler, time, options).InsertAsync(new TableEntity("p", "r"));
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        Assert.Single(handler.Requests);
        time.Inner.Advance(TimeSpan.FromSeconds(2));
        await insert.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal(["Sat, 22 May 2021 22:49:50 GMT", "Sat, 22 May 2021 22:49:52 GMT"], handler.Requests.Select(r => r.Header("x-ms-date")));
        Assert.NotEqual(handler.Requests[0].Header("Authorization"), handler.Requests[1].Header("Authorization"));
    }

    [Fact]
    public async Task Insert_RetryAfterLongerThanMaxDelay_CappedAtMaxDelay()
    {
        var time = new RecordingTimeProvider(new ManualTimeProvider(TestClients.Start));
        var handler = new StubHttpHandler()
            .Respond(HttpStatusCode.ServiceUnavailable, configure: r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromMinutes(5)))
            .Respond(HttpStatusCode.NoContent, configure: WithETag);
        var options = TestClients.FastRetries();
        options.MaxDelay = TimeSpan.FromSeconds(3);

        var insert = TestClients.StubTable(handler, time, options).InsertAsync(new TableEntity("p", "r"));
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(3));
        time.Inner.Advance(TimeSpan.FromSeconds(3));
        await insert.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, handler.Requests.Count);
        Assert.DoesNotContain(TimeSpan.FromMinutes(5), time.DueTimes);
    }

    [Fact]
    public void RetryAfter_HttpDate_MeasuredAgainstInjectedClock()
    {
        var time = new ManualTimeProvider(TestClients.Start);
        var response = new TableResponse(503, new Dictionary<string, string>(), [], null, TestClients.Start.AddSeconds(4));

        var delay = TableTransport.RetryAfter(Polly.Outcome.FromResult(response), TimeSpan.FromSeconds(10), time);

        Assert.Equal(TimeSpan.FromSeconds(4), delay);
    }

    [Fact]
    public void RetryAfter_On500_Ignored()
    {
        var response = new TableResponse(500, new Dictionary<string, string>(), [], TimeSpan.FromSeconds(4), null);

        Assert.Null(TableTransport.RetryAfter(Polly.Outcome.FromResult(response), TimeSpan.FromSeconds(10), TimeProvider.System));
    }

    /// <summary>Passes time through to a ManualTimeProvider and records every timer's due time (retry delays among them).</summary>
    private sealed class RecordingTimeProvider(ManualTimeProvider inner) : TimeProvider
    {
        private readonly ConcurrentQueue<TimeSpan> _dueTimes = new();

        public ManualTimeProvider Inner => inner;

        public IReadOnlyCollection<TimeSpan> DueTimes => _dueTimes;

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _dueTimes.Enqueue(dueTime);
            return inner.CreateTimer(callback, state, dueTime, period);
        }

        public async Task WaitForTimerAsync(TimeSpan dueTime)
        {
            var watch = Stopwatch.StartNew();
            while (!_dueTimes.Contains(dueTime))
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"No timer due in {dueTime} was created; saw {string.Join(", ", _dueTimes)}.");
                await Task.Delay(5);
            }
        }
    }
}
